"""Measured against predicted: the theory computed from a run's achieved rates, compared with what
the run measured, each with a stated tolerance and a pass/fail mark.

Tolerances: counts of messages over a run of T model seconds are sums of Bernoulli trials, with
variance at most their mean, so a rate measured as count / T has standard deviation at most
sqrt(rate / T). We allow 3 of those (a correct model fails a given check about 0.3% of the
time) plus a model allowance of 5% of the prediction for what the mean-field theory leaves out
(queues start empty; the long-run limit is reached only after a transient).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Tuple

import numpy as np

from .metrics import RunMetrics
from .theory import Prediction, mean_jump, predict

SIGMAS = 3.0
MODEL_ALLOWANCE = 0.05
# Checks need enough events to mean anything: below this many expected counts, skip them.
MIN_COUNT = 5

TOLERANCE_TEXT = (f"tolerance = {SIGMAS:g} sigma of the counts' noise (sigma of a rate <= sqrt(rate / T)) "
                  f"+ {MODEL_ALLOWANCE:.0%} of the prediction")


@dataclass
class Check:
    machine: int
    quantity: str   # lambda_hz, rho, dQ/dt, jump_mean
    measured: float
    predicted: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return abs(self.measured - self.predicted) <= self.tolerance


def theory_for(metrics: RunMetrics, adjacency: np.ndarray) -> Prediction:
    """The theory from the achieved rates (SPEC §3: never from the nominal ones)."""
    rates = np.where(np.isfinite(metrics.achieved) & (metrics.achieved > 0), metrics.achieved,
                     [m.rate_hz for m in metrics.machines])
    return predict(rates, metrics.p_internal, metrics.topology, adj=adjacency)


def compare(metrics: RunMetrics, pred: Prediction) -> List[Check]:
    """The checks of every machine, in machine order."""
    t = metrics.end_s
    checks: List[Check] = []
    jumps = mean_jump(np.array([m.clock_slope for m in metrics.machines]), pred)
    for i, m in enumerate(metrics.machines):
        lam = float(pred.arrival[i])
        if lam * t >= MIN_COUNT:
            checks.append(Check(i, "lambda_hz", m.arrival_hz, lam, _tol(lam, math.sqrt(lam / t))))
        rho = float(pred.utilisation[i])
        if m.ticks >= MIN_COUNT:
            sd = math.sqrt(max(rho * (1 - rho), 1.0 / m.ticks) / m.ticks)
            checks.append(Check(i, "rho", m.utilisation, rho, _tol(rho, sd)))
        if lam * t >= MIN_COUNT:
            g = float(pred.growth[i])
            checks.append(Check(i, "dQ/dt", m.queue_slope, g, _tol(abs(g), math.sqrt(lam / t))))
        receives = int(m.kind_counts[3])
        if receives >= MIN_COUNT and math.isfinite(m.jump_mean):
            sd = math.sqrt(max(m.jump_mean, 1.0) / receives)
            checks.append(Check(i, "jump_mean", m.jump_mean, float(jumps[i]), _tol(float(jumps[i]), sd)))
    return checks


def _tol(predicted: float, sd: float) -> float:
    return SIGMAS * sd + MODEL_ALLOWANCE * abs(predicted)


def tally(checks: List[Check]) -> Tuple[int, int]:
    """(passed, total)."""
    return sum(c.ok for c in checks), len(checks)
