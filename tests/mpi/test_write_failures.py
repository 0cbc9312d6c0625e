"""Write failures and the output file's safety: a full file system, a folder made read-only or
removed mid-run each give one clear error line naming the file, exit 1 from every rank, no hang
and nothing under the final name (the partial file is removed); output files are 0644 whatever
the umask."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from runs import (HANG_S, result_fields, run, start, verify, wait_for, wait_for_line, wait_until_journaling,
                  wait_until_ticking)



@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "fs"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: " + mounted.stderr.decode().strip())
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def check_failure(code: int, stdout: str, stderr: str, out: Path, words: str) -> None:
    assert code == 1, f"exit {code}\n{stdout}\n{stderr}"
    # Open MPI's I/O layer prints its own lines; clockbench's is one, printed once.
    ours = [ln for ln in stderr.splitlines() if ln.startswith("clockbench")]
    assert len(ours) == 1, stderr
    assert ours[0].startswith(f"clockbench: error: cannot write '{out}' (as '{out}.")
    assert words in ours[0], ours[0]
    assert result_fields(stdout)["status"] == "error"
    assert not out.exists()
    if out.parent.exists():
        assert not list(out.parent.glob(out.name + ".*.partial")), "the partial file must be removed"


def test_full_file_system(tmpfs: Path) -> None:
    out = tmpfs / "run.h5"
    # About 60 000 events, some 3 MB: far more than the 64 kB the file system holds. The run's
    # timeout only catches a hang.
    proc = run(3, ["--rates", "10000,10000,10000", "--duration", "2", "--speedup", "1", "-q", "-o", out], tmpfs,
               timeout=HANG_S)
    check_failure(proc.returncode, proc.stdout, proc.stderr, out, "the file system of")
    assert "is full; the partial file was removed" in proc.stderr
    # The crash journal filled the disk first: what it holds is kept, and said to be incomplete.
    assert "its crash journal is incomplete too (cannot write the journal" in proc.stderr
    assert "No space left on device" in proc.stderr
    assert [p.name for p in tmpfs.iterdir()] == [j.name for j in tmpfs.glob("run.h5.*.journal")]


def test_full_file_system_without_journal_writing_collectively(tmpfs: Path) -> None:
    # The default (independent) writes fail on some ranks only and must be agreed on; collective
    # writes fail on all together: both end the same way.
    out = tmpfs / "run.h5"
    proc = run(3, ["--rates", "10000,10000,10000", "--duration", "2", "--speedup", "1", "-q", "--flush-interval",
                   "0", "--hdf5-io", "collective", "-o", out], tmpfs, timeout=60)
    check_failure(proc.returncode, proc.stdout, proc.stderr, out, "is full; the partial file was removed")
    assert "journal" not in proc.stderr
    assert list(tmpfs.iterdir()) == []


def fail_mid_run(tmp_path: Path, out: Path, action, *extra: str, ticking: bool = False) -> subprocess.CompletedProcess:
    """Runs 2 s of wall time and acts on it once every rank is set up (its journal made, unless the
    journal is off), or with `ticking` once every rank has flushed events to its journal."""
    proc = start(3, ["--duration", "10", "--speedup", "5", "-o", out, *extra], tmp_path)
    header = wait_for_line(proc, "  output:")
    journal_off = "--flush-interval" in extra and extra[list(extra).index("--flush-interval") + 1] == "0"
    if ticking:
        wait_until_ticking(proc, out, 3)
    elif not journal_off:
        wait_until_journaling(proc, out, 3)
    action()
    code = wait_for(proc, timeout=HANG_S)
    stdout, stderr = proc.communicate()
    assert code is not None, "clockbench hung after a write failure"
    return subprocess.CompletedProcess(proc.args, code, "".join(header) + stdout, stderr)


def test_folder_made_read_only_mid_run(tmpfs: Path, tmp_path: Path) -> None:
    out = tmpfs / "run.h5"
    # Without the crash journal: Linux refuses to remount a file system read-only while files are
    # open for writing on it, as the journal's are.
    p = fail_mid_run(tmp_path, out, lambda: subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True),
                     "--flush-interval", "0")
    check_failure(p.returncode, p.stdout, p.stderr, out, "is read-only")


def test_folder_removed_mid_run(tmp_path: Path) -> None:
    folder = tmp_path / "gone"
    folder.mkdir()
    out = folder / "run.h5"
    p = fail_mid_run(tmp_path, out, lambda: shutil.rmtree(folder))  # the crash journal in it too
    check_failure(p.returncode, p.stdout, p.stderr, out, f"the output folder '{folder}' no longer exists")
    assert "crash journal" in p.stderr and "is gone too" in p.stderr


def test_journal_removed_mid_run_is_reported(tmp_path: Path) -> None:
    """Writes into a deleted journal succeed and keep nothing: the run's file is still whole,
    and rank 0 warns, once, that the crash net was gone."""
    out = tmp_path / "run.h5"

    def remove_journal() -> None:
        journals = list(tmp_path.glob("run.h5.*.journal"))
        assert len(journals) == 1, list(tmp_path.iterdir())
        shutil.rmtree(journals[0])

    p = fail_mid_run(tmp_path, out, remove_journal, "--flush-interval", "0.2", ticking=True)
    assert p.returncode == 0, p.stderr
    assert result_fields(p.stdout)["status"] == "ok"
    # On a loaded machine the run may also say that its loop fell behind (a missed tick at the end:
    # timing degraded, exit 0); that line is the timing's, not the journal's, and is let be.
    warnings = [ln for ln in p.stderr.splitlines() if ln.startswith("clockbench")
                and not ln.startswith("clockbench: warning: the loop did not keep up with the model: timing degraded")]
    assert len(warnings) == 1, p.stderr
    assert warnings[0].startswith("clockbench: warning: the crash journal is incomplete (the journal '")
    assert "was removed during the run); the run's file is whole" in warnings[0]
    assert verify(out).returncode == 0
    assert sorted(q.name for q in tmp_path.iterdir()) == ["run.h5"]


def test_output_is_not_world_writable_under_umask_000(tmp_path: Path) -> None:
    out = tmp_path / "run.h5"
    old = os.umask(0)
    try:
        proc = run(2, ["--duration", "1", "--speedup", "20", "-q", "-o", out], tmp_path)
    finally:
        os.umask(old)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert verify(out).returncode == 0
