"""Many independent runs of the scale model at once, vectorised over the runs with numpy.

The rules, the tick order and the use of random numbers are those of tests/analysis/simulate.py
(zero network delay, ticks by time then machine index, one uniform per tick that
also picks the peer of a send-one). The tick schedule is deterministic and the same in every
run, so one pass over it advances all runs together: a finite-horizon mean over hundreds of
seeds costs about as much as one Python-loop run. With one run it replays simulate_model's
random numbers exactly, which test_theory_finite.py checks.

Each machine's queue is a ring buffer of message clocks per run (FIFO, grown when full), so
the Lamport clocks, and hence lag and drift, are simulated too, not only the queue lengths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence

import numpy as np

from simulate import peers_of


@dataclass
class Batch:
    """Per machine, the value after each of its ticks, in every run.

    queue[i] and clock[i] have shape (ticks of i, runs); times[i] are the tick times k / r_i.
    """

    rates: np.ndarray
    duration: float
    times: List[np.ndarray]
    queue: List[np.ndarray]
    clock: List[np.ndarray]

    def _last_before(self, i: int, t: float) -> int:
        """Index of machine i's last tick at a time < t."""
        return int(np.searchsorted(self.times[i], t, side="left")) - 1

    def queue_at(self, i: int, t: float) -> np.ndarray:
        """Machine i's queue after its last tick before t, per run."""
        return self.queue[i][self._last_before(i, t)]

    def queue_mean(self, i: int, t: float) -> np.ndarray:
        """Mean of machine i's queue over its ticks before t, per run (metrics.queue_mean)."""
        return self.queue[i][: self._last_before(i, t) + 1].mean(axis=0)

    def queue_slope(self, i: int, t: float) -> np.ndarray:
        """Least-squares slope of machine i's queue on its tick times before t, per run
        (metrics.queue_slope)."""
        k = self._last_before(i, t) + 1
        x = self.times[i][:k] - self.times[i][:k].mean()
        return x @ (self.queue[i][:k] - self.queue[i][:k].mean(axis=0)) / (x @ x)

    def clocks_at(self, t: float) -> np.ndarray:
        """Every machine's Lamport clock after its last tick before t: shape (machines, runs)."""
        return np.array([self.clock[i][self._last_before(i, t)] for i in range(self.rates.size)])


def simulate_batch(rates: Sequence[float], p_internal: float, topology: str, duration: float,
                   runs: int, seed: int) -> Batch:
    """`runs` independent runs of `duration` model seconds, all from numpy's default_rng(seed)."""
    r = np.asarray(rates, dtype=float)
    n = r.size
    peers = peers_of(topology, n)
    counts = [int(np.ceil(duration * x)) + 1 for x in r]
    times = [np.arange(c) / r[i] for i, c in enumerate(counts)]
    times = [t[t < duration] for t in times]
    owner = np.concatenate([np.full(t.size, i) for i, t in enumerate(times)])
    tick = np.concatenate([np.arange(t.size) for t in times])
    order = np.lexsort((owner, np.concatenate(times)))
    owner, tick = owner[order].tolist(), tick[order].tolist()
    draws = np.random.default_rng(seed).random((len(owner), runs))

    p_one = p_internal + 2.0 * (1.0 - p_internal) / 3.0
    span_one = p_one - p_internal
    cap = 64
    buf = np.zeros((n, runs, cap), dtype=np.int64)
    head = np.zeros((n, runs), dtype=np.int64)
    tail = np.zeros((n, runs), dtype=np.int64)
    clock = np.zeros((n, runs), dtype=np.int64)
    rec_q = [np.zeros((t.size, runs), dtype=np.int64) for t in times]
    rec_c = [np.zeros((t.size, runs), dtype=np.int64) for t in times]
    every = np.arange(runs)

    for step, (i, k) in enumerate(zip(owner, tick)):
        busy = tail[i] > head[i]
        msg = buf[i, every, head[i] % cap]
        head[i] += busy
        free = ~busy
        clock[i] = np.where(busy, np.maximum(clock[i], msg) + 1, clock[i] + 1)
        u = draws[step]
        sends = free & (u >= p_internal)
        if sends.any():
            one = u < p_one
            pick = np.minimum(((u - p_internal) / span_one * len(peers[i])).astype(np.int64), len(peers[i]) - 1)
            for slot, j in enumerate(peers[i]):
                to_j = sends & (~one | (pick == slot))
                if (tail[j] - head[j]).max() + 1 >= cap:
                    buf, cap = _grow(buf, head, cap), 2 * cap
                at = np.flatnonzero(to_j)
                buf[j, at, tail[j, at] % cap] = clock[i, at]
                tail[j] += to_j
        rec_q[i][k] = tail[i] - head[i]
        rec_c[i][k] = clock[i]
    return Batch(rates=r, duration=float(duration), times=times, queue=rec_q, clock=rec_c)


def _grow(buf: np.ndarray, head: np.ndarray, cap: int) -> np.ndarray:
    """The ring buffers at twice the capacity, each queue's messages kept in order from its head."""
    n, runs, _ = buf.shape
    big = np.zeros((n, runs, 2 * cap), dtype=buf.dtype)
    offsets = (head[:, :, None] + np.arange(cap)) % cap
    order = np.take_along_axis(buf, offsets, axis=2)
    dest = (head[:, :, None] + np.arange(cap)) % (2 * cap)
    np.put_along_axis(big, dest, order, axis=2)
    return big
