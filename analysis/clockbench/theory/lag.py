"""The lag model of the scaling study: each machine's lag behind the fastest clock over a finite
run, from the parameters alone (docs/theory.md, "Lag and drift over a run"); rings through
ring_sample.py."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from clockbench.theory.clocks import ClockPaces
from clockbench.theory.compare import SIGMAS
from clockbench.theory.finite import QueueDiffusion, arrivals_per_tick, diffusion, expected_queue, ls_slope, queue_tail, time_mean
from clockbench.file.model import parse_latency
from clockbench.theory.ring import hears_setter, mean_latency, one_hop_lags
from clockbench.theory.ring_sample import sample_ring
from clockbench.theory.mean_field import send_matrix

# Exit codes, as the rest of clockbench-analyze: 0 done, 2 a file could not be read or analysed.
EXIT_OK, EXIT_ERROR = 0, 2

GROWING_TEXT = (f"a queue is measured as growing when its least-squares slope exceeds {SIGMAS:g} sigma "
                "of the arrivals' noise, sigma = sqrt(lambda / T) with lambda its measured arrival rate "
                "and T the run's length (the tolerance idea of the theory checks)")


def lag_growth(fastest_slope: float, sigma: np.ndarray) -> np.ndarray:
    """g_i = s* (1 - sigma_i / max sigma), sigma the paces of clocks.paces and s* their largest
    (then g_i = s* - sigma_i): 0 for machines that keep pace with the fastest clock."""
    return fastest_slope * (1.0 - sigma / sigma.max())


@dataclass
class LagModel:
    """The finite-T lags (docs/theory.md, "The lag over a finite run"): machine i's lag behind the fastest clock is
    min(floor_i t, b_i(t) + a_i Q_i(t)), floor_i = s* less its own rate (it never falls behind its
    own ticks), b_i(t) the lag the pace reaches it with (ring.py), a_i clock units per queued message
    (u_i / lambda0_i for a busy queue, less for a short one: ring.py) and Q_i its queue (finite.py's
    reflected walk: drift mu, variance rate v). Pace setters: (s* - sigma_i) t."""

    fastest_slope: float
    own: np.ndarray            # the slope of each machine's floor: its pace if a setter, else its rate
    per_message: np.ndarray    # a_i, clock units per queued message (0 for setters)
    setter: np.ndarray
    queues: QueueDiffusion
    base_times: np.ndarray     # times b_i(t) is given at, model seconds (one: constant)
    base_values: np.ndarray    # b_i at those times, clock units (times x machines)
    loading: np.ndarray        # each growing queue's share of the common noise (docs/theory.md, "Drift")
    peak: Optional[np.ndarray] = None        # the lag at a peak behind a queue of k: peak + peak_slope k
    peak_slope: Optional[np.ndarray] = None  # (ring.OneHop); None: the mean's b_i + a_i k

    def base(self, t: float) -> np.ndarray:
        if self.base_times.size == 1:
            return self.base_values[0]
        return np.array([np.interp(t, self.base_times, self.base_values[:, i]) for i in range(self.own.size)])

    def floor(self, t: float) -> np.ndarray:
        return np.maximum(self.fastest_slope - self.own, 0.0) * t

    def _lattice(self) -> np.ndarray:
        q = self.queues
        return 0.5 * np.maximum(0.0, 1.0 - np.abs(q.drift) / q.rates)

    def queue(self, t: float) -> np.ndarray:
        """E[Q_i(t)] of the reflected walk from empty, as recorded after a tick (finite.py)."""
        q = self.queues
        return np.maximum(expected_queue(q.drift, q.variance, t) - self._lattice(), 0.0)

    def lag(self, t: float) -> np.ndarray:
        """E[lag_i(t)], every machine: the lag at the expected queue."""
        queued = self.base(t) + self.per_message * self.queue(t)
        return np.where(self.setter, self.floor(t), np.minimum(self.floor(t), queued))

    def _below(self, y: np.ndarray, t: float, shift: np.ndarray) -> np.ndarray:
        """P(lag_i(t) <= y) for every machine (rows: y), the growing queues' drift moved by
        `shift` (messages per second: the common noise, drift_at)."""
        q, base, floor = self.queues, self.base(t), self.floor(t)
        out = np.ones((y.size, self.own.size))
        mu = q.drift + shift
        var = q.variance * (1.0 - self.loading ** 2)
        for i in range(self.own.size):
            if self.setter[i] or self.per_message[i] <= 0:  # no queue share: the lag is fixed
                out[:, i] = (y >= (floor[i] if self.setter[i] else min(floor[i], base[i]))).astype(float)
                continue
            level = (y - base[i]) / self.per_message[i]  # the queue at which the lag reaches y
            # Beyond far into its tail (or past the floor) the probability is 1: not computed there.
            far = max(float(mu[i]), 0.0) * t + 12.0 * math.sqrt(max(float(var[i]), 0.0) * t) + 12.0
            todo = (level >= 0) & (level < far) & (y < floor[i])
            column = np.where((level < 0) & (y < floor[i]), 0.0, 1.0)
            if todo.any():
                column[todo] = 1.0 - queue_tail(level[todo] + self._lattice()[i], float(mu[i]), float(var[i]), t)
            out[:, i] = column
        return out

    def _top(self, t: float) -> float:
        q = self.queues
        high = np.maximum(q.drift, 0.0) * t + 10 * np.sqrt(q.variance * t) + 10
        reach = np.where(self.setter, self.floor(t), np.minimum(self.floor(t), self.base(t) + self.per_message * high))
        return float(max(reach.max(), 1.0))

    def drift(self, t: float, points: int = 500) -> float:
        """E[max_i lag_i(t)]: the integral of P(max > y) over y, the queues independent but for the
        growing ones' common noise, integrated over by Gauss-Hermite (docs/theory.md, "Drift")."""
        if t <= 0:
            return 0.0
        y = np.linspace(0.0, self._top(t), points)
        total = 0.0
        for g, w in self._factor_nodes():
            shift = self.loading * np.sqrt(self.queues.variance / t) * g
            below = self._below(y, t, shift).prod(axis=1)
            total += w * float(np.trapz(1.0 - below, y))
        return total

    def _factor_nodes(self):
        if not np.any(self.loading > 0):
            return [(0.0, 1.0)]
        nodes, weights = np.polynomial.hermite_e.hermegauss(FACTOR_NODES)
        return list(zip(nodes, weights / weights.sum()))

    def drift_mean(self, t: float) -> float:
        return float(time_mean(lambda s: np.array(self.drift(s)) if s > 0 else np.array(0.0), t))

    def lag_slope(self, t: float) -> np.ndarray:
        return ls_slope(self.lag, t)

    def drift_max(self, t: float, points: int = 2000) -> float:
        """E[max over [0, t] of the spread]: per machine the law of its lag's running maximum
        (docs/theory.md, "The running maximum of the drift"), the machines independent but for the
        growing queues' common noise."""
        if t <= 0:
            return 0.0
        q, base = self.queues, self.base(t)
        y = np.linspace(0.0, self._top(t) + 10.0 * float(self.per_message.max()), points)
        growing_base = base > self.base(t / 2) + 1e-9
        # The spread is surely above this (the growing queues' lags 6 sd below their mean): a
        # bounded lag that cannot reach it does not change the maximum.
        sure = float(np.max(np.where(q.drift > 0, self.lag(t) - 6 * self.per_message * np.sqrt(q.variance * t), 0.0)))
        walks = {}
        for i in np.flatnonzero(~self.setter & ~growing_base):
            levels = _walk_levels(q, i, t)
            if levels is None:
                continue  # a growing queue: Q(T) + R below
            peak, per = self._peak(i)
            if peak + per * levels < sure:
                continue
            walks[i] = _tick_walk_maximum(float(q.busy_arrival[i] / q.rates[i]), float(q.variance[i] / q.rates[i]),
                                          int(q.rates[i] * t), levels)
        total = 0.0
        for g, w in self._factor_nodes():
            shift = self.loading * np.sqrt(q.variance / t) * g
            below = self._below(y, t, shift)  # the lag at t: machines whose maximum is at the end
            for i, walk in walks.items():
                peak, per = self._peak(i)
                below[:, i] = _walk_below((y - peak) / per, walk) if per > 0 else (y >= peak).astype(float)
            grown = ~self.setter & (self.per_message > 0) & (q.drift + shift > 0) & ~growing_base
            for i in np.flatnonzero(grown & ~np.isin(np.arange(grown.size), list(walks))):
                level = (y - base[i]) / self.per_message[i] + self._lattice()[i]
                eta = _overshoot(float(q.busy_arrival[i] / q.rates[i]), float(q.variance[i] / q.rates[i]))
                var = float(q.variance[i] * (1 - self.loading[i] ** 2))
                below[:, i] = _grown_below(level, float(q.drift[i] + shift[i]), var, t, eta)
            total += w * float(np.trapz(1.0 - below.prod(axis=1), y))
        return total

    def _peak(self, i: int) -> Tuple[float, float]:
        """(lag at an empty queue's peak, per queued message) of machine i's running maximum:
        ring.OneHop's peak where given, else the mean's b_i and a_i."""
        if self.peak is not None:
            return float(self.peak[i]), float(self.peak_slope[i])
        return float(self.base_values[-1, i]), float(self.per_message[i])


