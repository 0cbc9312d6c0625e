"""The MPI floor (bench/mpi_floor.cpp, bench/run's hardware baseline): it sends exactly the messages
of the matrix it is given, on 2 and 3 ranks, and refuses bad input on every rank with one line and
exit 2. Its speed is a figure of bench/run, never judged here."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Dict, List

import pytest

from runs import MPI_ENV

FLOOR = os.environ.get("CLOCKBENCH_MPI_FLOOR")
pytestmark = pytest.mark.skipif(not FLOOR, reason="benchmarks not built (CLOCKBENCH_BUILD_BENCHMARKS=OFF)")


def floor(np_: int, args: List[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["mpiexec", "-q", "-n", str(np_), str(FLOOR), *args], cwd=cwd,
                          env={**os.environ, **MPI_ENV}, capture_output=True, text=True, timeout=120)


def result(stdout: str) -> Dict[str, str]:
    lines = [ln for ln in stdout.splitlines() if ln.startswith("CLOCKBENCH_FLOOR_RESULT ")]
    assert len(lines) == 1, stdout
    return dict(kv.split("=", 1) for kv in lines[0].split()[1:])


@pytest.mark.parametrize("np_, rows, total", [
    (2, ["0 1500", "700 0"], 2200),
    # Uneven rows, one pair silent, numpy's float text for whole numbers.
    (3, ["0 5 6000", "1 0 0", "3.0 4000 0"], 10009),
])
def test_floor_sends_the_matrix(tmp_path: Path, np_: int, rows: List[str], total: int) -> None:
    matrix = tmp_path / "sent.txt"
    matrix.write_text("# row: sender\n" + "\n".join(rows) + "\n")
    proc = floor(np_, ["--sent", str(matrix)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    fields = result(proc.stdout)
    assert fields["machines"] == str(np_)
    assert int(fields["messages_sent"]) == total
    assert float(fields["seconds"]) > 0
    assert float(fields["ns_per_message"]) == pytest.approx(1e9 * float(fields["seconds"]) / total, rel=1e-3)


def test_floor_messages_to_every_peer(tmp_path: Path) -> None:
    proc = floor(3, ["--messages", "1000"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert int(result(proc.stdout)["messages_sent"]) == 3 * 2 * 1000


@pytest.mark.parametrize("content, np_, says", [
    ("0 1 2\n3 0 4\n", 3, "6 counts, but 3 ranks need an N x N matrix of 9"),
    ("0 1\n-2 0\n", 2, "is negative"),
    ("0 1.5\n2 0\n", 2, "is not a whole number"),
    ("1 1\n2 0\n", 2, "diagonal not 0"),
    (None, 2, "give --sent FILE"),
])
def test_floor_bad_input_one_line_exit_2(tmp_path: Path, content, np_: int, says: str) -> None:
    args = []
    if content is not None:
        (tmp_path / "m.txt").write_text(content)
        args = ["--sent", str(tmp_path / "m.txt")]
    proc = floor(np_, args, tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert errors == [errors[0]] and errors[0].startswith("clockbench_mpi_floor: error: ") and says in errors[0]
    assert "CLOCKBENCH_FLOOR_RESULT" not in proc.stdout
