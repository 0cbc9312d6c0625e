"""Finite-horizon queue theory: what a queue near rho = 1 does over a run of T model seconds.

The mean-field theory (theory.py) gives each queue a growth rate: lambda_i - r_i when unstable,
0 when stable. That is the limit T -> infinity. Near rho_i = 1 the drift is small and the
randomness of the arrivals dominates for any practical T: at rho = 1 the queue is a reflected
random walk whose mean grows like sqrt(T), where the mean field says 0. This module gives the
expected queue, lag and drift at finite T.

The queue as a reflected process. While machine i is busy it receives once per tick and sends
nothing, so its queue changes by X(t) = A(t) - r_i t, A(t) the arrivals. Each idle tick adds one
to a counter I(t) that keeps the queue at 0: Q = X + I, with I growing only when Q = 0. Idle
ticks send messages, which keep the peers busy a little longer, so the peers send a little less
back: each idle tick removes kappa arrivals from i (kappa > 0, the loop gain through the peers),
Q = X0 - kappa I + I with X0 the arrivals process of a machine that never sends. Since
(1 - kappa) I still grows only at Q = 0, Q is the reflection of X0 at zero, whatever kappa is:

    Q(t) = X0(t) - min_{s <= t} X0(s).

So the drift that matters is mu_i = lambda0_i - r_i, lambda0_i the arrival rate the fixed point
gives when i is made silent (its row of C set to 0): for an unstable machine this is the
mean-field lambda_i - r_i; for a stable one it is (1 - kappa) (lambda_i - r_i), a little closer
to zero than the mean-field slack.

The variance rate v_i of X0 (messages^2 per model second). The service is deterministic (one per
tick), so all of it comes from the arrivals. Each free tick of sender j draws a vector of sends
e_j (nothing with probability p, one peer with 2(1-p)/3, all peers with (1-p)/3): mean the row
c_j of C, covariance S_j = E[e e^T] - c_j c_j^T, E[e_k e_l] = (1-p)/3 for two different peers.
With phi_j the free ticks of j per second, these draws add noise w of covariance rate
W = sum_j phi_j S_j. The free ticks fluctuate as well: a stable sender's ticks are receives or
free, and its receives follow its arrivals, so its free ticks move by minus its arrival noise.
Linearised, the arrival noise a solves a = w - C^T P a (P: the stable senders other than i), so
a = (I + C^T P)^-1 w and v_i = [(I + C^T P)^-1 W (I + C^T P)^-T]_ii.

Expected queue from empty. By time reversal, X0(t) - min X0 has the law of the running maximum
M(t) = max_{s <= t} X0(s), and for Brownian motion of drift mu and variance rate v (sigma^2 = v)
the reflection principle with Girsanov's exponential factor gives

    P(M(t) > y) = Phi((mu t - y) / (sigma sqrt t)) + exp(2 mu y / v) Phi((-y - mu t) / (sigma sqrt t)).

Integrating over y > 0, with a = mu sqrt(t) / sigma:

    E[Q(t)] = sigma sqrt(t) [a Phi(a) + phi(a) + erf(a / sqrt 2) / (2 a)].

Limits: a -> +inf gives mu t + v / (2 mu) (the mean-field growth plus a constant); a = 0 gives
sigma sqrt(t) sqrt(2 / pi); a -> -inf gives v / (2 |mu|), the stationary mean of the reflected
motion (bounded). Means over [0, T] and least-squares slopes of E[Q(t)] are integrals of this,
done by Gauss-Legendre quadrature in u = sqrt(t / T), in which E[Q] is smooth.

The lattice. clockbench records the queue just after a tick's service, and the queue moves in
whole messages: W' = max(W + Y, 0) per tick, Y = arrivals in the tick - 1 >= -1. Squaring,
W'^2 = (W + Y)^2 - U^2 with U = (W + Y)^- in {0, 1} an idle tick, and in the steady state
E[U] = -E[Y], so E[W] = Var(Y) / (2 |E Y|) - (1 - |E Y|) / 2: the reflected motion's mean less
half a message (less |mu| / r of it). That offset sets in within a few ticks, so the expected
recorded queue is max(0, E[Q(t)] - (1 - |mu| / r) / 2); it matters only where the queue is short.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .theory import Prediction, arrivals, send_matrix

# Gauss-Legendre nodes on [0, 1] for the integrals over the run; E[Q] is smooth in sqrt(t).
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(48)
_U, _W = (_NODES + 1) / 2, _WEIGHTS / 2
_SQRT2 = math.sqrt(2.0)
_ERF = np.vectorize(math.erf, otypes=[float])


def normal_cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + _ERF(np.asarray(x, dtype=float) / _SQRT2))


def normal_pdf(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


@dataclass
class QueueDiffusion:
    """Per machine, the queue's motion while busy: X0(t) has drift mu and variance rate v."""

    rates: np.ndarray         # r_i, ticks per model second
    drift: np.ndarray         # mu_i = lambda0_i - r_i, messages per model second
    variance: np.ndarray      # v_i, messages^2 per model second
    busy_arrival: np.ndarray  # lambda0_i: arrivals per second while i is busy (never sends)

    @property
    def lattice(self) -> np.ndarray:
        """How far the recorded queue sits below the reflected motion (module docstring)."""
        return 0.5 * np.maximum(0.0, 1.0 - np.abs(self.drift) / self.rates)

    def queue(self, t: float) -> np.ndarray:
        """E[Q_i(t)] from an empty queue, every machine, as recorded after a tick."""
        return np.maximum(expected_queue(self.drift, self.variance, t) - self.lattice, 0.0)

    def queue_mean(self, t: float) -> np.ndarray:
        """Mean of E[Q_i] over [0, t]."""
        return time_mean(self.queue, t)

    def queue_slope(self, t: float) -> np.ndarray:
        """Least-squares slope of E[Q_i] on [0, t]: the expected measured queue_slope."""
        return ls_slope(self.queue, t)


