"""Bounded loss on a crash: one rank SIGKILLed mid-run. mpirun ends the whole job within seconds,
the crash journal (<output>.<pid>.journal/, flushed in the background every --flush-interval
wall seconds) is left behind, and `clockbench-analyze recover` turns it into a file that
verifies, marked completed=0, which lost at most the flush interval plus a margin. Also: a
journal cut mid-record, and journals that cannot be recovered."""

from __future__ import annotations

import os
import shutil
import signal
import struct
import subprocess
import time
from pathlib import Path

import h5py
import pytest

from runs import ANALYZE, rank_pids, start, verify, wait_for

FLUSH_INTERVAL_S = 1.0
# The job is gone this soon after one rank's SIGKILL (Open MPI's mpirun ends it itself: ~2 s here).
JOB_END_BOUND_S = 10.0
# Loss = (kill time - model time 0) - T, T the cut. Worst case: the flush interval, one tick of the
# slowest rank (1/20 s) and the scheduling of 3 ranks plus the flusher on 2 cores; the estimate of
# model time 0 (when the header is printed) only adds to the measured loss. A margin of 1 s keeps a
# loaded CI machine from failing the test while a journal that is never flushed (loss 3.3 s) still fails it.
LOSS_MARGIN_S = 1.0


def analyze(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["/usr/bin/python3", str(ANALYZE), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60)


@pytest.fixture(scope="module")
def crashed(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("crash")
    out = folder / "run.h5"
    # Speedup 1: model seconds are wall seconds, so the loss is measured in both at once.
    proc = start(3, ["--rates", "20,30,50", "--duration", "60", "--speedup", "1", "--seed", "4",
                     "--flush-interval", str(FLUSH_INTERVAL_S), "-o", out], folder)
    pids = rank_pids(proc.pid, 3)
    for line in proc.stdout:
        if line.startswith("  output:"):
            break
    header_at = time.monotonic()  # model time 0 is a little later (clock sync, start lead)
    time.sleep(3.3)
    killed_at = time.monotonic()
    os.kill(pids[1], signal.SIGKILL)
    code = wait_for(proc, timeout=60)
    ended_s = time.monotonic() - killed_at
    proc.communicate()
    return {"folder": folder, "out": out, "code": code, "ended_s": ended_s,
            "run_s": killed_at - header_at}


def test_job_ends_within_seconds_of_a_killed_rank(crashed) -> None:
    assert crashed["code"] is not None and crashed["code"] != 0, "the job did not end"
    assert crashed["ended_s"] < JOB_END_BOUND_S, f"{crashed['ended_s']:.1f} s"
    print(f"job ended {crashed['ended_s']:.2f} s after the SIGKILL (exit {crashed['code']})")
    assert not crashed["out"].exists(), "no file may appear under the final name"


def test_recover_builds_a_verified_file_with_bounded_loss(crashed) -> None:
    folder = crashed["folder"]
    journals = list(folder.glob("run.h5.*.journal"))
    assert len(journals) == 1, list(folder.iterdir())
    assert sorted(p.name for p in journals[0].iterdir()) == ["rank-0.bin", "rank-1.bin", "rank-2.bin"]
    rec = folder / "recovered.h5"
    p = analyze("recover", str(journals[0]), "-o", str(rec), cwd=folder)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f"recovered {rec}: 3 machines")
    v = verify(rec)
    assert v.returncode == 0 and v.stdout.startswith("OK "), v.stdout + v.stderr
    assert "partial: completed=0, recovered after a crash" in v.stdout
    with h5py.File(rec, "r") as f:
        assert int(f.attrs["completed"]) == 0
        T = float(f.attrs["end_s"])
        assert float(f["events/t"][:].max()) <= T
    loss = crashed["run_s"] - T
    print(f"cut T = {T:.3f} s, run {crashed['run_s']:.3f} s before the kill: lost window {loss:.3f} s")
    assert 0 < T and loss <= FLUSH_INTERVAL_S + LOSS_MARGIN_S, f"lost {loss:.3f} s"


def test_journal_cut_mid_record_is_recovered(crashed, tmp_path: Path) -> None:
    journal = tmp_path / "j"
    shutil.copytree(next(crashed["folder"].glob("run.h5.*.journal")), journal)
    with open(journal / "rank-2.bin", "ab") as f:
        f.write(b"\x01" * 37)  # a record the crash cut in the middle
    p = analyze("recover", str(journal), "-o", "r.h5", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "rank 2 journal cut mid-record" in p.stdout
    assert verify(tmp_path / "r.h5").returncode == 0


def damaged(crashed, tmp_path: Path, change) -> Path:
    journal = tmp_path / "j"
    shutil.copytree(next(crashed["folder"].glob("run.h5.*.journal")), journal)
    change(journal)
    return journal


def _bad_magic(j: Path) -> None:
    data = bytearray((j / "rank-0.bin").read_bytes())
    data[:8] = b"NOTAJRNL"
    (j / "rank-0.bin").write_bytes(bytes(data))


def _keep_header_only(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:struct.unpack_from("<I", data, 8)[0]])  # the header's length is its 2nd field


# name, how the journal is damaged, words of the error
BAD_JOURNALS = [
    ("not a journal", _bad_magic, "rank-0.bin: not a clockbench journal"),
    ("a rank missing", lambda j: (j / "rank-1.bin").unlink(), "journals of rank(s) [1] missing"),
    ("header cut", lambda j: (j / "rank-2.bin").write_bytes((j / "rank-2.bin").read_bytes()[:40]),
     "rank-2.bin: too short for a clockbench journal header"),
    ("no events flushed", lambda j: _keep_header_only(j / "rank-0.bin"), "flushed no events before the crash"),
    ("empty folder", lambda j: [p.unlink() for p in j.iterdir()], "no rank-<r>.bin journal files in it"),
]


@pytest.mark.parametrize("name,change,words", BAD_JOURNALS, ids=[c[0] for c in BAD_JOURNALS])
def test_unrecoverable_journal_is_a_clear_error(name: str, change, words: str, crashed, tmp_path: Path) -> None:
    journal = damaged(crashed, tmp_path, change)
    before = sorted(p.name for p in tmp_path.iterdir())
    started = time.monotonic()
    p = analyze("recover", str(journal), "-o", "r.h5", cwd=tmp_path)
    assert time.monotonic() - started < 30
    assert p.returncode == 2, p.stdout + p.stderr
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("clockbench-analyze: error: ") and words in lines[0], p.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "nothing may be written"


def test_recover_never_overwrites_or_follows_a_link(crashed, tmp_path: Path) -> None:
    journal = next(crashed["folder"].glob("run.h5.*.journal"))
    (tmp_path / "keep.h5").write_bytes(b"precious")
    p = analyze("recover", str(journal), "-o", "keep.h5", cwd=tmp_path)
    assert p.returncode == 2 and "keep.h5: exists" in p.stderr
    (tmp_path / "link.h5").symlink_to(tmp_path / "keep.h5")
    p = analyze("recover", str(journal), "-o", "link.h5", "--force", cwd=tmp_path)
    assert p.returncode == 2 and "is a symbolic link" in p.stderr
    assert (tmp_path / "keep.h5").read_bytes() == b"precious"