# Gauss-Hermite nodes over the growing queues' common noise.
FACTOR_NODES = 8


def _walk_levels(q: QueueDiffusion, i: int, t: float) -> Optional[int]:
    """Queue levels a stable queue's running maximum is followed to, far into the reflected walk's
    tail (at most WALK_LEVELS); None for a queue that grows (its maximum is Q(T) + R)."""
    mu, v = float(q.drift[i]), float(q.variance[i])
    if mu >= 0:
        return None
    settled = v / (2 * abs(mu))
    need = max(12.0, settled * (math.log(max(t * mu * mu / v, 1.0)) + 12.0))
    return int(math.ceil(min(need, WALK_LEVELS)))


# The most queue levels the tick-by-tick running maximum follows.
WALK_LEVELS = 200


@functools.lru_cache(maxsize=64)
def _tick_walk_maximum(mean: float, var: float, ticks: int, levels: int) -> np.ndarray:
    """P(max over `ticks` ticks of Q < L), L = 0..levels, Q' = max(Q + A - 1, 0) from Q = 0, A the
    arrivals per tick (_arrivals_per_tick): the recorded queue's running maximum, all levels at once."""
    law = arrivals_per_tick(mean, var)
    size = levels + 1
    alive = np.zeros((size, size))  # rows: level L; columns: queue q < L, not yet reached L
    alive[1:, 0] = 1.0
    keep = np.arange(size)[None, :] < np.arange(size)[:, None]
    steps = [(a - 1, float(law[a])) for a in np.flatnonzero(law > 1e-13)]
    for _ in range(ticks):
        new = np.zeros_like(alive)
        for shift, weight in steps:
            if shift < 0:
                new[:, 0] += weight * alive[:, 0]
                new[:, :-1] += weight * alive[:, 1:]
            elif shift == 0:
                new += weight * alive
            else:
                new[:, shift:] += weight * alive[:, :-shift]
        alive = new * keep
    return alive.sum(axis=1)