def diffusion(pred: Prediction, adj: np.ndarray) -> QueueDiffusion:
    """Drift and variance rate of every machine's queue (module docstring)."""
    r, p, n = pred.rates, pred.p_internal, pred.n
    c = send_matrix(adj, p)
    peer = (np.asarray(adj) > 0).astype(float)
    mu, v, lam0 = np.zeros(n), np.zeros(n), np.zeros(n)
    for i in range(n):
        silent = c.copy()
        silent[i] = 0.0
        lam = arrivals(r, silent)
        free = np.maximum(r - lam, 0.0)
        free[i] = 0.0
        noise = sum(free[j] * _send_covariance(c[j], peer[j], p) for j in range(n))
        feedback = np.linalg.inv(np.eye(n) + c.T * (free > 0))
        v[i] = (feedback @ noise @ feedback.T)[i, i]
        mu[i], lam0[i] = lam[i] - r[i], lam[i]
    return QueueDiffusion(rates=r, drift=mu, variance=v, busy_arrival=lam0)


def _send_covariance(c_row: np.ndarray, peer_row: np.ndarray, p: float) -> np.ndarray:
    """Covariance of the messages one free tick sends to each machine: a peer gets one with
    probability c (variance c - c^2); two peers both get one only from a send-all, (1-p)/3."""
    together = (1.0 - p) / 3.0 * np.outer(peer_row, peer_row)
    np.fill_diagonal(together, c_row)
    return together - np.outer(c_row, c_row)


def expected_queue(mu: np.ndarray, v: np.ndarray, t: float) -> np.ndarray:
    """E[Q(t)] of the reflected Brownian motion from 0 (module docstring)."""
    mu, v = np.asarray(mu, dtype=float), np.asarray(v, dtype=float)
    if t <= 0:
        return np.zeros(np.broadcast(mu, v).shape)
    scale = np.sqrt(v * t)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(scale > 0, mu * t / scale, np.sign(mu) * np.inf)
        small = np.abs(a) < 1e-8
        edge = np.where(small, 1 / math.sqrt(2 * math.pi), _ERF(a / _SQRT2) / (2 * np.where(small, 1.0, a)))
        shape = a * normal_cdf(a) + normal_pdf(a) + edge
    # No noise: the queue follows its drift exactly.
    return np.where(scale > 0, scale * np.nan_to_num(shape), np.maximum(mu, 0.0) * t)


def queue_tail(y: np.ndarray, mu: float, v: float, t: float) -> np.ndarray:
    """P(Q(t) > y) for y >= 0, the reflected Brownian motion from 0 (module docstring)."""
    y = np.asarray(y, dtype=float)
    if v <= 0 or t <= 0:
        return (y < max(mu, 0.0) * t).astype(float)
    s = math.sqrt(v * t)
    return normal_cdf((mu * t - y) / s) + _exp_times_lower_tail(2 * mu * y / v, (y + mu * t) / s)


def _exp_times_lower_tail(b: np.ndarray, z: np.ndarray) -> np.ndarray:
    """exp(b) Phi(-z) without overflow: for large z, Phi(-z) ~ phi(z) / z (1 - 1/z^2 + 3/z^4)."""
    far = z > 8.0
    zf = np.where(far, z, 8.0)
    asym = np.exp(b - zf * zf / 2) / (zf * math.sqrt(2 * math.pi)) * (1 - 1 / zf ** 2 + 3 / zf ** 4)
    with np.errstate(over="ignore", invalid="ignore"):
        near = np.exp(np.where(far, 0.0, b)) * normal_cdf(-np.where(far, 0.0, z))
    return np.where(far, asym, near)


def time_mean(f: Callable[[float], np.ndarray], t: float) -> np.ndarray:
    """(1/t) integral_0^t f(s) ds, with s = t u^2 (ds = 2 t u du)."""
    return sum(w * 2 * u * f(t * u * u) for u, w in zip(_U, _W))


def ls_slope(f: Callable[[float], np.ndarray], t: float) -> np.ndarray:
    """Least-squares slope of f on [0, t]: integral (s - t/2) f(s) ds / (t^3 / 12)."""
    return 12 / t * sum(w * 2 * u * (u * u - 0.5) * f(t * u * u) for u, w in zip(_U, _W))
