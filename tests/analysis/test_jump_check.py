"""The jump_mean check (clockbench.compare, clockbench.clocks) against runs of
tests/analysis/replay.py: how often it fails a correct run, on the two configurations where the
noise of slow machines that receive rarely is hardest to predict (the (1,2,3) machine of rate 1;
the ring's machines of rates 1 and 2 beside it)."""

from __future__ import annotations

import pytest

from calibrate import failure_rates

RUNS = 200
# A rate of 1 % gives 2 failures in RUNS runs on average and 7 or more in 0.5 % of samples; the
# unconditioned delta method (deficit from the time since last heard only) failed 7 and 9 here.
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
