"""Runs a command with a planted CLOCK_MONOTONIC offset, the way a rank of another host would see
its clock: `plant_clock.py OFFSETS [--hosts NAMES] COMMAND...` under mpiexec reads its rank
(OMPI_COMM_WORLD_RANK), takes that rank's offset from OFFSETS (nanoseconds, comma-separated, by
rank; negative ones may take the clock down to 0, not below), unshares a time namespace, writes the
offset to /proc/self/timens_offsets (nanoseconds, which `unshare --monotonic` cannot) and execs
COMMAND, which runs in the new namespace (Linux >= 5.11 moves a process into its pending time
namespace on exec, so no fork: the rank's pid is the command's). With --hosts (names by rank,
comma-separated) it also unshares a UTS namespace and takes that host name, which MPI then gives
as the rank's processor name. Needs root. Standard library only: it runs once per rank before
clockbench starts."""

from __future__ import annotations

import ctypes
import os
import sys
from typing import Sequence

CLONE_NEWTIME = 0x80
CLONE_NEWUTS = 0x04000000
NS = 1_000_000_000


def plant_and_exec(argv: Sequence[str]) -> None:
    rank = int(os.environ["OMPI_COMM_WORLD_RANK"])
    offset = [int(x) for x in argv[0].split(",")][rank]
    command = list(argv[1:])
    host = None
    if command[:1] == ["--hosts"]:
        host = command[1].split(",")[rank]
        command = command[2:]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWTIME | (CLONE_NEWUTS if host else 0)) != 0:
        err = ctypes.get_errno()
        raise SystemExit(f"plant_clock: unshare(CLONE_NEWTIME{' | CLONE_NEWUTS' if host else ''}): "
                         f"{os.strerror(err)} (needs root and a kernel with time namespaces)")
    if host and libc.sethostname(host.encode(), len(host.encode())) != 0:
        raise SystemExit(f"plant_clock: sethostname({host}): {os.strerror(ctypes.get_errno())}")
    seconds, nanoseconds = divmod(offset, NS)  # the kernel wants 0 <= ns < 1e9
    with open("/proc/self/timens_offsets", "w") as f:
        f.write(f"monotonic {seconds} {nanoseconds}\n")
    os.execv(command[0], command)


if __name__ == "__main__":
    plant_and_exec(sys.argv[1:])
