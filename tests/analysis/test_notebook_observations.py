"""The lab notebook's answers to the seed notebook: which queues grow (rho > 1 strictly, critical
within the run's noise of rho = 1), and whether a backed-up machine's jumps grow with its queue.
Expected numbers are computed here from the files or the closed form, not by the package."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import List

import h5py
import numpy as np
import pytest

from conftest import RunData, write_run
from model_sim import from_replay
from replay import replay

from clockbench.documents import notebook
from clockbench.exercise import MATRICES, Settings, Trial
from clockbench.measure.metrics import jump_profiles
from clockbench.documents.jump_growth import jump_answer, jump_cases, jump_table_rows
from clockbench.documents.observations import CRITICAL, GROWING, STABLE, draw_shares, queue_classes
from clockbench.theory.run_analysis import analyse
from clockbench.file.schema import open_run
from clockbench.theory.mean_field import adjacency, closed_form_full, predict
from clockbench.file.verify import verify

RATES = (4, 1, 4)   # the seed notebook's trial 3: machine 1's queue backs up
SLOW = 1
DURATION = 1200.0  # long enough that a quarter's mean jump is within a few percent


def _shares_from_closed_form(lo: int, hi: int, p: float) -> tuple:
    """Machines with lambda > r, and with lambda = r, over all integer draws (closed form)."""
    growing = exact = total = 0
    for r in itertools.product(range(lo, hi + 1), repeat=3):
        lam = closed_form_full(r, p)
        growing += int(np.sum(lam > np.array(r) + 1e-9))
        exact += int(np.sum(np.isclose(lam, r, rtol=0, atol=1e-9)))
        total += 3
    return growing / total, exact / total


@pytest.mark.parametrize("lo, p", [(1, 0.7), (1, 0.4), (4, 0.7)])
def test_growing_over_all_draws_is_strict_and_rho_one_is_critical(lo: int, p: float) -> None:
    growing, exact = _shares_from_closed_form(lo, 6, p)
    got_growing, got_critical = draw_shares(3, lo, 6, p, 60.0)
    assert got_growing == pytest.approx(growing, abs=1e-12)
    # Critical: every machine at rho = 1 exactly, and at p = 0.7 no other (the nearest integer draws'
    # drifts are beyond 60 s of noise); at p = 0.4 a few near-critical ones too.
    assert got_critical >= exact - 1e-12
    if p == 0.7:
        assert got_critical == pytest.approx(exact, abs=1e-12)
    if lo == 1:
        assert exact > 0  # the planted case: rho = 1 draws exist, and are not counted as growing


def test_rho_one_is_critical_not_growing() -> None:
    # (3, 3, 1) at p = 0.7: theta = 0.2 x 6 / 1.2 = 1 = r of machine 2 (closed form), rho = 1 exactly.
    lam = closed_form_full((3, 3, 1), 0.7)
    assert lam[2] == pytest.approx(1.0)
    pred = predict((3, 3, 1), 0.7)
    assert not pred.stable[2]  # the mean field's own flag calls it unstable: the old count
    assert queue_classes(pred, adjacency("full", 3), 60.0) == [STABLE, STABLE, CRITICAL]
    assert queue_classes(predict((3, 3, 0.9), 0.7), adjacency("full", 3), 60.0)[2] == GROWING


def test_critical_depends_on_the_runs_length() -> None:
    # Just stable (r = 1.05 > lambda = 1): within noise over 10 s, clearly stable over 10^5 s.
    pred = predict((3, 3, 1.05), 0.7)
    assert pred.stable[2]
    adj = adjacency("full", 3)
    assert queue_classes(pred, adj, 10.0)[2] == CRITICAL
    assert queue_classes(pred, adj, 1e5)[2] == STABLE


def _real(tmp_path: Path, seed: int = 5) -> RunData:
    return from_replay(replay(RATES, seed=seed, duration_s=DURATION))


def _plant_growing_jumps(data: RunData) -> None:
    """The slow machine's receive jumps grow with its queue: + queue // 4."""
    ev = data.events
    rows = ev["rank"] == SLOW
    recv = rows & (ev["kind"] == 3)
    ev["jump"][recv] += ev["queue"][recv] // 4
    ev["lamport"][rows] = np.cumsum(ev["jump"][rows])


