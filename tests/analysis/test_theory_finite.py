"""The finite-T theory (clockbench.finite, scaling.LagModel) against simulated means over many seeds.

Family: three machines, full topology, p = 0.7, rates (r0, 5, 6) with r0 chosen so that machine 0
has rho = lambda_0 / r0 from 0.8 to 1.2 (lambda_0 = 11/6 while it is busy). Each rho is RUNS
independent runs of 300 model seconds (tests/analysis/simulate_batch.py, fixed seeds), read at
T = 10, 30, 100 and 300 s. Quantities: the queue recorded after machine 0's last tick before T,
its mean over its ticks before T (metrics.queue_mean), and its lag behind the fastest clock.

Tolerance (one rule): |simulated mean - prediction| <= K standard errors of the simulated mean
+ REL of the prediction + ABS (messages; LAG_ABS clock units for the lag, which has a bounded
part of a few jumps the queue model leaves out). The new predictions must pass every cell; the
mean-field ones (Q = growth T, mean growth T / 2, lag g T) must fail the cells near rho = 1.
print(render(validation_table())) shows the whole table.
"""

from __future__ import annotations

import functools
from typing import Dict, List, Tuple

import numpy as np
import pytest

from simulate import simulate_model
from simulate_batch import Batch, simulate_batch

from clockbench.theory.finite import diffusion, expected_queue, queue_tail
from clockbench.theory.clocks import paces
from clockbench.theory.lag import lag_growth, lag_model
from clockbench.theory.mean_field import adjacency, predict

RHOS = (0.8, 0.9, 1.0, 1.1, 1.2)
HORIZONS = (10.0, 30.0, 100.0, 300.0)
RUNS = 400
K, REL, ABS, LAG_ABS = 4.0, 0.05, 0.15, 2.0
OTHERS = (5.0, 6.0)
PHASES = (0.0, 0.0, 0.0)  # simulate_batch ticks every machine at t = 0


def rate_for(rho: float) -> float:
    """r0 with lambda_0 / r0 = rho in the mean field (bisection: lambda_0 / r0 falls as r0 grows)."""
    lo, hi = 0.3, 5.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if predict((mid, *OTHERS)).arrival[0] / mid > rho else (lo, mid)
    return (lo + hi) / 2


@functools.lru_cache(maxsize=None)
def batch(rho: float) -> Batch:
    return simulate_batch((rate_for(rho), *OTHERS), 0.7, "full", max(HORIZONS), RUNS, seed=int(rho * 100))


Row = Tuple[str, float, float, float, float, float, float]  # quantity, rho, T, sim, se, old, new


@functools.lru_cache(maxsize=None)
def validation_table() -> Tuple[Row, ...]:
    rows: List[Row] = []
    adj = adjacency("full", 3)
    for rho in RHOS:
        b = batch(rho)
        pred = predict(b.rates)
        paced = paces(pred, adj, PHASES)
        lags = lag_model(pred, adj, paced)
        for t in HORIZONS:
            clocks = b.clocks_at(t)
            mf_lag = lag_growth(float(paced.slope.max()), paced.slope)[0] * t
            growth = float(pred.growth[0])
            for name, sim, old, new in (
                    ("queue(T)", b.queue_at(0, t), growth * t, lags.queues.queue(t)[0]),
                    ("queue_mean", b.queue_mean(0, t), growth * t / 2, lags.queues.queue_mean(t)[0]),
                    ("lag(T)", clocks.max(axis=0) - clocks[0], mf_lag, lags.lag(t)[0])):
                rows.append((name, rho, t, float(sim.mean()), float(sim.std() / np.sqrt(RUNS)),
                             float(old), float(new)))
    return tuple(rows)


def tolerance(row: Row, prediction: float) -> float:
    name, _, _, _, se, _, _ = row
    return K * se + REL * abs(prediction) + (LAG_ABS if name == "lag(T)" else ABS)


