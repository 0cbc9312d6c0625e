"""The jump_mean check (clockbench.compare, clockbench.clocks) against runs of
tests/analysis/replay.py: how often it fails a correct run, on the two configurations where the
noise of slow machines that receive rarely is hardest to predict (the (1,2,3) machine of rate 1;
the ring's machines of rates 1 and 2 beside it); and the mean jump with a latency."""

from __future__ import annotations

import numpy as np
import pytest

from calibrate import checks_of, failure_rates
from replay import replay

RUNS = 200
# A rate of 1 % gives 2 failures in RUNS runs on average and 7 or more in 0.5 % of samples; what
# the unconditioned delta method failed: docs/measurements.md, "False failures of earlier checks".
MOST_FAILURES = 6

CASES = [
    ((1.0, 2.0, 3.0), "full"),
    ((6.0, 4.0, 5.0, 6.0, 4.0, 5.0, 6.0, 2.0, 1.0, 2.0), "ring"),
]


@pytest.mark.parametrize("rates,topology", CASES)
def test_jump_mean_false_failures_stay_near_one_percent(rates, topology: str) -> None:
    """RUNS replayed runs of 60 s at p = 0.7 (seeds unused elsewhere): every machine's jump_mean
    check fails at most MOST_FAILURES of them."""
    rates_failed = failure_rates(rates, runs=RUNS, duration=60.0, first_seed=2001, topology=topology)
    jumps = {k: v for k, v in rates_failed.items() if k[0] == "jump_mean"}
    worst = max(jumps, key=jumps.get)
    assert jumps[worst] * RUNS <= MOST_FAILURES, (worst, jumps)


LATENCY_CASES = [((1.0, 2.0, 3.0), "1.0"), ((1.0, 2.0, 3.0), "exp:1.0"), ((2.0, 4.0, 6.0), "uniform:0.5,1.5")]


@pytest.mark.parametrize("rates,latency", LATENCY_CASES)
def test_mean_jump_with_latency_matches_replay(rates, latency: str) -> None:
    """A message carries its sender's clock from a latency ago, so every receiver's deficit grows by
    its pace times the mean latency (clocks.py). The predicted mean jump of every machine, averaged
    over 80 replayed runs of 60 s, within 3 standard errors + 1 % of the simulated one (without the
    latency's term the rate-1 machine of (1,2,3) at latency 1.0 is 0.146 off, 4.4 standard errors)."""
    measured, predicted = [], []
    for seed in range(7001, 7081):
        checks = {c.machine: c for c in checks_of(replay(list(rates), seed, 60.0, latency=latency))
                  if c.quantity == "jump_mean"}
        measured.append([checks[i].measured if i in checks else np.nan for i in range(len(rates))])
        predicted.append([checks[i].predicted if i in checks else np.nan for i in range(len(rates))])
    measured, predicted = np.array(measured), np.array(predicted)
    mean, se = np.nanmean(measured, axis=0), np.nanstd(measured, axis=0) / np.sqrt(len(measured))
    expected = np.nanmean(predicted, axis=0)
    assert np.all(np.abs(expected - mean) <= 3 * se + 0.01 * mean), (mean, se, expected)
