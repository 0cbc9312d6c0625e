"""The start-up transient (clockbench.transient) and the rho check built on it, against runs of
tests/analysis/replay.py (the exact simulator of docs/model.md, so phases and ties are the model's).

Rates (1,1,6), p = 0.7: the mean field says the rate-6 machine receives nothing (both slow queues
grow, so they never send), yet their first free ticks send it about one message per run."""

from __future__ import annotations

import numpy as np
import pytest

from calibrate import checks_of, failure_rates
from replay import replay

from clockbench.theory.mean_field import adjacency, predict
from clockbench.theory.transient import start_up

RATES = (1.0, 1.0, 6.0)


@pytest.mark.parametrize("phase", ["random", "zero"])
def test_expected_start_up_arrivals_match_replay(phase: str) -> None:
    """Mean arrivals over 150 runs of 30 s, within 4 standard errors (the mean field says 0)."""
    pred, adj = predict(RATES), adjacency("full", 3)
    sim, expected = [], []
    for seed in range(1, 151):
        res = replay(RATES, seed, 30.0, phase=phase)
        sim.append(np.array(res["sent"]).sum(axis=0)[2])
        expected.append(start_up(pred, adj, res["phase_s"], 30.0).arrivals[2])
    se = np.std(sim) / np.sqrt(len(sim))
    assert np.mean(sim) > 0.5 and pred.arrival[2] == 0.0
    assert abs(np.mean(sim) - np.mean(expected)) <= 4 * se, (np.mean(sim), se, np.mean(expected))


def test_rho_check_false_failures_stay_near_one_percent() -> None:
    """200 replayed runs of 20 s: every check fails at most 6 of them (a rate of 1 % gives 2 on
    average, 7 or more in 0.5 % of samples; the old rho check: docs/measurements.md)."""
    rates = failure_rates(RATES, runs=200, duration=20.0, first_seed=1000)
    worst = max(rates, key=rates.get)
    assert rates[worst] * 200 <= 6, (worst, rates)



def test_a_stable_machines_free_ticks_vary_as_its_arrivals() -> None:
    """Rates (1,2,3): the rate-1 machine is stable at rho 0.82. Its free ticks are ticks - arrivals
    + the change of a small queue, so they vary as its arrivals do, not binomially (the binomial
    spread is about half of it). The spread the rho check assumes must match the spread over 200
    replayed 60 s runs: not below it (false failures), nor far above it (a check that cannot fail)."""
    free, assumed = [], []
    for seed in range(3000, 3200):
        res = replay((1.0, 2.0, 3.0), seed, 60.0)
        free.append(int(np.count_nonzero(np.asarray(res["events"][0]["kind"]) != 3)))
        check = next(c for c in checks_of(res) if c.quantity == "rho" and c.machine == 0)
        ticks = len(res["events"][0]["kind"])
        # tolerance = (3 sd + 1 count) / ticks + 5 % of the prediction (compare.TOLERANCE_TEXT)
        assumed.append(((check.tolerance - 0.05 * check.predicted) * ticks - 1.0) / 3.0)
    spread = float(np.std(free))
    assert 0.9 * spread <= float(np.median(assumed)) <= 1.4 * spread, (spread, np.median(assumed))
