"""Running clockbench under mpiexec from the Python tests, with the settings every run here needs."""

from __future__ import annotations

import contextlib
import io
import math
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import h5py

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "analysis"))
from clockbench.experiment.mpi_settings import mpi_env  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("CLOCKBENCH_BIN", ROOT / "build" / "clockbench"))
ANALYZE = Path(os.environ.get("CLOCKBENCH_ANALYZE", ROOT / "analysis" / "clockbench-analyze"))

# As root in a container and with more ranks than cores: scripts/mpi-env, the one source; -q keeps
# mpirun's own banner out of the way so that clockbench's one-line errors are what a user sees.
MPI_ENV = mpi_env()

# A wait for something a run must do bounded by this many seconds only catches a hang: it is no
# measure of speed, and a loaded machine is far inside it.
HANG_S = 120.0


def mpi_command(np_: int, args: Sequence[str]) -> List[str]:
    return ["mpiexec", "-q", "-n", str(np_), str(BIN), *map(str, args)]


def run(np_: int, args: Sequence[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Runs clockbench on np_ ranks and waits for it, within `timeout` seconds. A run that does not
    end fails with where each rank was waiting, so that a rare hang on a CI host says where."""
    command = mpi_command(np_, args)
    proc = subprocess.Popen(command, cwd=cwd, env={**os.environ, **MPI_ENV}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        where = describe_ranks(proc.pid)
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        raise AssertionError(f"no end within {timeout} s: {' '.join(command)}\n{where}\n{stdout}\n{stderr}")
    return subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)


def describe_ranks(mpirun_pid: int) -> str:
    """Each rank's threads: state, kernel wait channel and system call, and (where gdb is
    installed) their stacks; best effort, for a test that is failing anyway."""
    lines = []
    for proc in Path("/proc").iterdir():
        try:
            if not proc.name.isdigit() or int(_status(proc).get("PPid", "0")) != mpirun_pid:
                continue
            lines.append(f"pid {proc.name} ({_status(proc).get('Name', '?')}):")
            for task in sorted((proc / "task").iterdir(), key=lambda t: int(t.name)):
                state = _status(task).get("State", "?")
                wchan = (task / "wchan").read_text().strip() or "-"
                syscall = (task / "syscall").read_text().split()[0]
                lines.append(f"  thread {task.name}: {state}, wchan {wchan}, syscall {syscall}")
        except OSError:
            continue
        if shutil.which("gdb"):
            gdb = subprocess.run(["gdb", "-p", proc.name, "-batch", "-ex", "thread apply all bt 15"],
                                 capture_output=True, text=True, timeout=60)
            lines += [ln for ln in gdb.stdout.splitlines() if ln.startswith(("#", "Thread"))]
    return "\n".join(lines) or "no rank processes found"


def _status(proc: Path) -> Dict[str, str]:
    return dict(line.split(":\t", 1) for line in (proc / "status").read_text().splitlines() if ":\t" in line)


def start(np_: int, args: Sequence[str], cwd: Path, extra_env: Optional[Dict[str, str]] = None) -> subprocess.Popen:
    """Starts clockbench on np_ ranks in its own process group, for the signal tests."""
    env = {**os.environ, **MPI_ENV, **(extra_env or {})}
    return subprocess.Popen(mpi_command(np_, args), cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def result_fields(stdout: str) -> Dict[str, str]:
    """The key=value pairs of the CLOCKBENCH_RESULT line (exactly one must be printed)."""
    lines = [ln for ln in stdout.splitlines() if ln.startswith("CLOCKBENCH_RESULT ")]
    assert len(lines) == 1, f"expected one CLOCKBENCH_RESULT line, got {len(lines)}:\n{stdout}"
    return dict(kv.split("=", 1) for kv in lines[0].split()[1:])


def verify(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["/usr/bin/python3", str(ANALYZE), "verify", str(path)], capture_output=True,
                          text=True, timeout=120)


def verify_in_process(path: Path) -> subprocess.CompletedProcess:
    """`clockbench-analyze verify` run in this process (its main(), the same code as the command):
    for a test verifying many files, without an interpreter's start-up and imports each time."""
    from clockbench.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["verify", str(path)])
    return subprocess.CompletedProcess(["verify", str(path)], code, out.getvalue(), err.getvalue())


