"""How much a run's counts vary: each machine's free ticks and arrivals over a run of T seconds,
the noise behind the `lambda_hz` and `rho` checks of compare.py.

Free ticks. A machine's queue is Q = X0 + (1 - kappa) I (finite.py): X0 its arrivals while busy
less its ticks, a random walk of drift mu and variance rate v, and I its free ticks (each free
tick serves nothing, and its sends take kappa arrivals away from it through its peers). Q is X0
reflected at 0, so (1 - kappa) I(T) = max over s <= T of -X0(s): the running maximum of a
Brownian motion of drift -mu, which has the law of a queue from empty of drift -mu (finite.py's
queue_tail). So, with M that maximum,

    E[I] = E[M] / (1 - kappa),    Var(I) = Var(M) / (1 - kappa)^2.

A stable machine (mu < 0) is free |mu| T / (1 - kappa) times, give or take sqrt(v T) / (1 - kappa);
a critical one (mu = 0) sqrt(2 v T / pi) / (1 - kappa), give or take sqrt((1 - 2 / pi) v T) /
(1 - kappa), far more than binomial; an unstable one a few times at the start (transient.py).

The loop gain kappa_i over a whole run: a unit of sends from i, spread over its peers as its row
c_i of C, makes every stable peer busier, so it sends less, and so on: the change of the arrivals d
solves d = c_i - C^T P d (P: the stable machines other than i), d = (I + C^T P)^-1 c_i, and
kappa_i = -d_i. (finite.py's TickChain uses a short-term gain instead, the one-hop return through
idle peers within a short queue's busy spell; over a run every echo has time to come back.)

Arrivals. Machine i receives from sender j a binomial thinning, with probability c_ji, of j's
free ticks: Var(A_i) = sum_j c_ji (1 - c_ji) E[I_j] + Var(sum_j c_ji I_j). The senders' free ticks
are correlated (a send-all of one machine makes two of its peers busy together), so the second
term is bounded by taking them as fully correlated: (sum_j c_ji sd(I_j))^2; as independent, the
variance came out about 20 % below the simulated one on a ring of 10. Where a sender is near
critical, this term dominates: the arrivals then vary several times more than a Poisson count.

The expected counts come from the start-up computation (transient.py), which follows every
queue's distribution from empty through the run. It also gives a machine unstable in the long run
a burst of free ticks at the start, whose variance is about its mean squared: the larger of that
and the walk's is used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .finite import QueueDiffusion, queue_tail
from .theory import Prediction, send_matrix
from .transient import StartUp

# Points of the integral over the maximum's distribution, and how far into its tail it reaches.
_POINTS = 400
_TAIL_SDS = 12.0


@dataclass
class CountNoise:
    """Per machine, over the run: variances of its free-tick and arrival counts."""

    free_var: np.ndarray
    arrival_var: np.ndarray


def loop_gain(pred: Prediction, adj: np.ndarray) -> np.ndarray:
    """kappa_i of every machine (module docstring), clipped to [0, 0.95] (a gain near 1 would make
    1 / (1 - kappa) meaningless; it does not happen in this model's range)."""
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
    """The module docstring's variances for a run of t model seconds."""
    c = send_matrix(adj, pred.p_internal)
    kappa = loop_gain(pred, adj)
    free_var = np.zeros(pred.n)
    for i in range(pred.n):
        var = running_max_moments(float(queues.drift[i]), float(queues.variance[i]), t)[1]
        free_var[i] = var / (1 - kappa[i]) ** 2
    free_var = np.maximum(free_var, np.where(pred.stable, 0.0, start.free ** 2))  # the start-up's burst
    arrival_var = (c * (1 - c)).T @ start.free + (c.T @ np.sqrt(free_var)) ** 2
    return CountNoise(free_var=free_var, arrival_var=arrival_var)
