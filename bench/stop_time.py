#!/usr/bin/env python3
"""How long an early stop takes: wall seconds from a SIGTERM (to one rank, or to mpirun) until the
complete file is in place, and the model time it stopped at; bench/run prints them. The tests
check what a stop leaves (tests/mpi/test_signals.py), never how fast: that is this figure.

usage: bench/stop_time.py BIN FOLDER REPS   (under scripts/mpi-env's settings)"""

from __future__ import annotations

import json
import os
import signal
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

RANKS = 3
# Each rank flushes its journal every 0.2 s: once every journal holds events, every rank ticks.
ARGS = ["--duration", "600", "--speedup", "10", "--seed", "5", "--flush-interval", "0.2", "-q"]
HANG_S = 120.0


def rank_pids(mpirun: int) -> Dict[int, int]:
    """Rank -> pid of the clockbench processes mpirun started."""
    found: Dict[int, int] = {}
    for proc in Path("/proc").iterdir():
        try:
            if not proc.name.isdigit() or f"PPid:\t{mpirun}\n" not in (proc / "status").read_text():
                continue
            env = dict(e.split(b"=", 1) for e in (proc / "environ").read_bytes().split(b"\0") if b"=" in e)
        except OSError:
            continue
        if b"OMPI_COMM_WORLD_RANK" in env:
            found[int(env[b"OMPI_COMM_WORLD_RANK"])] = int(proc.name)
    return found


def ticking(out: Path) -> bool:
    """Every rank's journal holds events past its header (whose length is its second u32)."""
    journals = list(out.parent.glob(f"{out.name}.*.journal/rank-*.bin"))
    try:
        data = [j.read_bytes() for j in journals]
    except OSError:
        return False
    return len(data) == RANKS and all(len(d) >= 12 and len(d) > struct.unpack_from("<I", d, 8)[0] for d in data)


def wait(condition, what: str) -> None:
    deadline = time.monotonic() + HANG_S
    while not condition():
        if time.monotonic() > deadline:
            sys.exit(f"bench/stop_time.py: {what} within {HANG_S:.0f} s")
        time.sleep(0.002)


def one_stop(binary: str, folder: Path, target: str, i: int) -> Dict[str, float]:
    out = folder / f"stop-{target}-{i}.h5"
    proc = subprocess.Popen(["mpirun", "-q", "-n", str(RANKS), binary, *ARGS, "-o", str(out)], cwd=folder,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        wait(lambda: len(rank_pids(proc.pid)) == RANKS and ticking(out), "no run ticking on every rank")
        pid = rank_pids(proc.pid)[2] if target == "rank" else proc.pid
        sent = time.monotonic()
        os.kill(pid, signal.SIGTERM)
        wait(out.exists, "no file after the signal")
        stop_s = time.monotonic() - sent
        proc.wait(timeout=HANG_S)
        line = next(ln for ln in proc.stdout.read().splitlines() if ln.startswith("CLOCKBENCH_RESULT "))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    fields = dict(kv.split("=", 1) for kv in line.split()[1:])
    out.unlink()
    return {"stop_s": stop_s, "write_s": float(fields["write_s"]), "end_s": float(fields["end_s"])}


def main(argv: List[str]) -> int:
    binary, folder, reps = str(Path(argv[1]).resolve()), Path(argv[2]).resolve(), int(argv[3])
    figures = {target: [one_stop(binary, folder, target, i) for i in range(reps)] for target in ("rank", "mpirun")}
    (folder / "stop.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\nEarly stop, {RANKS} ranks at speedup 10: wall s from SIGTERM to the complete file in place "
          f"(of which the write), {reps} runs each")
    for target, runs in figures.items():
        stops = [r["stop_s"] for r in runs]
        write = statistics.median(r["write_s"] for r in runs)
        print(f"  SIGTERM to {'rank 2' if target == 'rank' else 'mpirun':7}  median {statistics.median(stops):.3f} s, "
              f"max {max(stops):.3f} s (write median {write:.3f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
