"""clockbench --timings: one CLOCKBENCH_TIMINGS line, from rank 0 only, after the result line, with
every phase in run order (docs/measurements.md, "Phases of a run"); phases that did not happen are
0; the timed window is at least the run's wall duration, which the loop waits out by construction.
How long the phases take is a figure of bench/run, never judged here."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import pytest

from runs import result_fields, run

PHASES = ["mpi_init_s", "setup_s", "reserve_s", "clock_estimate_s", "warm_up_s", "start_wait_s", "ticking_s",
          "drain_s", "end_estimate_s", "settle_s", "journal_s", "write_s", "report_s", "finalize_s"]


def timings(stdout: str) -> List[List[str]]:
    return [ln.split()[1:] for ln in stdout.splitlines() if ln.startswith("CLOCKBENCH_TIMINGS")]


@pytest.mark.parametrize("np_", [2, 3, 8])
def test_timings_line_of_a_paced_run(tmp_path: Path, np_: int) -> None:
    out = tmp_path / "run.h5"
    proc = run(np_, ["--duration", 4, "--speedup", 20, "--seed", 3, "--timings", "-q", "-o", out], tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = timings(proc.stdout)
    assert len(lines) == 1, proc.stdout  # rank 0's only
    pairs = [kv.split("=", 1) for kv in lines[0]]
    assert [k for k, _ in pairs] == PHASES + ["sum_s"]
    t: Dict[str, float] = {k: float(v) for k, v in pairs}
    assert all(v >= 0 for v in t.values())
    assert t["sum_s"] == pytest.approx(sum(t[k] for k in PHASES), rel=1e-4, abs=1e-5)
    # The loop ticks until model time 4 s at 20x: 0.2 wall s at least, and waits out the end.
    assert t["ticking_s"] >= 0.2 * (1 - 1e-6)
    assert t["write_s"] > 0 and t["journal_s"] > 0
    # The result line comes first; the timings follow MPI_Finalize.
    assert proc.stdout.index("CLOCKBENCH_RESULT") < proc.stdout.index("CLOCKBENCH_TIMINGS")


def test_no_output_no_journal_phases_are_zero(tmp_path: Path) -> None:
    proc = run(2, ["--rates", "max", "--duration", 0.2, "--max-ticks", 100000, "--no-output", "--timings", "-q"],
               tmp_path)
    assert proc.returncode == 0, proc.stderr
    t = {k: float(v) for k, v in (kv.split("=", 1) for kv in timings(proc.stdout)[0])}
    assert t["write_s"] == 0 and t["journal_s"] == 0
    assert result_fields(proc.stdout)["output"] == "none"


def test_without_the_option_no_line(tmp_path: Path) -> None:
    proc = run(2, ["--duration", 2, "--speedup", 20, "--no-output"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert timings(proc.stdout) == []