def rank_pids(mpirun_pid: int, n: int, timeout: float = 20) -> Dict[int, int]:
    """Rank -> pid of the clockbench processes that one mpirun started (its children)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found: Dict[int, int] = {}
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                status = (proc / "status").read_text()
                env = (proc / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
            if fields.get("Name") != BIN.name[:15] or int(fields.get("PPid", "0")) != mpirun_pid:
                continue
            vars_ = dict(e.split(b"=", 1) for e in env if b"=" in e)
            if b"OMPI_COMM_WORLD_RANK" in vars_:
                found[int(vars_[b"OMPI_COMM_WORLD_RANK"])] = int(proc.name)
        if len(found) == n:
            return found
        time.sleep(0.05)
    raise AssertionError(f"could not find the {n} clockbench ranks of mpirun {mpirun_pid}")


def journal_event_bytes(out: Path) -> Dict[int, int]:
    """Rank -> bytes of events (past the header) in the crash journal of the run writing `out`
    (`<out>.<pid>.journal/rank-<r>.bin`, the header's length its second u32, docs/schema.md)."""
    sizes: Dict[int, int] = {}
    for f in out.parent.glob(f"{out.name}.*.journal/rank-*.bin"):
        try:
            data = f.read_bytes()
        except OSError:  # removed at the end of the run
            continue
        if len(data) >= 12:
            sizes[int(f.stem.split("-")[1])] = len(data) - struct.unpack_from("<I", data, 8)[0]
    return sizes


def wait_until_journaling(proc: subprocess.Popen, out: Path, n: int, timeout: float = HANG_S) -> None:
    """Until every one of the n ranks has created its crash journal: each is past MPI_Init, its stop
    signals installed and its set-up done (rank 0's header comes out before the others may be; a
    broadcast's root does not wait for its receivers). `timeout` only catches a hang."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the run ended (exit {proc.returncode}) before every rank had its journal")
        if len(journal_event_bytes(out)) == n:
            return
        time.sleep(0.01)
    raise AssertionError(f"not every rank set up within {timeout} s: journals of ranks {sorted(journal_event_bytes(out))}")


def wait_until_ticking(proc: subprocess.Popen, out: Path, n: int, timeout: float = HANG_S) -> None:
    """Until every one of the n ranks has flushed events to its crash journal: the run is past its
    start-up and ticking everywhere (the run needs a short --flush-interval). What a test acting
    on a running run waits for, instead of a fixed sleep; `timeout` only catches a hang."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the run ended (exit {proc.returncode}) before it was seen ticking")
        sizes = journal_event_bytes(out)
        if len(sizes) == n and all(b > 0 for b in sizes.values()):
            return
        time.sleep(0.02)
    raise AssertionError(f"not every rank ticking within {timeout} s: journal event bytes {journal_event_bytes(out)}")


def wait_for_line(proc: subprocess.Popen, prefix: str) -> List[str]:
    """Reads the run's stdout up to and including the first line starting with `prefix`; returns
    the lines read (the caller's timeout, e.g. pytest's or ctest's, catches a run that never says it)."""
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith(prefix):
            return lines
    raise AssertionError(f"the run ended without a line starting {prefix!r}:\n{''.join(lines)}")


def ticks_before(end: float, rate: float, phase: float = 0.0) -> int:
    """Ticks k = 0, 1, ... due strictly before `end` (phase + k / rate < end, docs/model.md)."""
    k = max(0, math.floor((end - phase) * rate))
    while k > 0 and phase + (k - 1) / rate >= end:
        k -= 1
    while phase + k / rate < end:
        k += 1
    return k


def attrs(path: Path) -> Dict[str, object]:
    with h5py.File(path, "r") as f:
        return dict(f.attrs)


def wait_for(proc: subprocess.Popen, timeout: float) -> Optional[int]:
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return None


def free_port_pair(first: int, last: int) -> int:
    """A port p in [first, last) with p and p + 1 both free here (a slurmctld listens on p, its
    slurmd on p + 1), so that a test's Slurm never collides with another one running."""
    for p in range(first, last, 2):
        try:
            for q in (p, p + 1):
                with socket.socket() as s:
                    s.bind(("0.0.0.0", q))
        except OSError:
            continue
        return p
    raise RuntimeError(f"no free port pair in {first}..{last} for the test's Slurm")


# Slurm job states after which a job does nothing more.
SLURM_TERMINAL = frozenset({"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL",
                            "DEADLINE", "PREEMPTED"})


def wait_for_jobs(jobs, run, job: str, timeout: float):
    """Waits (bounded, polling) until every job of `job` has ended; returns their records (jobs(job):
    scontrol's records, run(cmd): a CompletedProcess). On timeout cancels it and fails the test."""
    import pytest
    deadline = time.monotonic() + timeout
    while True:
        records = jobs(job)
        if records and all(r.get("JobState") in SLURM_TERMINAL for r in records):
            return records
        if time.monotonic() > deadline:
            run(["scancel", job])
            pytest.fail(f"job {job} did not end within {timeout:.0f} s:\n{run(['squeue']).stdout}")
        time.sleep(0.3)