def _walk_below(level: np.ndarray, below_level: np.ndarray) -> np.ndarray:
    """P(max Q <= level) = P(max Q < floor(level) + 1) from the tick walk's table."""
    k = np.floor(level).astype(int) + 1
    return np.where(k <= 0, 0.0, np.where(k >= below_level.size, 1.0, below_level[np.clip(k, 0, below_level.size - 1)]))


@functools.lru_cache(maxsize=64)
def _overshoot(mean: float, var: float) -> float:
    """eta of a growing queue's overshoot R = max_{s <= T} Q(s) - Q(T), P(R >= k) = eta^k: the walk
    seen backwards from T steps 1 - A <= 1, so its maximum is geometric, eta the root in (0, 1) of
    E[eta^(A - 1)] = 1."""
    law = arrivals_per_tick(mean, var)
    k = np.arange(law.size)
    lo, hi = 0.0, 1.0 - 1e-12
    for _ in range(80):
        z = (lo + hi) / 2
        lo, hi = (z, hi) if float(law @ z ** k) > z else (lo, z)
    return (lo + hi) / 2


def _grown_below(level: np.ndarray, mu: float, var: float, t: float, eta: float) -> np.ndarray:
    """P(Q(t) + R <= level): Q(t) the reflected walk (finite.queue_tail), R the overshoot over [0, t]
    (docs/theory.md, "The running maximum of the drift"): the running maximum of the walk seen
    backwards from t, drift -mu, taken from the Brownian law over t (queue_tail with drift -mu)
    shifted so that its long-run mean is the tick walk's eta / (1 - eta); convolved on a grid of
    whole messages."""
    top = float(np.max(level)) if level.size else 0.0
    if top < 0:
        return np.zeros_like(level)
    x = np.arange(0.0, math.floor(top) + 2.0)
    below = 1.0 - queue_tail(x, mu, var, t)
    shift = max(var / (2 * mu) - eta / (1 - eta), 0.0) if mu > 0 else 0.0
    over = queue_tail(x + shift, -mu, var, t)  # P(R > k), k = 0, 1, ...
    law = np.concatenate([[1.0 - over[0]], over[:-1] - over[1:]])
    held = np.convolve(below, law)[:x.size]
    return np.where(level < 0, 0.0, np.interp(level, x, held))


