"""The theory's paths for large N against slow references written here: the queues' drift and
variance rate (finite.diffusion: active-set solves, every machine's silence followed over a ball
of REACH machines where its effect fades) against the dense formulas of docs/theory.md, "The
variance rate", with the fixed point found by trying every stable set (small N) or by iterating
x = (r - C^T x)^+ (a contraction when every machine's sends sum below 1); and the ring's reduced
model (ring_sample.py: each machine's inbox keeps, per coming tick, the largest clock due) against
a plain first-in, first-out list of messages per link and copy, drawing the same random numbers:
the same lags to the last digit."""

from __future__ import annotations

import itertools
import math
from collections import deque

import numpy as np
import pytest

import clockbench.theory.finite as finite
from clockbench.file.topology import adjacency
from clockbench.theory import ring_sample
from clockbench.theory.finite import arrivals_per_tick, diffusion
from clockbench.theory.mean_field import predict, send_matrix
from clockbench.theory.ring import effective_latency


def _lcp_by_sets(m: np.ndarray, q: np.ndarray) -> np.ndarray:
    """z >= 0, w = M z + q >= 0, z.w = 0, by trying every set of positive z (N <= 10)."""
    n = q.size
    for size in range(n + 1):
        for on in itertools.combinations(range(n), size):
            z = np.zeros(n)
            if on:
                z[list(on)] = np.linalg.solve(m[np.ix_(on, on)], -q[list(on)])
            w = m @ z + q
            if z.min() >= -1e-12 and w.min() >= -1e-12:
                return np.maximum(z, 0.0)
    raise AssertionError("no complementary solution")


def _lcp_by_iteration(c: np.ndarray, r: np.ndarray) -> np.ndarray:
    """The free-tick rates x = (r - C^T x)^+ by plain iteration (a contraction when C's column
    sums are below 1)."""
    x = r.copy()
    for _ in range(400):
        x = np.maximum(r - c.T @ x, 0.0)
    return x


def _dense_queues(rates, p, adj, solve):
    """(lambda0, v) of every machine, as docs/theory.md states them: i silent, the fixed point,
    W = sum_j free_j S_j with S_j the draw covariance of j's sends, F = (I + C^T P)^-1, v_i = [F W F^T]_ii."""
    r = np.asarray(rates, dtype=float)
    n = r.size
    c = send_matrix(adj, p)
    peer = (np.asarray(adj) > 0).astype(float)
    lam0, v = np.zeros(n), np.zeros(n)
    for i in range(n):
        silent = c.copy()
        silent[i] = 0.0
        lam = silent.T @ solve(silent, r)
        free = np.maximum(r - lam, 0.0)
        free[i] = 0.0
        w = np.zeros((n, n))
        for j in range(n):
            s = (1.0 - p) / 3.0 * np.outer(peer[j], peer[j])
            np.fill_diagonal(s, c[j])
            w += free[j] * (s - np.outer(c[j], c[j]))
        f = np.linalg.inv(np.eye(n) + c.T * (free > 0))
        lam0[i], v[i] = lam[i], (f @ w @ f.T)[i, i]
    return lam0, v


def _by_sets(c, r):
    return _lcp_by_sets(np.eye(r.size) + c.T, -r)


@pytest.mark.parametrize("topology,n,p,seed", [("full", 5, 0.7, 1), ("ring", 8, 0.7, 2), ("ring", 9, 0.2, 3),
                                                ("random:2", 10, 0.5, 4), ("random:4", 9, 0.7, 5)])
def test_queues_equal_the_dense_formulas(topology, n, p, seed):
    rates = np.random.default_rng(seed).integers(1, 7, n).astype(float)
    adj = adjacency(topology, n, seed)
    q = diffusion(predict(rates, p, topology, adj), adj, ticks=False)
    lam0, v = _dense_queues(rates, p, adj, _by_sets)
    assert np.allclose(q.busy_arrival, lam0, rtol=0, atol=1e-10)
    assert np.allclose(q.drift, lam0 - rates, rtol=0, atol=1e-10)
    assert np.allclose(q.variance, v, rtol=0, atol=1e-10)


@pytest.mark.parametrize("topology,reach,tolerance", [("ring", 12, 1e-5), ("random:4", 40, 1e-2)])
def test_queues_over_a_ball_match_every_machine(monkeypatch, topology, reach, tolerance):
    """60 machines, each one's silence followed over `reach` of them only: within `tolerance` of
    the dense formulas (measured: 3e-6 for the ring, its effect falling 0.4 a hop; 4e-3 for
    random:4, 0.6 a hop over fewer hops; REACH = 256 of 600 random:4 machines: 1e-4)."""
    n, p = 60, 0.7
    rates = np.random.default_rng(11).integers(1, 7, n).astype(float)
    adj = adjacency(topology, n, 3)
    monkeypatch.setattr(finite, "REACH", reach)
    q = diffusion(predict(rates, p, topology, adj), adj, ticks=False)
    lam0, v = _dense_queues(rates, p, adj, _lcp_by_iteration)
    assert np.max(np.abs(q.busy_arrival - lam0)) < tolerance
    assert np.max(np.abs(q.variance - v) / v) < tolerance


