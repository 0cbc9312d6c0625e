"""How much a run's counts vary: each machine's free ticks and arrivals over a run of T seconds, the
noise behind the `lambda_hz` and `rho` checks of compare.py. Derivation: docs/theory.md, "Count
noise".

Symbols: I_i the free ticks, (1 - kappa_i) I_i(T) the running maximum M of a Brownian motion of
drift -mu_i and variance rate v_i (finite.py), so E[I] = E[M] / (1 - kappa), Var(I) = Var(M) /
(1 - kappa)^2; kappa_i = -[(I + C^T P)^-1 c_i]_i the loop gain over a run ("The loop gain over a
run"); Var(A_i) = sum_j c_ji (1 - c_ji) E[I_j] + (sum_j c_ji sd(I_j))^2 ("Arrivals"); E[I_j] from
the start-up transient (transient.py), whose burst of an unstable machine's free ticks bounds
Var(I) from below.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clockbench.theory.finite import QueueDiffusion, queue_tail
from clockbench.theory.mean_field import Prediction, send_matrix
from clockbench.theory.transient import StartUp

# Points of the integral over the maximum's distribution, and how far into its tail it reaches.
_POINTS = 400
_TAIL_SDS = 12.0


@dataclass
class CountNoise:
    """Per machine, over the run: variances of its free-tick and arrival counts."""

    free_var: np.ndarray
    arrival_var: np.ndarray


def loop_gain(pred: Prediction, adj: np.ndarray) -> np.ndarray:
    """kappa_i of every machine (docs/theory.md, "The loop gain over a run"), clipped to [0, 0.95]
    (a gain near 1 would make 1 / (1 - kappa) meaningless; it does not happen in this model's
    range)."""
    c = send_matrix(adj, pred.p_internal)
    n = pred.n
    kappa = np.zeros(n)
    for i in range(n):
        stable = pred.stable.copy()
        stable[i] = False
        d = np.linalg.solve(np.eye(n) + c.T * stable, c[i])
        kappa[i] = -d[i]
    return np.clip(kappa, 0.0, 0.95)


def running_max_moments(mu: float, v: float, t: float):
    """(E[M], Var(M)) of M = max over [0, t] of a Brownian motion from 0 of drift -mu and
    variance rate v: integrals of its tail P(M > y) = queue_tail(y, -mu, v, t)."""
    if v <= 0 or t <= 0:
        m = max(-mu, 0.0) * t
        return m, 0.0
    top = max(-mu, 0.0) * t + _TAIL_SDS * np.sqrt(v * t) + _TAIL_SDS * v / (2 * max(abs(mu), 1e-12)) \
        if mu > 0 else max(-mu, 0.0) * t + _TAIL_SDS * np.sqrt(v * t)
    y = np.linspace(0.0, float(top), _POINTS)
    tail = queue_tail(y, -mu, v, t)
    mean = float(np.trapz(tail, y))
    second = float(np.trapz(2 * y * tail, y))
    return mean, max(second - mean * mean, 0.0)


def count_noise(pred: Prediction, adj: np.ndarray, queues: QueueDiffusion, t: float, start: StartUp) -> CountNoise:
    """The counts' variances for a run of t model seconds (docs/theory.md, "Count noise")."""
    c = send_matrix(adj, pred.p_internal)
    kappa = loop_gain(pred, adj)
    free_var = np.zeros(pred.n)
    for i in range(pred.n):
        var = running_max_moments(float(queues.drift[i]), float(queues.variance[i]), t)[1]
        free_var[i] = var / (1 - kappa[i]) ** 2
    free_var = np.maximum(free_var, np.where(pred.stable, 0.0, start.free ** 2))  # the start-up's burst
    arrival_var = (c * (1 - c)).T @ start.free + (c.T @ np.sqrt(free_var)) ** 2
    return CountNoise(free_var=free_var, arrival_var=arrival_var)
