"""The lags of a ring (or any topology where some machine does not hear a pace setter directly),
from a reduced model of the run evaluated by Monte Carlo. Why no per-hop formula serves, the
model, what it drops and how close it comes: docs/theory.md, "The ring's reduced model".

The model keeps the clocks, tick grids, actions and messages of docs/model.md exactly; each
machine's queue is an independent reflected walk whose arrivals per tick follow its mean-field
law (finite.arrivals_per_tick with finite.py's busy arrival rate and variance rate), which decides
the free ticks and how many ticks a message waits (first in, first out per link); a latency is a
constant per link (ring.effective_latency for a random one). RING_REPLICAS copies from a fixed
seed, RING_PHASE_DRAWS phase draws for random phases, lags on RING_GRID points of god's-eye time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np

from clockbench.theory.finite import QueueDiffusion, arrivals_per_tick
from clockbench.theory.ring import effective_latency
from clockbench.theory.mean_field import Prediction, send_matrix

# Copies of the run, phase draws (random phases), time points, and the seed of the evaluation.
RING_REPLICAS, RING_PHASE_DRAWS, RING_GRID, _RING_SEED = 160, 2, 2000, 20261128
# Ticks ahead a machine's inbox holds at first (it grows when a message is due later).
_START_SPAN = 16


@dataclass
class SampledLags:
    """The lags of the reduced model on a time grid: E[lag_i(t)] per machine, the spread of every
    copy (max - min of the clocks) and its running maximum, for scaling.py's questions."""

    grid: np.ndarray         # god's-eye times, model seconds
    lag_mean: np.ndarray     # grid x machines: E[lag_i(t)], clock units
    spread: np.ndarray       # grid x copies
    spread_peak: np.ndarray  # grid x copies: the running maximum of the spread

    def lag(self, t: float) -> np.ndarray:
        return np.array([np.interp(t, self.grid, self.lag_mean[:, i]) for i in range(self.lag_mean.shape[1])])

    def drift(self, t: float) -> float:
        return float(np.interp(t, self.grid, self.spread.mean(axis=1)))

    def drift_max(self, t: float) -> float:
        return float(np.interp(t, self.grid, self.spread_peak.mean(axis=1)))

    def drift_mean(self, t: float) -> float:
        """The mean spread over [0, t], on the grid as compute() takes it."""
        on = self.grid <= t + 1e-12
        return float(self.spread.mean(axis=1)[on].mean()) if on.any() else 0.0

    def lag_slope(self, t: float) -> np.ndarray:
        """Least-squares slope of E[lag_i] over the grid up to t."""
        on = self.grid <= t + 1e-12
        x = self.grid[on] - self.grid[on].mean()
        return (x @ (self.lag_mean[on] - self.lag_mean[on].mean(axis=0))) / max(float(x @ x), 1e-300)