def _reference_copies(pred, adj, queues, latency, phases, grid, copies, rng):
    """ring_sample._copies with a deque of (due tick, clock) per link and copy, taken from the head
    while due by the receiver's tick: the model of docs/theory.md, "The ring's reduced model", as
    plainly as it can be written; the same random draws in the same order."""
    r, n, p = pred.rates, pred.n, pred.p_internal
    peers = [np.flatnonzero(np.asarray(adj)[i] > 0) for i in range(n)]
    c = send_matrix(adj, p)
    free_rate = r * (1.0 - np.minimum(pred.utilisation, 1.0))
    fifo = {(j, i): [deque() for _ in range(copies)] for j in range(n) for i in peers[j]}
    latest = {key: [-1] * copies for key in fifo}
    delay = {(j, i): effective_latency(latency, float(c[j, i] * free_rate[j])) for (j, i) in fifo}
    arrivals = [np.cumsum(arrivals_per_tick(float(queues.busy_arrival[i] / r[i]), float(queues.variance[i] / r[i])))
                for i in range(n)]
    clock = np.zeros((copies, n))
    queue = np.zeros((copies, n), dtype=np.int64)
    coming = np.zeros((copies, n), dtype=np.int64)
    last = phases - 1.0 / r
    one = 2.0 * (1.0 - p) / 3.0
    lag_sum = np.zeros((grid.size, n))
    spread = np.zeros((grid.size, copies))
    g = 0
    events = sorted((phases[i] + k / r[i], i, k) for i in range(n)
                    for k in range(int(math.floor((grid[-1] - phases[i]) * r[i] + 1e-9)) + 1))
    for t, i, k in events + [(math.inf, -1, 0)]:
        while g < grid.size and grid[g] < t:
            top = clock.max(axis=1)
            lag_sum[g] = (top[:, None] - clock).sum(axis=0)
            spread[g] = top - clock.min(axis=1)
            g += 1
        if i < 0:
            break
        for x in range(copies):
            best = -math.inf
            for j in range(n):
                links = fifo.get((j, i))
                while links is not None and links[x] and links[x][0][0] <= k:
                    best = max(best, links[x].popleft()[1])
            clock[x, i] = max(clock[x, i], best) + 1.0
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
                arrive = t + delay[(i, d)]
                first = int(math.floor((arrive - phases[d]) * r[d] + 1e-9)) + 1
                share = min(max((arrive - last[d]) * r[d], 0.0), 1.0)
                ahead = queue[:, d] + np.floor(share * coming[:, d] + rng.random(copies)).astype(np.int64)
                for x in np.flatnonzero(to):
                    due = max(int(first + ahead[x]), latest[(i, d)][x])
                    latest[(i, d)][x] = due
                    fifo[(i, d)][x].append((due, clock[x, i]))
        coming[:, i] = np.searchsorted(arrivals[i], rng.random(copies) * arrivals[i][-1])
    return lag_sum / copies, spread


@pytest.mark.parametrize("topology,n,p,latency,seed", [("ring", 8, 0.7, "0", 1), ("ring", 6, 0.3, "0.05", 2),
                                                        ("random:2", 10, 0.7, "uniform:0.01,0.3", 3)])
def test_ring_sample_equals_a_plain_fifo(monkeypatch, topology, n, p, latency, seed):
    """The same lags and spreads, every grid point and copy, as the plain model (20 copies, 30 s)."""
    rates = np.random.default_rng(seed).integers(1, 7, n).astype(float)
    adj = adjacency(topology, n, seed)
    pred = predict(rates, p, topology, adj)
    queues = diffusion(pred, adj, ticks=False)
    phases = np.random.default_rng(seed + 100).uniform(0.0, 1.0, n) / rates
    monkeypatch.setattr(ring_sample, "RING_REPLICAS", 20)
    monkeypatch.setattr(ring_sample, "RING_GRID", 300)
    got = ring_sample.sample_ring(pred, adj, queues, latency, list(phases), 30.0)
    grid = np.linspace(0.0, 30.0, 300)
    lag, spread = _reference_copies(pred, adj, queues, latency, phases, grid, 20,
                                    np.random.default_rng(ring_sample._RING_SEED))
    assert spread.max() > 5  # the clocks did part
    assert np.array_equal(got.spread, spread)
    assert np.allclose(got.lag_mean, lag, rtol=0, atol=1e-12)