def _common_noise(pred, adj: np.ndarray, queues: QueueDiffusion) -> np.ndarray:
    """Loadings beta_i of the growing queues on one common noise (docs/theory.md, "Drift"): the arrival
    noises' covariance with every growing machine silent, V = F W F^T (finite.py's W and feedback
    F), beta_i^2 the mean correlation of i with the other growing queues; 0 with fewer than two."""
    growing = queues.drift > 0
    n = pred.n
    if growing.sum() < 2:
        return np.zeros(n)
    c = send_matrix(adj, pred.p_internal)
    peer = (np.asarray(adj) > 0).astype(float)
    one_all = (1.0 - pred.p_internal) / 3.0
    free = pred.rates * (1.0 - np.minimum(pred.utilisation, 1.0))
    noise = np.zeros((n, n))
    for j in range(n):
        together = one_all * np.outer(peer[j], peer[j])
        np.fill_diagonal(together, c[j])
        noise += free[j] * (together - np.outer(c[j], c[j]))
    feedback = np.linalg.inv(np.eye(n) + c.T * (free > 0))
    cov = feedback @ noise @ feedback.T
    sd = np.sqrt(np.maximum(np.diag(cov), 1e-300))
    corr = cov / np.outer(sd, sd)
    idx = np.flatnonzero(growing)
    loading = np.zeros(n)
    for i in idx:
        others = idx[idx != i]
        loading[i] = math.sqrt(min(max(float(corr[i, others].mean()), 0.0), 0.95))
    return loading


def lag_model(pred, adj: np.ndarray, clocks: ClockPaces, latency="0", horizon: float = 0.0,
              phases: Optional[Sequence[float]] = None):
    """The finite-T lag model of a prediction (theory.Prediction) on peers adj, with the paces of
    clocks.paces, the latency a `--latency` text (or a constant in model seconds). Where every
    machine hears a pace setter (the full topology): a LagModel, one hop from the setter. Elsewhere
    (a ring): ring_sample's reduced model over [0, horizon] with these phases (None: random)."""
    latency = latency if isinstance(latency, str) else repr(float(latency))
    if not hears_setter(pred, adj, clocks):  # the reduced model takes the diffusion alone, not the tick chain
        return sample_ring(pred, adj, diffusion(pred, adj, ticks=False), latency, phases, horizon)
    queues = diffusion(pred, adj)
    sigma = clocks.slope
    s_star = float(sigma.max())
    setter = clocks.setter
    own = np.where(setter, sigma, pred.rates)
    loading = _common_noise(pred, adj, queues)
    hop = one_hop_lags(pred, adj, clocks, queues, latency)
    per_message = np.where(setter, 0.0, hop.per_message)
    with np.errstate(divide="ignore", invalid="ignore"):
        peak_slope = np.where(setter, 0.0, clocks.incoming / pred.rates)
    # The setter it hears runs at u_i: (s* - u_i) t behind the fastest clock (0 in the full topology).
    behind = np.where(setter, 0.0, np.maximum(s_star - clocks.incoming, 0.0))
    times = np.array([0.0, horizon]) if np.any(behind > 0) and horizon > 0 else np.array([0.0])
    values = hop.base[None, :] + behind[None, :] * times[:, None]
    return LagModel(s_star, own, per_message, setter, queues, times, values, loading, hop.peak, peak_slope)


def pace_inputs(m) -> Tuple[Optional[List[float]], float]:
    """(phases, latency) for clocks.paces from a run's metrics. A constant latency D with the run's
    own phases: whether two equal-rate setters leapfrog depends on their tick offset against D
    (clocks.py), which the phases fix. A random latency has no one offset that decides it: the
    phases as random (None) and the latency's mean (ring.mean_latency)."""
    lat = parse_latency(m.latency)
    if lat.constant:
        return [x.phase_s for x in m.machines], lat.least
    return None, mean_latency(m.latency)
