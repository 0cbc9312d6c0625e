"""bench/compare.py (bench/run --compare): a change is flagged only beyond the noise both results
measured, in the figure's own direction; single-run figures are never flagged; bad input is one
line and exit 2. Expectations are literals worked out by hand from the rule in its docstring."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("bench_compare", ROOT / "bench" / "compare.py")
compare = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare)


@pytest.mark.parametrize("old, new, higher, expected", [
    ([100, 101, 102], [110, 111, 112], True, "BETTER"),   # apart, medians 10 apart, noise 2
    ([100, 101, 102], [110, 111, 112], False, "WORSE"),   # the same change where lower is better
    ([100, 101, 102], [102, 103, 104], True, "same"),     # ranges touch at 102
    ([100, 105, 110], [111, 112, 113], True, "same"),     # apart, but 7 < noise 10
    ([100, 101, 102], [90, 91, 92], True, "WORSE"),
    ([100], [150], True, "single run"),
    ([100, 101], [200], True, "single run"),
])
def test_judge(old, new, higher, expected) -> None:
    assert compare.judge(old, new, higher) == expected


def system(events_per_s, floor_ns, p99) -> dict:
    return {"schema": "clockbench-bench/2",
            "flat_out": {"3": {"runs": {"output": [{"events_per_s": str(v)} for v in events_per_s],
                                        "floor": [{"ns_per_message": str(v)} for v in floor_ns]}}},
            "microbench_items_per_second": {"BM_QueuePushPop<MessageQueue>/0": [5e7, 5.1e7, 4.9e7]},
            "fidelity": [{"ranks": 3, "speedup": 100.0, "grace_s": 0.002, "worst_rate_error": 1e-4,
                          "late_p99_s": p99}],
            "startup": [{"ranks": 64, "bare_wall_s": 20.0, "wall_s": 22.5}]}


def test_compare_two_results(tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    new = tmp_path / "new.json"
    old.write_text(json.dumps(system([1.0e6, 1.1e6, 1.2e6], [900, 950, 1000], 1e-4)))
    new.write_text(json.dumps(system([0.5e6, 0.55e6, 0.6e6], [700, 960, 990], 9e-4)))
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "compare.py"), str(old), str(new)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    rows = {ln.split("  ")[0].strip(): ln.split()[-1] for ln in proc.stdout.splitlines() if "->" in ln}
    assert rows == {
        "flat out 3 ranks: output events/s": "WORSE",        # halved, ranges far apart
        "flat out 3 ranks: MPI floor ns/message": "same",     # overlapping ranges
        "microbenchmark BM_QueuePushPop<MessageQueue>/0 items/s": "same",
        "fidelity 3 ranks, speedup 100, grace 0.002 s: worst rate error": "run",
        "fidelity 3 ranks, speedup 100, grace 0.002 s: p99 lateness s": "run",
        "start-up 64 ranks: bare MPI program, mpirun wall s": "run",
        "start-up 64 ranks: clockbench, mpirun wall s": "run",
    }
    assert "1 of 7 figures changed beyond noise (1 worse)" in proc.stdout


def test_reads_the_first_format(tmp_path: Path) -> None:
    """clockbench-bench/1 kept one flat-out set (3 ranks) directly under flat_out."""
    first = {"schema": "clockbench-bench/1",
             "flat_out": {"ranks": 3, "runs": {"null": [{"events_per_s": "2e6"}, {"events_per_s": "2.2e6"}]}}}
    assert compare.figures(first) == {"flat out 3 ranks: null events/s": ([2e6, 2.2e6], True)}


@pytest.mark.parametrize("content, says", [(None, "No such file"), ("{", "Expecting"),
                                           ('{"schema": "other"}', "is not a bench/run system.json")])
def test_bad_input(tmp_path: Path, content, says: str) -> None:
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(system([1], [1], 1)))
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "compare.py"), str(bad), str(good)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bench/compare.py: error:") and says in lines[0]