def sample_ring(pred: Prediction, adj: np.ndarray, queues: QueueDiffusion, latency: str,
                phases: Optional[Sequence[float]], horizon: float) -> SampledLags:
    """The reduced model (docs/theory.md, "The ring's reduced model") over [0, horizon]: the run's
    phases, or RING_PHASE_DRAWS uniform draws when phases is None."""
    horizon = max(float(horizon), 1.0)
    grid = np.linspace(0.0, horizon, RING_GRID)
    rng = np.random.default_rng(_RING_SEED)
    if phases is not None:
        draws = [(np.asarray(phases, dtype=float), RING_REPLICAS)]
    else:
        share = max(RING_REPLICAS // RING_PHASE_DRAWS, 1)
        draws = [(rng.uniform(0.0, 1.0, pred.n) / pred.rates, share) for _ in range(RING_PHASE_DRAWS)]
    parts = [_copies(pred, adj, queues, latency, ph, grid, copies, rng) for ph, copies in draws]
    lag = sum(p[0] * p[1].shape[1] for p in parts) / sum(p[1].shape[1] for p in parts)
    spread = np.concatenate([p[1] for p in parts], axis=1)
    return SampledLags(grid, lag, spread, np.maximum.accumulate(spread, axis=0))


def _tick_events(rates: np.ndarray, phases: np.ndarray, horizon: float):
    """Every tick up to horizon in time order (ties: lower machine first): times, machines, indices."""
    times: List[np.ndarray] = []
    who: List[np.ndarray] = []
    index: List[np.ndarray] = []
    for i, (rate, phase) in enumerate(zip(rates, phases)):
        k = np.arange(int(math.floor((horizon - phase) * rate + 1e-9)) + 1)
        times.append(phase + k / rate)
        who.append(np.full(k.size, i))
        index.append(k)
    t, w, k = np.concatenate(times), np.concatenate(who), np.concatenate(index)
    order = np.lexsort((w, t))
    return t[order], w[order], k[order]


class _Inbox:
    """Per machine and copy, the largest clock among the messages it takes at each of its next
    `span` ticks (a message is due at a tick of its receiver; first in, first out per link): a
    receive needs only that maximum, so a tick reads one slot and empties it. Clocks are whole
    numbers, exact in float32."""

    def __init__(self, machines: int, links: int, copies: int):
        self.best = np.full((machines, _START_SPAN, copies), -np.inf, dtype=np.float32)
        self.next = np.zeros(machines, dtype=np.int64)   # each machine's next tick
        self.last = np.full((links, copies), -1, dtype=np.int64)  # the latest due on each link
        self.rows = np.arange(copies)

    def push(self, e: int, d: int, sent: np.ndarray, due: np.ndarray, clock: np.ndarray) -> None:
        due = np.maximum(np.maximum(due, self.last[e]), self.next[d])  # first in, first out along the link
        self.last[e] = np.where(sent, due, self.last[e])
        ahead = int(due[sent].max()) - int(self.next[d])
        while ahead >= self.best.shape[1]:
            self._grow()
        slot, rows = due[sent] % self.best.shape[1], self.rows[sent]
        self.best[d, slot, rows] = np.maximum(self.best[d, slot, rows], clock[sent])

    def take(self, i: int, tick: int) -> np.ndarray:
        """The largest clock among the messages due at machine i's tick `tick`, taken."""
        slot = tick % self.best.shape[1]
        out = self.best[i, slot].astype(float)
        self.best[i, slot] = -np.inf
        self.next[i] = tick + 1
        return out

    def _grow(self) -> None:
        """Twice the span: each slot's tick (next + its distance from next's slot) to its new slot."""
        span = self.best.shape[1]
        due = self.next[:, None] + (np.arange(span)[None, :] - self.next[:, None]) % span
        grown = np.full((self.best.shape[0], 2 * span, self.best.shape[2]), -np.inf, dtype=np.float32)
        grown[np.arange(self.best.shape[0])[:, None], due % (2 * span)] = self.best
        self.best = grown


def _copies(pred: Prediction, adj: np.ndarray, queues: QueueDiffusion, latency: str, phases: np.ndarray,
            grid: np.ndarray, copies: int, rng: np.random.Generator):
    """One phase draw: (grid x machines E[lag], grid x copies spread)."""
    r, n, p = pred.rates, pred.n, pred.p_internal
    adj = np.asarray(adj) > 0
    peers = [np.flatnonzero(adj[i]) for i in range(n)]
    c = send_matrix(adj, p)
    free_rate = r * (1.0 - np.minimum(pred.utilisation, 1.0))
    start = np.cumsum([0] + [x.size for x in peers])  # links out of i: start[i] + the peer's place
    delay = [np.array([effective_latency(latency, float(c[j, i] * free_rate[j])) for i in peers[j]])
             for j in range(n)]
    arrivals = [np.cumsum(arrivals_per_tick(float(queues.busy_arrival[i] / r[i]), float(queues.variance[i] / r[i])))
                for i in range(n)]
    inbox = _Inbox(n, int(start[-1]), copies)
    clock = np.zeros((copies, n))
    queue = np.zeros((copies, n), dtype=np.int64)   # the walk after each machine's last tick
    coming = np.zeros((copies, n), dtype=np.int64)  # its arrivals until the next tick
    last = phases - 1.0 / r                          # each machine's last tick, model seconds
    one = 2.0 * (1.0 - p) / 3.0
    lag_sum = np.zeros((grid.size, n))
    spread = np.zeros((grid.size, copies))
    g = 0

    def record(upto: float) -> int:
        nonlocal g
        while g < grid.size and grid[g] < upto:
            top = clock.max(axis=1)
            lag_sum[g] = (top[:, None] - clock).sum(axis=0)
            spread[g] = top - clock.min(axis=1)
            g += 1
        return g

    times, machines, ticks = _tick_events(r, phases, float(grid[-1]))
    for t, i, k in zip(times, machines, ticks):
        record(t)  # a grid point sees the clocks after the ticks before it (compute(): at or before)
        clock[:, i] = np.maximum(clock[:, i], inbox.take(i, int(k))) + 1.0
        queue[:, i] += coming[:, i]
        busy = queue[:, i] > 0
        queue[:, i] -= busy
        last[i] = t
        u = rng.random(copies)
        send = ~busy & (u >= p)
        if send.any() and peers[i].size:
            pick = np.minimum(((u - p) / one * peers[i].size).astype(np.int64), peers[i].size - 1)
            every = u >= p + one
            for m, d in enumerate(peers[i]):
                to = send & (every | (pick == m))
                if not to.any():
                    continue
                arrive = t + delay[i][m]
                first = int(math.floor((arrive - phases[d]) * r[d] + 1e-9)) + 1
                share = min(max((arrive - last[d]) * r[d], 0.0), 1.0)  # of the interval, before it
                ahead = queue[:, d] + np.floor(share * coming[:, d] + rng.random(copies)).astype(np.int64)
                inbox.push(int(start[i] + m), int(d), to, first + ahead, clock[:, i])
        coming[:, i] = np.searchsorted(arrivals[i], rng.random(copies) * arrivals[i][-1])
    record(math.inf)
    return lag_sum / copies, spread
