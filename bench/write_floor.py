"""The write floor: how long this machine takes to write N bytes to a new file in a folder, in
8 MB pwrite(2) calls through the page cache, with no fsync: what the run file's write (the same
bytes, through HDF5 and MPI-IO, no fsync either) cannot beat. bench/run times it right after each
flat-out run that wrote a file, beside that file, so that both meet the machine in the same state
(on a virtual machine, fresh memory for the page cache can cost far more than the copy).

Usage: write_floor.py FOLDER BYTES  ->  prints "CLOCKBENCH_WRITE_FLOOR bytes=N write_s=S"
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

CHUNK = 8 << 20


def main(argv: list[str]) -> int:
    if len(argv) != 3 or not argv[2].isdigit():
        print(__doc__, file=sys.stderr)
        return 2
    folder, total = argv[1], int(argv[2])
    block = b"\x01" * CHUNK  # not zeros: no file system may skip them
    fd, path = tempfile.mkstemp(prefix="write-floor-", dir=folder)
    try:
        start = time.perf_counter()
        done = 0
        while done < total:
            n = min(CHUNK, total - done)
            done += os.pwrite(fd, block[:n] if n < CHUNK else block, done)
        os.close(fd)
        elapsed = time.perf_counter() - start
    finally:
        os.unlink(path)
    print(f"CLOCKBENCH_WRITE_FLOOR bytes={total} write_s={elapsed:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