def render(rows) -> str:
    lines = [f"{'quantity':>10} {'rho':>4} {'T':>5} {'sim':>9} {'±se':>6} {'old':>9} {'new':>9} {'tol':>6}"]
    lines += [f"{r[0]:>10} {r[1]:>4} {r[2]:>5g} {r[3]:>9.3f} {r[4]:>6.3f} {r[5]:>9.3f} {r[6]:>9.3f} "
              f"{tolerance(r, r[6]):>6.3f}" for r in rows]
    return "\n".join(lines)


def test_finite_predictions_match_simulation() -> None:
    rows = validation_table()
    bad = [r for r in rows if abs(r[3] - r[6]) > tolerance(r, r[6])]
    assert not bad, "new prediction off:\n" + render(bad) + "\nall:\n" + render(rows)


def test_mean_field_misses_near_critical() -> None:
    """The old predictions fail every cell with 0.9 <= rho <= 1.0 at T >= 30 (and queue and lag
    at rho = 1 at T = 10 too): the test would not tell the two theories apart otherwise."""
    rows = validation_table()
    must_fail = [r for r in rows if (0.9 <= r[1] <= 1.0 and r[2] >= 30) or (r[1] == 1.0 and r[0] != "queue_mean")]
    passed = [r for r in must_fail if abs(r[3] - r[5]) <= tolerance(r, r[5])]
    assert not passed, "mean field passes where it should not:\n" + render(passed)
    assert len(must_fail) == 20


def test_other_configuration() -> None:
    """Not tuned to one family: four machines at p = 0.5, rates (r0, 2, 3, 4), rho = 1 for r0."""
    others, p, adj = (2.0, 3.0, 4.0), 0.5, adjacency("full", 4)
    lam_busy = predict((1e-6, *others), p).arrival[0]  # a machine that never sends
    rates = (lam_busy, *others)
    b = simulate_batch(rates, p, "full", 200.0, RUNS, seed=7)
    q = diffusion(predict(rates, p), adj)
    for t in (20.0, 200.0):
        sim = b.queue_at(0, t)
        se = sim.std() / np.sqrt(RUNS)
        new = q.queue(t)[0]
        assert abs(sim.mean() - new) <= K * se + REL * new + ABS, (t, sim.mean(), se, new)


# ---------------------------------------------------------------- the formulas themselves

def test_expected_queue_limits() -> None:
    v = 1.3
    t = np.array([1e4])
    np.testing.assert_allclose(expected_queue(0.5, v, 1e4), 0.5 * 1e4 + v / 1.0, rtol=1e-9)
    np.testing.assert_allclose(expected_queue(-0.5, v, 1e6), v / 1.0, rtol=1e-6)
    np.testing.assert_allclose(expected_queue(0.0, v, t), np.sqrt(2 * v * t / np.pi), rtol=1e-12)
    np.testing.assert_allclose(expected_queue(1e-12, v, t), np.sqrt(2 * v * t / np.pi), rtol=1e-9)
    np.testing.assert_allclose(expected_queue(0.3, 0.0, 10.0), 3.0)


@pytest.mark.parametrize("mu", [-0.4, 0.0, 0.2, 1.5])
def test_tail_integrates_to_the_mean(mu: float) -> None:
    """E[Q] = integral of P(Q > y): the two formulas of docs/theory.md, "Expected queue from empty",
    agree."""
    v, t = 1.3, 50.0
    y = np.linspace(0.0, max(mu, 0) * t + 40 * np.sqrt(v * t), 200_001)
    assert np.trapz(queue_tail(y, mu, v, t), y) == pytest.approx(float(expected_queue(mu, v, t)), rel=1e-5)


def test_batch_simulator_replays_simulate_model() -> None:
    """One run of the batch simulator uses the same random numbers as simulate_model: the same
    clocks; its queue is read after the last tick, simulate_model's also holds later arrivals."""
    for rates, p, topology in [((1, 5, 6), 0.7, "full"), ((1, 4, 2, 6, 3), 0.5, "ring")]:
        ref = simulate_model(rates, p, topology, 200.0, seed=3)
        b = simulate_batch(rates, p, topology, 200.0, 1, seed=3)
        assert b.clocks_at(201.0)[:, 0].tolist() == [m.clock_end for m in ref.machines]
        for i, m in enumerate(ref.machines):
            assert 0 <= m.queue_end - b.queue[i][-1, 0] <= 3
