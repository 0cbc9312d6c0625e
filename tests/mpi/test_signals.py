"""Early stops: SIGTERM or SIGINT to mpirun, or SIGTERM to one rank only, stop every rank at the
same model time and leave a complete, verified file marked completed=0 with the reason."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from runs import rank_pids, result_fields, start, verify, wait_for

# Open MPI's mpirun, on SIGTERM or SIGINT, sends the ranks SIGCONT at once, SIGTERM 1 s later and
# SIGKILL 1 s after that (measured here): the stop must be complete within 2 s of the signal to
# mpirun, and within 1 s of a rank's own SIGTERM.
MPIRUN_STOP_BOUND_S = 2.0
RANK_STOP_BOUND_S = 1.0


def run_and_signal(tmp_path: Path, target: str, sig: int, n: int = 3):
    out = tmp_path / "stopped.h5"
    proc = start(n, ["--duration", 60, "--speedup", 10, "--seed", 5, "-o", out], tmp_path)
    pids = rank_pids(proc.pid, n)
    header = []
    for line in proc.stdout:  # the header is printed when every rank is set up
        header.append(line)
        if line.startswith("  output:"):
            break
    time.sleep(1.0)  # well inside the 6 s of wall time the run would take
    sent_at = time.monotonic()
    os.kill(pids[2] if target == "rank2" else proc.pid, sig)
    # The stop is over when the complete file is moved into place (mpirun itself lingers longer).
    while not out.exists() and time.monotonic() - sent_at < 30:
        time.sleep(0.005)
    stop_s = time.monotonic() - sent_at
    code = wait_for(proc, timeout=30)
    stdout, stderr = proc.communicate()
    stdout = "".join(header) + stdout
    assert code is not None, "clockbench did not stop"
    return out, code, stop_s, stdout, stderr


def check_stopped_file(out: Path, reason: str) -> None:
    """`reason` is a regular expression the stop_reason attribute must match."""
    v = verify(out)
    assert v.returncode == 0, v.stdout + v.stderr
    assert "partial: completed=0" in v.stdout
    with h5py.File(out, "r") as f:
        assert f.attrs["completed"] == 0
        assert re.fullmatch(reason, f.attrs["stop_reason"]), f.attrs["stop_reason"]
        end = f.attrs["end_s"]
        assert 0 < end < f.attrs["duration_s"]
        rates = f["machines/rate_hz"][:]
        phases = f["machines/phase_s"][:]
        missed = f["machines/missed_ticks"][:]
        rank = f["events/rank"][:]
        tick = f["events/tick"][:]
        # Every rank stopped at the same model time: it ran every tick due before end_s (tick k of
        # machine i is due at phase_i + k / rate_i, docs/model.md) but those it missed, and no other.
        due = phases[rank] + tick / rates[rank]
        assert np.all(due < end)
        for r, (rate, phase) in enumerate(zip(rates, phases)):
            n_due = int(np.ceil((end - phase) * rate))
            while n_due > 0 and phase + (n_due - 1) / rate >= end:
                n_due -= 1
            while phase + n_due / rate < end:
                n_due += 1
            assert f["machines/ticks"][r] == np.count_nonzero(rank == r)
            assert f["machines/ticks"][r] + missed[r] == n_due, (r, n_due)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_signal_to_mpirun_stops_all_ranks_with_a_complete_file(sig: int, tmp_path: Path) -> None:
    out, code, stop_s, stdout, stderr = run_and_signal(tmp_path, "mpirun", sig)
    assert code != 0
    assert stop_s < MPIRUN_STOP_BOUND_S, f"took {stop_s:.2f} s to stop"
    assert result_fields(stdout)["status"] == "stopped", stdout + stderr
    # mpirun forwards SIGTERM to every rank, whatever it received itself; the first to reach
    # rank 0 is named.
    check_stopped_file(out, r"SIGTERM on rank [0-2]")


def test_sigterm_to_one_rank_stops_them_all(tmp_path: Path) -> None:
    out, code, stop_s, stdout, stderr = run_and_signal(tmp_path, "rank2", signal.SIGTERM)
    assert code == 128 + signal.SIGTERM, stderr
    assert stop_s < RANK_STOP_BOUND_S, f"took {stop_s:.2f} s to stop"
    assert "stopped early" in stdout and "SIGTERM on rank 2" in stdout
    check_stopped_file(out, "SIGTERM on rank 2")
