"""clockbench --realtime (docs/measurements.md, "Lateness and the other processes"): a paced rank's
timed window runs at real-time priority, SCHED_FIFO 1, its crash journal's thread does not, and the
file says so (`realtime`, /config's `realtime=true`). Flat out it is refused, and so is a host that
does not allow it: one line, exit 2, nothing left behind. The policy of each thread is read from
outside, by the kernel (sched_getscheduler), while the run ticks. What it does to lateness is a
figure of bench/run, never judged here."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List

import h5py
import pytest

from runs import HANG_S, MPI_ENV, attrs, mpi_command, rank_pids, run, start, wait_for, wait_until_ticking
from test_phase_timings import loop_account

REFUSED = "clockbench: error: --realtime: cannot run the ticks at real-time priority (SCHED_FIFO)"


def host_allows_realtime() -> bool:
    """Whether this process may switch to SCHED_FIFO 1 (and it switches back at once)."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    except PermissionError:
        return False
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    return True


def thread_policies(pid: int) -> Dict[str, List[int]]:
    """Thread name -> the scheduling policies of that process's threads of that name; the main
    thread (whose id is the process's) under "main", as threads MPI starts may share its name."""
    out: Dict[str, List[int]] = {}
    for task in (Path("/proc") / str(pid) / "task").iterdir():
        try:
            name = "main" if task.name == str(pid) else (task / "comm").read_text().strip()
            out.setdefault(name, []).append(os.sched_getscheduler(int(task.name)))
        except (OSError, ProcessLookupError):
            continue
    return out


def leftovers(folder: Path) -> List[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("run.h5"))


@pytest.mark.parametrize("np_, realtime", [(3, True), (6, True), (3, False)])
def test_the_ticking_runs_at_real_time_priority_and_nothing_else(tmp_path: Path, np_: int, realtime: bool) -> None:
    if realtime and not host_allows_realtime():
        # Not a skip: on such a host the option must be refused, and that is what is checked.
        proc = run(np_, ["--duration", 2, "--speedup", 20, "--realtime", "-q", "-o", tmp_path / "run.h5"], tmp_path)
        assert proc.returncode == 2 and REFUSED in proc.stderr, proc.stderr
        return
    out = tmp_path / "run.h5"
    args = ["--duration", 60, "--speedup", 20, "--seed", 5, "--flush-interval", 0.05, "--timings", "-q", "-o", out]
    proc = start(np_, args + (["--realtime"] if realtime else []), tmp_path)
    wait_until_ticking(proc, out, np_)
    pids = rank_pids(proc.pid, np_)
    seen = {rank: thread_policies(pid) for rank, pid in pids.items()}
    assert wait_for(proc, HANG_S) == 0, proc.stderr.read()
    stdout = proc.stdout.read()
    main_policy = os.SCHED_FIFO if realtime else os.SCHED_OTHER
    for rank, threads in seen.items():
        # The journal's thread is cb-journal (io/journal.cpp); MPI's keep their priority too.
        assert threads["main"] == [main_policy], (rank, threads)
        assert threads["cb-journal"] == [os.SCHED_OTHER], (rank, threads)
        others = [p for name, ps in threads.items() if name != "main" for p in ps]
        assert os.SCHED_FIFO not in others, (rank, threads)
    assert attrs(out)["realtime"] == (1 if realtime else 0)
    with h5py.File(out, "r") as f:
        assert ("realtime=true" in f["config"][()].decode()) == realtime
    assert loop_account(stdout)["realtime_ranks"] == (np_ if realtime else 0)


@pytest.mark.parametrize("np_", [2, 3])
def test_flat_out_refuses_real_time_priority(tmp_path: Path, np_: int) -> None:
    proc = run(np_, ["--rates", "max", "--duration", 1, "--realtime", "-o", tmp_path / "run.h5"], tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "clockbench: error: --realtime is for paced runs: flat out (--rates max) a rank never sleeps, and at "
        "real-time priority it would hold a processor from every other process; drop --realtime or give rates"]
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("np_", [2, 3])
def test_a_host_that_does_not_allow_it_refuses_the_run(tmp_path: Path, np_: int) -> None:
    """Without CAP_SYS_NICE and with an RLIMIT_RTPRIO of 0, as in a container by default: one line
    from rank 0 naming the fix, exit 2, and no file, partial file or journal folder left."""
    command = mpi_command(np_, ["--duration", 2, "--speedup", 20, "--realtime", "-o", tmp_path / "run.h5"])
    if host_allows_realtime():  # take the permission away, as a container would
        assert shutil.which("setpriv") and shutil.which("prlimit"), "util-linux's setpriv and prlimit are needed"
        command = ["prlimit", "--rtprio=0", "setpriv", "--inh-caps=-sys_nice", "--bounding-set=-sys_nice", *command]
    proc = subprocess.run(command, cwd=tmp_path, env={**os.environ, **MPI_ENV}, capture_output=True, text=True,
                          timeout=HANG_S)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(REFUSED), proc.stderr
    assert "CAP_SYS_NICE" in lines[0] and "ulimit -r" in lines[0] and "without --realtime" in lines[0]
    assert leftovers(tmp_path) == []
