"""Bounded loss on a crash: one rank SIGKILLed mid-run. mpirun ends the whole job, the crash
journal (<output>.<pid>.journal/, flushed in the background every --flush-interval wall seconds)
is left behind, and `clockbench-analyze recover` turns it into a file that verifies, marked
completed=0, which lost at most the flush interval plus a margin. Also: a journal cut mid-record,
and journals that cannot be recovered."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import struct
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from runs import ANALYZE, HANG_S, journal_event_bytes, rank_pids, start, verify, wait_for, wait_until_ticking

FLUSH_INTERVAL_S = 1.0
# The kill comes this long (x the interval) after the journal was first seen to hold events of every
# rank: with the interval honoured a flush falls between the two, and the loss is about 0.7 s; were
# the option ignored (the default 2 s), none would, and the loss would be at least 1.7 s.
KILL_AFTER = 1.7
# The loss allowed: the interval, plus half a second for a flush that a loaded machine runs late
# and for one tick of the slowest rank (1/20 s). Ignoring the option (loss >= 1.7 s) fails it.
LOSS_MARGIN_S = 0.5


def analyze(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["/usr/bin/python3", str(ANALYZE), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=HANG_S)


def recovered_end(journal: Path, out: Path) -> float:
    """The cut T of the file `recover` makes of `journal`: the last model time all ranks had flushed."""
    p = analyze("recover", str(journal), "-o", str(out), cwd=out.parent)
    assert p.returncode == 0, p.stdout + p.stderr
    with h5py.File(out, "r") as f:
        return float(f.attrs["end_s"])


@pytest.fixture(scope="module")
def crashed(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("crash")
    out = folder / "run.h5"
    # Speedup 1: model seconds are wall seconds, so a wall interval is a span of model time.
    proc = start(3, ["--rates", "20,30,50", "--duration", "60", "--speedup", "1", "--seed", "4",
                     "--flush-interval", str(FLUSH_INTERVAL_S), "-o", out], folder)
    pids = rank_pids(proc.pid, 3)
    # The first moment every rank's journal holds events; a copy of it then says up to which model
    # time T0 they were flushed (its recovered cut), without any clock of the test's.
    deadline = time.monotonic() + HANG_S
    while not (len(sizes := journal_event_bytes(out)) == 3 and all(sizes.values())):
        assert proc.poll() is None and time.monotonic() < deadline, f"no journal with events: {sizes}"
        time.sleep(0.01)
    seen_at = time.monotonic()
    snapshot = folder / "snapshot.journal"
    shutil.copytree(next(folder.glob("run.h5.*.journal")), snapshot)
    time.sleep(max(0.0, seen_at + KILL_AFTER * FLUSH_INTERVAL_S - time.monotonic()))
    killed_at = time.monotonic()
    os.kill(pids[1], signal.SIGKILL)
    code = wait_for(proc, timeout=HANG_S)
    ended_s = time.monotonic() - killed_at
    proc.communicate()
    return {"folder": folder, "out": out, "code": code, "ended_s": ended_s, "snapshot": snapshot,
            "kill_after_s": killed_at - seen_at}


def test_job_ends_after_a_killed_rank(crashed) -> None:
    assert crashed["code"] is not None, f"the job did not end within {HANG_S} s of the SIGKILL"
    assert crashed["code"] != 0
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
    T0 = recovered_end(crashed["snapshot"], folder / "snapshot.h5")
    # The model time of the kill is at least T0 plus the wall time from the snapshot to the kill
    # (speedup 1), so this loss is at most the true one: a late flush cannot make it larger.
    loss = T0 + crashed["kill_after_s"] - T
    print(f"flushed up to T0 = {T0:.3f} s when first seen; killed {crashed['kill_after_s']:.3f} s later; "
          f"cut T = {T:.3f} s: lost window at least {loss:.3f} s")
    assert T > T0, "no flush between the first one seen and the kill"
    assert loss <= FLUSH_INTERVAL_S + LOSS_MARGIN_S, f"lost {loss:.3f} s"


@pytest.mark.parametrize("cut", [37, 60])  # inside a block's 40-byte header; past it
def test_journal_cut_mid_block_is_recovered(crashed, tmp_path: Path, cut: int) -> None:
    journal = tmp_path / "j"
    shutil.copytree(next(crashed["folder"].glob("run.h5.*.journal")), journal)
    # The start of a block of 9 events the crash cut: its header (docs/schema.md: block_bytes,
    # events, first tick, lamport before, late deliveries, messages, 8 widths), then the first
    # bytes of its columns, `cut` bytes in all.
    block = struct.pack("<IIqqII8B", 40 + 9 * 10 + 2, 9, 10**6, 10**6, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0)
    with open(journal / "rank-2.bin", "ab") as f:
        f.write((block + b"\x01" * 60)[:cut])
    p = analyze("recover", str(journal), "-o", "r.h5", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "rank 2 journal cut mid-block" in p.stdout
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


def _damage_first_block(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[struct.unpack_from("<I", data, 8)[0] + 32] = 3  # the first block's tick width: 3 bytes is no width
    path.write_bytes(bytes(data))


# name, how the journal is damaged, words of the error
BAD_JOURNALS = [
    ("not a journal", _bad_magic, "rank-0.bin: not a clockbench journal"),
    ("a rank missing", lambda j: (j / "rank-1.bin").unlink(), "journals of rank(s) [1] missing"),
    ("header cut", lambda j: (j / "rank-2.bin").write_bytes((j / "rank-2.bin").read_bytes()[:40]),
     "rank-2.bin: too short for a clockbench journal header"),
    ("no events flushed", lambda j: _keep_header_only(j / "rank-0.bin"), "flushed no events before the crash"),
    ("a damaged block", lambda j: _damage_first_block(j / "rank-0.bin"), "rank-0.bin: the block at byte"),
    ("empty folder", lambda j: [p.unlink() for p in j.iterdir()], "no rank-<r>.bin journal files in it"),
]


@pytest.mark.parametrize("name,change,words", BAD_JOURNALS, ids=[c[0] for c in BAD_JOURNALS])
def test_unrecoverable_journal_is_a_clear_error(name: str, change, words: str, crashed, tmp_path: Path) -> None:
    journal = damaged(crashed, tmp_path, change)
    before = sorted(p.name for p in tmp_path.iterdir())
    p = analyze("recover", str(journal), "-o", "r.h5", cwd=tmp_path)
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


def test_recovered_file_is_0644_under_umask_000(crashed, tmp_path: Path) -> None:
    journal = next(crashed["folder"].glob("run.h5.*.journal"))
    old = os.umask(0)
    try:
        p = analyze("recover", str(journal), "-o", "r.h5", cwd=tmp_path)
    finally:
        os.umask(old)
    assert p.returncode == 0, p.stderr
    assert stat.S_IMODE((tmp_path / "r.h5").stat().st_mode) == 0o644


def crash_and_recover(tmp_path: Path, n: int, args) -> Path:
    """A run of n ranks SIGKILLed on rank 1 once every rank has flushed events; its journal recovered."""
    out = tmp_path / "run.h5"
    proc = start(n, [*args, "--duration", "600", "--seed", "8", "--flush-interval", "0.2", "-q", "-o", out], tmp_path)
    pids = rank_pids(proc.pid, n)
    wait_until_ticking(proc, out, n)
    os.kill(pids[1], signal.SIGKILL)
    assert wait_for(proc, timeout=HANG_S) not in (None, 0)
    proc.communicate()
    journals = list(tmp_path.glob("run.h5.*.journal"))
    assert len(journals) == 1 and not out.exists(), list(tmp_path.iterdir())
    rec = tmp_path / "recovered.h5"
    p = analyze("recover", str(journals[0]), "-o", str(rec), cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.startswith(f"recovered {rec}: {n} machines"), p.stdout
    v = verify(rec)
    assert v.returncode == 0 and v.stdout.startswith("OK "), v.stdout + v.stderr
    return rec


def test_recover_a_flat_out_journal(tmp_path: Path) -> None:
    rec = crash_and_recover(tmp_path, 3, ["--rates", "max", "--max-ticks", "200000"])
    with h5py.File(rec, "r") as f:
        assert int(f.attrs["flat_out"]) == 1 and int(f.attrs["completed"]) == 0 and int(f.attrs["recovered"]) == 1
        assert int(f.attrs["max_ticks"]) == 200000
        ticks, rank = f["machines/ticks"][:], f["events/rank"][:]
        assert list(ticks) == [np.count_nonzero(rank == r) for r in range(3)] and ticks.min() > 0
        assert f["events/t"][:].max() <= float(f.attrs["end_s"])


def test_recover_a_ring_journal(tmp_path: Path) -> None:
    rec = crash_and_recover(tmp_path, 4, ["--topology", "ring", "--rates", "20,30,50,40", "--speedup", "1"])
    with h5py.File(rec, "r") as f:
        assert f.attrs["topology"] == "ring" and int(f.attrs["recovered"]) == 1
        assert list(f["machines/rate_hz"][:]) == [20.0, 30.0, 50.0, 40.0]
        assert f["network/adjacency"][:].tolist() == [[0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0]]
        peer, kind, rank = f["events/peer"][:], f["events/kind"][:], f["events/rank"][:]
    # A send to one peer goes to a neighbour on the ring, never across it (0-2, 1-3).
    one = kind == 1
    assert one.any() and set(np.unique(peer[one])) <= {0, 1, 2, 3}
    assert np.all((peer[one] - rank[one]) % 4 != 2) and np.all(peer[one] != rank[one])
