"""Measured against predicted: the theory computed from a run's parameters, compared with what
the run measured, each with a stated tolerance and a pass/fail mark. What each check predicts,
its noise and its tolerance: docs/theory.md, "The checks"; how often each fails a run that follows
the model: "Calibration" (calibration.json).

Tolerance = SIGMAS standard deviations of the measured quantity's noise over a run of T model
seconds + MODEL_ALLOWANCE of the prediction, plus per check: one count (rho), LATTICE_ALLOWANCE
messages (queue_mean), JUMP_ALLOWANCE of the predicted excess jump (jump_mean). Predictions are at
the run's length from empty queues; the mean field's long-run value is kept beside each as
mean_field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

from clockbench.theory.finite import QueueDiffusion, diffusion
from clockbench.theory.fluctuations import count_noise
from clockbench.measure.metrics import MachineMetrics, RunMetrics
from clockbench.theory.clocks import JumpPrediction, jump_prediction, paces
from clockbench.theory.mean_field import Prediction, adjacency, predict
from clockbench.theory.ring import mean_latency
from clockbench.theory.transient import StartUp, start_up

SIGMAS = 3.0
MODEL_ALLOWANCE = 0.05
# Checks need enough events to mean anything: below this many expected counts, skip them.
MIN_COUNT = 5
# Messages: how far the lattice correction of the recorded queue may be off (finite.py).
LATTICE_ALLOWANCE = 0.5
# jump_mean: the share of the predicted excess jump (mean - 1) the clock theory may be off by.
JUMP_ALLOWANCE = 0.2

TOLERANCE_TEXT = (f"tolerance = {SIGMAS:g} sigma + {MODEL_ALLOWANCE:.0%} of the prediction; sigma of lambda_hz and "
                  "rho: the run's count noise (fluctuations.py: the senders' free ticks, a reflected walk's, "
                  "and the start-up's), + 1 count for rho; of queue_mean: the random walk's, "
                  f"+ {LATTICE_ALLOWANCE:g} message; of jump_mean: the mean jump's noise given the run's receive "
                  f"count, + {JUMP_ALLOWANCE:.0%} of the predicted excess jump; every prediction from the "
                  "parameters alone (rates, p_internal, topology, phases, latency, run length)")
# Why the same theory serves every phase mode and latency (docs/theory.md, "Phases and latency").
MODEL_TIME_TEXT = ("The mean-field theory already covers phases and latency: they shift when messages arrive, "
                   "not how many arrive per model second, so the arrival rates it predicts do not change.")


@dataclass
class Check:
    machine: int
    quantity: str   # lambda_hz, rho, dQ/dt, queue_mean, jump_mean
    measured: float
    predicted: float
    tolerance: float
    mean_field: float = math.nan  # the mean-field (T -> infinity) value, where it differs

    @property
    def ok(self) -> bool:
        return abs(self.measured - self.predicted) <= self.tolerance


def theory_for(metrics: RunMetrics, adjacency: np.ndarray) -> Prediction:
    """The theory from the run's parameters: its rate_hz, the nominal rates, exact in model time
    (docs/model.md); a flat-out run stores its achieved rates there, the only rates it has
    (docs/schema.md). Never from a measured clock."""
    nominal = np.array([m.rate_hz for m in metrics.machines], dtype=float)
    rates = np.where(np.isfinite(nominal) & (nominal > 0), nominal, metrics.achieved)
    return predict(rates, metrics.p_internal, metrics.topology, adj=adjacency)


def compare(metrics: RunMetrics, pred: Prediction, adj: Optional[np.ndarray] = None) -> List[Check]:
    """The checks of every machine, in machine order (adj: the run's peers, else the topology's)."""
    t = metrics.end_s
    checks: List[Check] = []
    adj = adjacency(pred.topology, pred.n) if adj is None else adj
    queues = diffusion(pred, adj)
    horizon = max(t, 1e-9)  # a run stopped before any time passed has no queue checks anyway
    slopes, means = queues.queue_slope(horizon), queues.queue_mean(horizon)
    phases = [m.phase_s for m in metrics.machines]
    start = start_up(pred, adj, phases, t, mean_latency(metrics.latency))
    jumps = _jumps(metrics, pred, adj, queues, start)
    noise = count_noise(pred, adj, queues, t, start)
    for i, m in enumerate(metrics.machines):
        lam = float(pred.arrival[i])
        if lam * t >= MIN_COUNT:
            sent = float(start.sent[i]) / t
            checks.append(Check(i, "lambda_hz", m.arrival_hz, sent,
                                _tol(sent, math.sqrt(max(noise.arrival_var[i], 1.0)) / t), lam))
        if m.ticks >= MIN_COUNT:
            checks.append(_rho_check(i, m.utilisation, m.ticks, float(start.free[i]), float(noise.free_var[i]),
                                     float(pred.utilisation[i])))
        if lam * t >= MIN_COUNT:
            g, mf = float(slopes[i]), float(pred.growth[i])
            checks.append(Check(i, "dQ/dt", m.queue_slope, g, _tol(abs(g), math.sqrt(lam / t)), mf))
            q = float(means[i])
            checks.append(Check(i, "queue_mean", m.queue_mean, q,
                                _tol(q, _queue_mean_sd(queues, i, t)) + LATTICE_ALLOWANCE, mf * t / 2))
        receives = int(m.kind_counts[3])
        if receives >= MIN_COUNT and math.isfinite(m.jump_mean):
            checks.append(_jump_check(i, m, jumps))
    return checks


def _jumps(metrics: RunMetrics, pred: Prediction, adj: np.ndarray, queues: QueueDiffusion,
           start: StartUp) -> JumpPrediction:
    """Mean receive jumps (clocks.py): paces, deficits and the start-up, given the run's receives."""
    ticks = np.array([m.ticks for m in metrics.machines], dtype=float)
    latency = mean_latency(metrics.latency)
    clocks = paces(pred, adj, [m.phase_s for m in metrics.machines], latency)
    taken = np.array([m.kind_counts[3] for m in metrics.machines], dtype=float)
    return jump_prediction(pred, adj, clocks, queues, metrics.end_s, ticks, start.free, taken, latency)


