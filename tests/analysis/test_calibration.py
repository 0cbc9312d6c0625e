"""The calibration of the theory checks (calibrate.py), sampled: on the sample's configurations,
400 replayed runs each, no check fails a run that follows the model more than 1 % of the time, and
the figures are the ones analysis/clockbench/theory/calibration.json records (which `summary --help`, the
report and the README print). The whole grid: `calibrate.py --full --runs 400 --json ...`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import calibrate
from clockbench.theory import calibration
from clockbench.theory import compare

ROOT = Path(__file__).resolve().parents[2]
RUNS = 400


@pytest.fixture(scope="module")
def sampled():
    return {name: calibrate.calibrate(next(c for c in calibrate.GRID if c.name == name), RUNS)
            for name in calibrate.SAMPLE}


def test_sampled_checks_fail_good_runs_at_most_one_percent(sampled) -> None:
    over = []
    for name, tally in sampled.items():
        for q in calibrate.QUANTITIES:
            worst = tally.worst(q)
            if worst is not None and worst[1] / worst[2] > calibrate.TARGET:
                over.append(f"{name} {q} machine {worst[0]}: {worst[1]}/{worst[2]}")
    assert not over, "checks above 1 % false failures: " + "; ".join(over)


def test_recorded_figures_are_the_measured_ones(sampled) -> None:
    """calibration.json must say what the checks do now: rerun calibrate.py --full after a change."""
    recorded = calibration.load()
    assert recorded is not None, "analysis/clockbench/theory/calibration.json is missing"
    measured = calibrate.figures(list(sampled.values()))
    for q in calibrate.QUANTITIES:
        for name in sampled:
            got = measured["quantities"][q]["configs"].get(name)
            want = recorded["quantities"][q]["configs"].get(name)
            assert (got is None) == (want is None), (q, name)
            if got is not None:
                assert (got["fails"], got["runs"], got["machine"]) == (want["fails"], want["runs"], want["machine"]), \
                    f"{q} on {name}: measured {got}, calibration.json says {want}"


def test_a_check_too_tight_fails_the_calibration(monkeypatch) -> None:
    """Planted: at 1 sigma instead of 3 the checks fail good runs far more than 1 %."""
    monkeypatch.setattr(compare, "SIGMAS", 1.0)
    tally = calibrate.calibrate(calibrate.GRID[0], 100)
    rates = [tally.worst(q)[1] / tally.worst(q)[2] for q in calibrate.QUANTITIES if tally.worst(q)]
    assert max(rates) > 5 * calibrate.TARGET, rates


def test_readme_and_help_print_the_recorded_rates() -> None:
    readme = (ROOT / "README.md").read_text()
    assert calibration.markdown_table() in readme, "README's calibration table differs from calibration.json"
    out = subprocess.run([sys.executable, str(ROOT / "analysis" / "clockbench-analyze"), "summary", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for line in calibration.rate_lines():
        assert line.strip() in out
    assert "not available" not in out