def _expected(path: Path, rank: int) -> dict:
    """Per-quarter mean jumps and the jump-vs-queue slope of one machine, read straight from the file."""
    with h5py.File(path, "r") as f:
        ev = {k: f["events"][k][()] for k in ("rank", "t", "kind", "jump", "queue")}
        end = float(f.attrs["end_s"])
    quarters: List[List[int]] = [[], [], [], []]
    qs, js = [], []
    for r, t, k, j, q in zip(ev["rank"], ev["t"], ev["kind"], ev["jump"], ev["queue"]):
        if r == rank and k == 3:
            quarters[min(3, int(t // (end / 4)))].append(int(j))
            qs.append(q + 1)
            js.append(j)
    return {"quarters": [sum(x) / len(x) for x in quarters], "slope": np.polyfit(qs, js, 1)[0],
            "mean": sum(js) / len(js)}


def _cases(path: Path):
    run = open_run(path)
    return jump_cases([("trial 3", analyse(run, histograms=False), jump_profiles(run))])


def test_jump_profile_numbers_come_from_the_events(tmp_path: Path) -> None:
    path = write_run(tmp_path / "real.h5", _real(tmp_path))
    exp = _expected(path, SLOW)
    p = jump_profiles(open_run(path))[SLOW]
    np.testing.assert_allclose(p.window_mean, exp["quarters"], rtol=1e-12)
    assert p.queue_slope == pytest.approx(exp["slope"], rel=1e-9)
    assert p.receives == int(DURATION * RATES[SLOW])


def test_jumps_stay_flat_in_the_model_and_the_notebook_says_why(tmp_path: Path) -> None:
    path = write_run(tmp_path / "real.h5", _real(tmp_path))
    exp = _expected(path, SLOW)
    cases = _cases(path)
    slow = [c for c in cases if c.backed_up]
    assert [c.profile.rank for c in slow] == [SLOW]
    # The model's answer: flat, and the mean is s / lambda (the ratio of slopes), to a few percent.
    assert max(exp["quarters"]) - min(exp["quarters"]) < 0.1 * exp["mean"]
    assert slow[0].slope_ratio == pytest.approx(exp["mean"], rel=0.05)
    row = [r for r in jump_table_rows(cases) if r[1] == f"m{SLOW}"][0]
    assert row[-1] == "does not hold"
    assert row[5] == ", ".join(f"{x:.2f}" for x in exp["quarters"])
    text = " ".join(jump_answer(cases))
    assert "The claim does not hold on 1 of 1 machines whose queue backed up" in text
    assert "The claim holds" not in text
    assert f"mean jump by time window {row[5]}" in text
    assert f"a measured mean jump of {exp['mean']:.2f}" in text
    assert "what grows as a queue backs up is the lag, not the jumps" in text


def test_planted_growing_jumps_make_the_claim_hold(tmp_path: Path) -> None:
    data = _real(tmp_path)
    _plant_growing_jumps(data)
    path = write_run(tmp_path / "planted.h5", data)
    exp = _expected(path, SLOW)
    assert exp["quarters"][3] > 1.5 * exp["quarters"][0]  # the plant did make them grow
    cases = _cases(path)
    row = [r for r in jump_table_rows(cases) if r[1] == f"m{SLOW}"][0]
    assert row[-1] == "holds"
    text = " ".join(jump_answer(cases))
    assert text.startswith(f"The claim holds on trial 3, machine {SLOW} (1 Hz, ")
    assert "does not hold" not in text


def test_notebook_has_the_rules_the_answer_and_the_plot(tmp_path: Path) -> None:
    """build_notebook from model files (no mpirun): the variants table, the rule, the jump section."""
    matrix = MATRICES["assignment"]
    settings = Settings(matrix, str(tmp_path), 3, DURATION, 1.0, 1, "clockbench", "2026-11-28 00:00:00 UTC")
    trials = []
    for k, (v, rates) in enumerate([(matrix.variants[0], RATES), (matrix.variants[1], (4, 5, 6))], 1):
        path = write_run(tmp_path / f"trial{k}.h5", from_replay(replay(rates, seed=k, duration_s=DURATION)))
        run = open_run(path)
        trials.append(Trial(k, v, k, str(path), ["clockbench"], verified=verify(run),
                            analysis=analyse(run, histograms=False), jumps=jump_profiles(run)))
    md = notebook.build_notebook(settings, trials).to_markdown()
    assert "| theory over all draws: growing queues (rho > 1) | critical (rho = 1 within noise) |" in md
    assert "| 9.7% | 2.8% |" in md  # variant A: the strict mean field, and rho = 1 apart
    assert "within noise of rho = 1 over the run's T model seconds" in md
    section = md.split("## Did the jumps grow as the queue backed up?", 1)[1].split("\n## ", 1)[0]
    assert "The claim does not hold on 1 of 1 machines whose queue backed up" in section
    assert "| trial 1 | m1 | 1 |" in section and "| trial 2 |" not in section  # B: no queue backed up
    assert "![" in section and "jumps.png" in section