def _jump_check(i: int, m: MachineMetrics, jumps: JumpPrediction) -> Check:
    """jump_mean against clocks.py's prediction given the run's receive count, 3 sigma of its
    noise (at least a unit jump's Poisson noise), plus JUMP_ALLOWANCE of the predicted excess
    over a unit jump: what the clock theory leaves out (rivals slower than a pace setter, the
    sawtooth of a deficit along a chain), sized by the calibration (tests/analysis/calibrate.py)."""
    mean, sd = float(jumps.mean[i]), max(float(jumps.sd[i]), math.sqrt(1.0 / m.kind_counts[3]))
    return Check(i, "jump_mean", m.jump_mean, mean, _tol(mean, sd) + JUMP_ALLOWANCE * max(mean - 1.0, 0.0), mean)


def _rho_check(i: int, measured: float, ticks: int, free: float, free_var: float, mean_field: float) -> Check:
    """rho = 1 - free ticks / ticks, the free ticks expected with the start-up transient
    (transient.py): a machine unstable in the long run still draws on its first few ticks, and
    one the mean field leaves without arrivals gets a few messages from them. Their noise:
    fluctuations.py's, plus one count for the lattice."""
    free = min(max(free, 0.0), float(ticks))
    rho = 1.0 - free / ticks
    tol = (SIGMAS * math.sqrt(max(free_var, 1.0)) + 1.0) / ticks + MODEL_ALLOWANCE * rho
    return Check(i, "rho", measured, rho, tol, mean_field)


def _queue_mean_sd(queues: QueueDiffusion, i: int, t: float) -> float:
    """Noise of a queue's time average over [0, t]: the smaller of the free walk's v t / 3 and a settled
    stable queue's v^3 / (mu^4 t) (docs/theory.md, "The checks")."""
    mu, v = float(queues.drift[i]), float(queues.variance[i])
    settled = v ** 3 / (mu ** 4 * t) if mu < 0 else math.inf  # only a stable queue settles
    return math.sqrt(min(v * t / 3, settled))


def _tol(predicted: float, sd: float) -> float:
    return SIGMAS * sd + MODEL_ALLOWANCE * abs(predicted)


def tally(checks: List[Check]) -> Tuple[int, int]:
    """(passed, total)."""
    return sum(c.ok for c in checks), len(checks)
