"""The start-up transient: the expected messages each machine receives, and its free ticks, over a
finite run from empty queues. Derivation: docs/theory.md, "The start-up transient".

Each machine's queue length is a distribution, advanced through every deadline in the order of
docs/model.md; a tick of j is free with probability P_j(empty) and then sends to i with
probability c_ji, arriving at T + latency. Distributions are cut at QUEUE_CAP; past TICK_BUDGET
ticks the arrivals go on at the mean-field rate. The noise of these counts: fluctuations.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from clockbench.theory.mean_field import Prediction, send_matrix

QUEUE_CAP = 64
TICK_BUDGET = 20_000


@dataclass
class StartUp:
    """Expected counts per machine over [0, t_end), from empty queues at time 0."""

    arrivals: np.ndarray  # messages that reach its queue with a < t_end
    sent: np.ndarray      # messages sent to it before t_end, wherever they are at the end
    free: np.ndarray      # ticks that found the queue empty and drew


def start_up(pred: Prediction, adj: np.ndarray, phases: Sequence[float], t_end: float,
             latency: float = 0.0) -> StartUp:
    """Expected counts over a run of t_end model seconds (docs/theory.md, "The start-up transient")."""
    r, n = pred.rates, pred.n
    c = send_matrix(adj, pred.p_internal)
    horizon = min(t_end, TICK_BUDGET / float(r.sum()))
    times, owner = _deadlines(r, np.asarray(phases, dtype=float), horizon)
    dist = np.zeros((n, QUEUE_CAP + 1))
    dist[:, 0] = 1.0
    arrived, free_ticks = np.zeros(n), np.zeros(n)
    pending: list = []  # (arrival time, receivers, probabilities): one entry per sending tick, in arrival order
    head = 0
    peers = [np.flatnonzero(c[j]) for j in range(n)]
    for t, j in zip(times, owner):
        while head < len(pending) and pending[head][0] < t:
            _, to, q = pending[head]
            head += 1
            dist[to] = _arrive(dist[to], q)  # distinct receivers: one update for all of them
        free = dist[j, 0]
        free_ticks[j] += free
        dist[j] = np.concatenate([[dist[j, 0] + dist[j, 1]], dist[j, 2:], [0.0]])
        q = c[j, peers[j]] * free
        pending.append((t + latency, peers[j], q))
        arrived[peers[j]] += q
    # Sends whose arrival falls at or after the end never reach a queue before it.
    for a, to, q in pending[head:]:
        if a >= t_end:
            arrived[to] -= q
    rest = max(0.0, t_end - horizon)
    free_ticks += (r - np.minimum(pred.arrival, r)) * rest
    return StartUp(arrivals=arrived + pred.arrival * rest, sent=c.T @ free_ticks, free=free_ticks)


def _deadlines(r: np.ndarray, phases: np.ndarray, t_end: float):
    """Every deadline before t_end, by time then machine (docs/model.md: T_ik = phase_i + k / r_i)."""
    ticks = [phases[j] + np.arange(max(0, math.ceil((t_end - phases[j]) * r[j])) + 1) / r[j]
             for j in range(r.size)]
    ticks = [t[t < t_end] for t in ticks]
    times = np.concatenate(ticks)
    owner = np.concatenate([np.full(t.size, j) for j, t in enumerate(ticks)])
    order = np.lexsort((owner, times))
    return times[order].tolist(), owner[order].tolist()


def _arrive(d: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Queue distributions (one row per receiver) after a message arrives at each with probability
    q (cut at QUEUE_CAP)."""
    up = np.concatenate([np.zeros((d.shape[0], 1)), d[:, :-1]], axis=1)
    up[:, -1] += d[:, -1]
    q = np.asarray(q)[:, None]
    return (1.0 - q) * d + q * up
