"""Finite-horizon queue theory: what each queue does over a run of T model seconds, where near
rho = 1 its random walk, not the mean field's drift, sets it. Derivation and accuracy:
docs/theory.md, "Finite-horizon queues" (sections named below are its subsections).

Symbols: mu_i = lambda0_i - r_i the drift of i's queue while busy, lambda0_i the arrivals when i is
made silent (its row of C set to 0); v_i the variance rate of those arrivals, [F W F^T]_ii with
W = sum_j phi_j S_j the senders' draw noise and F = (I + C^T P)^-1 the stable senders' feedback
("The variance rate"); E[Q(t)] of the reflected Brownian motion from empty ("Expected queue from
empty"), less the lattice offset ("The lattice"); TickChain, the stable queues followed tick by
tick from the rates and phases ("A stable queue, tick by tick", "Leaks", "Phases and horizon");
kappa_u the short-term loop gain; arrivals_per_tick, the law of the messages between two ticks
("Arrivals per tick").
"""

from __future__ import annotations

import functools
import itertools
import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from clockbench.theory.mean_field import Prediction, complementary, send_matrix

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
    """Per machine, the queue's motion while busy: X0(t) has drift mu and variance rate v; and, for
    the stable queues short enough to follow tick by tick, their expected length from the tick-level
    chain (docs/theory.md, "A stable queue, tick by tick"), which then replaces the diffusion's."""

    rates: np.ndarray         # r_i, ticks per model second
    drift: np.ndarray         # mu_i = lambda0_i - r_i, messages per model second
    variance: np.ndarray      # v_i, messages^2 per model second
    busy_arrival: np.ndarray  # lambda0_i: arrivals per second while i is busy (never sends)
    ticks: Optional["TickChain"] = field(default=None, repr=False)  # None: the diffusion alone

    def _covered(self) -> np.ndarray:
        return np.zeros(self.rates.shape, dtype=bool) if self.ticks is None else self.ticks.covered

    @property
    def lattice(self) -> np.ndarray:
        """How far the recorded queue sits below the reflected motion (docs/theory.md, "The lattice"): half a
        message less |mu| / r of it; for a queue the tick chain follows, the reflected motion's
        stationary mean v / (2 |mu|) less the chain's."""
        base = 0.5 * np.maximum(0.0, 1.0 - np.abs(self.drift) / self.rates)
        covered = self._covered()
        if not covered.any():
            return base
        with np.errstate(divide="ignore", invalid="ignore"):
            settled = np.where(self.drift < 0, self.variance / (2 * np.abs(self.drift)), 0.0)
        return np.where(covered, settled - self.ticks.stationary, base)

    def _diffusion_queue(self, t: float) -> np.ndarray:
        base = 0.5 * np.maximum(0.0, 1.0 - np.abs(self.drift) / self.rates)
        return np.maximum(expected_queue(self.drift, self.variance, t) - base, 0.0)

    def queue(self, t: float) -> np.ndarray:
        """E[Q_i(t)] from an empty queue, every machine, as recorded after a tick."""
        q = self._diffusion_queue(t)
        covered = self._covered()
        return np.where(covered, self.ticks.queue(t), q) if covered.any() else q

    def queue_mean(self, t: float) -> np.ndarray:
        """Mean of E[Q_i] over [0, t] (for a queue the tick chain follows: over i's ticks before t,
        as metrics.queue_mean averages it)."""
        q = time_mean(self._diffusion_queue, t)
        covered = self._covered()
        return np.where(covered, self.ticks.queue_mean(t), q) if covered.any() else q

    def queue_slope(self, t: float) -> np.ndarray:
        """Least-squares slope of E[Q_i] on [0, t]: the expected measured queue_slope."""
        return ls_slope(self.queue, t)


def diffusion(pred: Prediction, adj: np.ndarray, ticks: bool = True) -> QueueDiffusion:
    """Drift and variance rate of every machine's queue (docs/theory.md, "The queue as a reflected
    process", "The variance rate"); ticks=False leaves out the tick chain (the diffusion alone, as
    the ring's reduced model takes it)."""
    r, p, n = pred.rates, pred.p_internal, pred.n
    c = send_matrix(adj, p)
    peer = np.asarray(adj) > 0
    near = _Neighbourhoods(peer)
    # i's silence reaches d hops at most as gain^d: where that fades fast, a ball of REACH machines
    # holds it; else every machine.
    gain = min(float(c.sum(axis=0).max()), float(c.sum(axis=1).max()))
    reach = REACH if gain <= FADING_GAIN else n
    settled = np.maximum(r - pred.arrival, 0.0)  # every machine sending: the free-tick rates x
    mu, v, lam0 = np.zeros(n), np.zeros(n), np.zeros(n)
    for i in range(n):
        ball, rim = near.around(i, reach)
        lam, free = _silenced(r, c, i, ball, rim, settled)
        v[i] = _variance_rate(c, peer, p, i, ball, rim, free)
        mu[i], lam0[i] = lam - r[i], lam
    chain = TickChain(r, p, adj, pred.stable, pred.utilisation, mu, v, _loop_gains(r, c, pred.utilisation)) \
        if ticks else None
    return QueueDiffusion(rates=r, drift=mu, variance=v, busy_arrival=lam0, ticks=chain)


# Machines around i over which i's silence is followed where its effect fades (docs/theory.md,
# "The variance rate"), by at least FADING_GAIN a hop; N <= REACH: every machine, exact.
REACH, FADING_GAIN = 256, 0.7


class _Neighbourhoods:
    """Balls of the peer graph (either direction), widened hop by hop."""

    def __init__(self, peer: np.ndarray):
        both = peer | peer.T
        self.n = both.shape[0]
        self.links = [np.flatnonzero(both[i]) for i in range(self.n)]

    def around(self, i: int, size: int) -> Tuple[np.ndarray, np.ndarray]:
        """(ball, rim): the `size` machines nearest i (hop by hop, the last hop in machine order;
        all of them when N <= size) and the rim, the machines outside that are peers of one in
        the ball; both sorted."""
        inside = np.zeros(self.n, dtype=bool)
        inside[i] = True
        count, layer = 1, np.array([i])
        while count < size and layer.size:
            nxt = np.unique(np.concatenate([self.links[x] for x in layer]))
            nxt = nxt[~inside[nxt]][:size - count]
            inside[nxt] = True
            count, layer = count + nxt.size, nxt
        ball = np.flatnonzero(inside)
        rim = np.unique(np.concatenate([self.links[x] for x in ball]))
        return ball, rim[~inside[rim]]


def _silenced(r: np.ndarray, c: np.ndarray, i: int, ball: np.ndarray, rim: np.ndarray,
              settled: np.ndarray) -> Tuple[float, np.ndarray]:
    """(lambda0_i, the free-tick rates with i silent): the fixed point with i's row of C set to 0,
    solved over the ball, the machines beyond it at their free-tick rates with i sending (`settled`):
    exact when the ball is every machine."""
    at = int(np.searchsorted(ball, i))
    inner = c[np.ix_(ball, ball)].copy()
    inner[at] = 0.0
    outside = settled[rim] @ c[np.ix_(rim, ball)] if rim.size else np.zeros(ball.size)
    load = r[ball] - outside
    x = complementary(np.eye(ball.size) + inner.T, -load, settled[ball] > 0)
    lam = inner.T @ x + outside
    free = settled.copy()
    free[ball] = np.maximum(r[ball] - lam, 0.0)
    free[i] = 0.0
    return float(lam[at]), free


def _variance_rate(c: np.ndarray, peer: np.ndarray, p: float, i: int, ball: np.ndarray, rim: np.ndarray,
                   free: np.ndarray) -> float:
    """v_i = [F W F^T]_ii (docs/theory.md, "The variance rate"): f, row i of the feedback
    F = (I + C^T P)^-1 (P: who has free ticks), solves (I + P C) f = e_i over the ball (0 beyond
    it); then f^T S_j f of each sender's draw covariance S_j (a peer gets one message with probability c, variance
    c - c^2; two peers both get one only from a send-all, (1-p)/3), summed with the
    weights free_j, for the senders with a peer in the ball."""
    at = int(np.searchsorted(ball, i))
    sending = (free[ball] > 0).astype(float)
    e = np.zeros(ball.size)
    e[at] = 1.0
    f = np.linalg.solve(np.eye(ball.size) + sending[:, None] * c[np.ix_(ball, ball)], e)
    senders = np.concatenate([ball, rim])
    to = c[np.ix_(senders, ball)]
    hit = peer[np.ix_(senders, ball)].astype(float)
    spread = (1.0 - p) / 3.0 * ((hit @ f) ** 2 - hit @ f ** 2) + to @ f ** 2 - (to @ f) ** 2
    return float(free[senders] @ spread)


def _loop_gains(r: np.ndarray, c: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """kappa_u (docs/theory.md, "Leaks"): the sends a free tick of u takes from u at once, through
    peers it finds idle, sum_j c_uj (1 - rho_j) c_ju; a message that waits in a peer's queue comes
    back too late to matter while u's own queue is short."""
    return np.clip((c * c.T * (1.0 - rho)[None, :]).sum(axis=1), 0.0, 0.99)


def expected_queue(mu: np.ndarray, v: np.ndarray, t) -> np.ndarray:
    """E[Q(t)] of the reflected Brownian motion from 0 (docs/theory.md, "Expected queue from empty");
    t may be an array too."""
    mu, v, t = np.broadcast_arrays(np.asarray(mu, dtype=float), np.asarray(v, dtype=float),
                                   np.asarray(t, dtype=float))
    t = np.maximum(t, 0.0)
    scale = np.sqrt(v * t)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(scale > 0, mu * t / scale, np.sign(mu) * np.inf)
        small = np.abs(a) < 1e-8
        edge = np.where(small, 1 / math.sqrt(2 * math.pi), _ERF(a / _SQRT2) / (2 * np.where(small, 1.0, a)))
        shape = a * normal_cdf(a) + normal_pdf(a) + edge
    # No noise (or no time): the queue follows its drift exactly.
    return np.where(scale > 0, scale * np.nan_to_num(shape), np.maximum(mu, 0.0) * t)


def queue_tail(y: np.ndarray, mu: float, v: float, t: float) -> np.ndarray:
    """P(Q(t) > y) for y >= 0, the reflected Brownian motion from 0 (docs/theory.md, "Expected queue
    from empty")."""
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


# ---------------------------------------------------------------- a stable queue, tick by tick

TAIL = 1e-5             # a machine's state leaves out P(Q >= K), by the diffusion's exponential tail
K_MAX = 64              # the longest queue a state holds; a queue that needs more keeps the diffusion
BUDGET = 30_000         # the largest joint state of a component followed exactly (product of its K)
PHASE_SEED = 1          # numpy seed of the phase draws
PHASE_DRAWS = 8         # phase draws averaged over: the first from empty queues, then one per segment
SETTLE = 6.0            # the first draw, from empty queues, runs this many relaxation times v / mu^2
FIRST_TICKS = (100, 600)  # ... within this many ticks of the slowest machine the chain follows
SEGMENT = 2.0           # each later draw runs this many relaxation times, at least SEGMENT_TICKS ticks
SEGMENT_TICKS = 8
WORK_MAX = 4e8          # ticks to follow times states kept, beyond which the longest queue keeps the diffusion
TICKS_MAX = 150_000     # ... and ticks to follow
CACHED = 64             # chains kept for configurations asked again (compare's checks of many runs)
LEAK_TICK = 1e-6        # a source's free-tick probability below which its tick is skipped
LEAK_MIN = 0.2          # messages a growing neighbour leaks in while settled, below which they are ignored


_RUNS: "OrderedDict[tuple, tuple]" = OrderedDict()


@functools.lru_cache(maxsize=None)
def _at(ndim: int, axis: int, start: Optional[int], stop: Optional[int]) -> tuple:
    """Index of levels start:stop on `axis` of an ndim array."""
    return tuple(slice(start, stop) if a == axis else slice(None) for a in range(ndim))


def _add_shifted(acc: np.ndarray, b: np.ndarray, axis: int) -> None:
    """acc += b with one more message on `axis` (the last level keeps what would overflow)."""
    d = b.ndim
    acc[_at(d, axis, 1, None)] += b[_at(d, axis, None, -1)]
    acc[_at(d, axis, -1, None)] += b[_at(d, axis, -1, None)]


def _shifted(b: np.ndarray, axes: Sequence[int]) -> np.ndarray:
    """b with one more message on each of `axes` (a send-all)."""
    for axis in axes:
        out = np.zeros_like(b)
        _add_shifted(out, b, axis)
        b = out
    return b


def _deliver(acc: np.ndarray, b: np.ndarray, axes: Sequence[int], one: float, every: float) -> None:
    """acc += what a free tick of weight b does to the machines on `axes`: each gets the send-one
    with probability `one`, all of them the send-all with probability `every`; the rest of b stays."""
    if len(axes) == 1:
        acc += b * (1.0 - one - every)
        _add_shifted(acc, b * (one + every), axes[0])
        return
    acc += b * (1.0 - one * len(axes) - every)
    for axis in axes:
        _add_shifted(acc, b * one, axis)
    acc += _shifted(b * every, axes)


def _components(members: List[int], adj: np.ndarray) -> List[List[int]]:
    left, comps = set(members), []
    while left:
        comp, todo = [], [min(left)]
        left.discard(todo[0])
        while todo:
            y = todo.pop()
            comp.append(y)
            for z in [z for z in left if adj[y, z]]:
                left.discard(z)
                todo.append(z)
        comps.append(sorted(comp))
    return comps


def _clusters(members: List[int], adj: np.ndarray,
              size: Dict[int, int]) -> Tuple[List[Tuple[int, ...]], List[List[int]]]:
    """The machine sets whose joint law the chain keeps (docs/theory.md, "A stable queue, tick by
    tick"): a whole component if its state fits the budget; else each machine with its neighbours
    where every machine has at most two (a ring). The other components are kept as all their linked
    pairs (returned apart: _Pairs)."""
    out, dense = [], []
    for comp in _components(members, adj):
        if math.prod(size[x] for x in comp) <= BUDGET:
            out.append(tuple(comp))
        elif all(sum(1 for y in comp if adj[x, y]) <= 2 for x in comp):
            out += [tuple(sorted({x} | {y for y in comp if adj[x, y]})) for x in comp]
        else:
            dense.append(comp)
    kept: List[Tuple[int, ...]] = []
    for c in sorted(set(out), key=len, reverse=True):
        if not any(set(c) <= set(d) for d in kept):
            kept.append(c)
    return kept, dense


def _shift_batch(acc: np.ndarray, b: np.ndarray, axis: int) -> None:
    """acc += b with one more message on `axis` (1 or 2) of a stack of pair laws."""
    if axis == 1:
        acc[:, 1:, :] += b[:, :-1, :]
        acc[:, -1, :] += b[:, -1, :]
    else:
        acc[:, :, 1:] += b[:, :, :-1]
        acc[:, :, -1] += b[:, :, -1]


class _Pairs:
    """The joint laws of every linked pair (a, b), a < b, of one component, stacked: P[e, Q_a, Q_b]
    (levels 0..K-1 for every machine, K the largest the component needs). Same rules as the
    clusters of TickChain, for all pairs at once."""

    def __init__(self, nodes: List[int], adj: np.ndarray, levels: int):
        self.nodes, self.levels = nodes, levels
        self.edges = [(a, b) for a, b in itertools.combinations(nodes, 2) if adj[a, b]]
        ea = np.array([a for a, _ in self.edges])
        eb = np.array([b for _, b in self.edges])
        self.own: Dict[int, tuple] = {}
        for x in nodes:
            idx = np.flatnonzero((ea == x) | (eb == x))
            first = ea[idx] == x  # x is the pair's first machine
            partner = np.where(first, eb[idx], ea[idx])
            where = {int(y): k for k, y in enumerate(partner)}
            self.own[x] = (idx, first, where)
        self.ea, self.eb = ea, eb
        self._groups: Dict[int, tuple] = {}
        self.adj = adj

    def groups(self, x: int) -> tuple:
        """The pairs without x: those with both machines next to x, only the first, only the second;
        with the rows of x's own pairs that hold each such machine."""
        if x not in self._groups:
            where = self.own[x][2] if x in self.own else {}  # a source has no pairs of its own
            away = (self.ea != x) & (self.eb != x)
            near_a, near_b = self.adj[x, self.ea] & away, self.adj[x, self.eb] & away
            rows = lambda ends, sel: np.array([where.get(int(y), 0) for y in ends[sel]], dtype=int)  # noqa: E731
            both, only_a, only_b = near_a & near_b, near_a & ~near_b, ~near_a & near_b
            self._groups[x] = (np.flatnonzero(both), rows(self.ea, both), rows(self.eb, both),
                               np.flatnonzero(only_a), rows(self.ea, only_a),
                               np.flatnonzero(only_b), rows(self.eb, only_b))
        return self._groups[x]

    def start(self) -> None:
        self.state = np.zeros((len(self.edges), self.levels, self.levels))
        self.state[:, 0, 0] = 1.0

    def _oriented(self, x: int) -> np.ndarray:
        """The laws of x's pairs with Q_x on axis 1."""
        idx, first, _ = self.own[x]
        m = self.state[idx]
        return np.where(first[:, None, None], m, m.transpose(0, 2, 1))

    def mean(self, x: int) -> float:
        m = self._oriented(x)[0]
        return float(m.sum(axis=1) @ np.arange(self.levels))

    def tick(self, x: int, one: float, every: float, leak: Optional[float] = None) -> None:
        """A tick of x: a member (leak None) or a source free with probability `leak`."""
        both, both_a, both_b, only_a, rows_a, only_b, rows_b = self.groups(x)
        if leak is None:
            m = self._oriented(x)
            col = m.sum(axis=1)
            free = np.where(col > 1e-300, m[:, 0, :] / np.maximum(col, 1e-300), 0.0)  # P(x free | Q_y)
            px = max(float(m[:, 0, :].sum(axis=1).mean()), 1e-300)
            g_both = np.minimum(free[both_a][:, :, None] * (free[both_b] / px)[:, None, :], 1.0)
            g_a, g_b = free[rows_a][:, :, None], free[rows_b][:, None, :]
        else:
            g_both = g_a = g_b = leak
        if both.size:
            p = self.state[both]
            sent = p * g_both
            new = p - sent * (2 * one + every)
            single = sent * one
            _shift_batch(new, single, 1)
            hit = single.copy()
            _shift_batch(hit, sent * every, 1)
            _shift_batch(new, hit, 2)
            self.state[both] = new
        for group, g, axis in ((only_a, g_a, 1), (only_b, g_b, 2)):
            if group.size:
                p = self.state[group]
                sent = p * (g * (one + every))
                new = p - sent
                _shift_batch(new, sent, axis)
                self.state[group] = new
        if leak is None:
            idx, first, _ = self.own[x]
            new = np.zeros_like(m)
            new[:, :-1, :] = m[:, 1:, :]  # a receive
            free_row = m[:, 0, :]
            new[:, 0, :] += free_row * (1.0 - one - every)
            new[:, 0, 1:] += free_row[:, :-1] * (one + every)
            new[:, 0, -1] += free_row[:, -1] * (one + every)
            self.state[idx] = np.where(first[:, None, None], new, new.transpose(0, 2, 1))


class TickChain:
    """The expected queues of the stable machines, tick by tick (docs/theory.md, "A stable queue, tick
    by tick"). Set up from the
    parameters only; the chain runs on first use."""

    def __init__(self, rates: np.ndarray, p: float, adj: np.ndarray, stable: np.ndarray, rho: np.ndarray,
                 drift: np.ndarray, variance: np.ndarray, gain: np.ndarray):
        self.rates = np.asarray(rates, dtype=float)
        n = self.rates.size
        self.adj = np.asarray(adj) > 0
        self.drift, self.variance = np.asarray(drift, dtype=float), np.asarray(variance, dtype=float)
        degree = self.adj.sum(axis=1)
        self.one = np.where(degree > 0, 2.0 * (1.0 - p) / 3.0 / np.maximum(degree, 1), 0.0)
        self.every = (1.0 - p) / 3.0
        self.rho = np.asarray(rho, dtype=float)
        self.gain = np.asarray(gain, dtype=float)
        stable = np.asarray(stable, dtype=bool)
        need = np.full(n, math.inf)
        for x in np.flatnonzero(stable & (self.drift < 0)):
            need[x] = 3.0 + self.variance[x] / (2.0 * -self.drift[x]) * math.log(1.0 / TAIL)
        self.stable = stable
        self.covered = stable & (need <= K_MAX)
        self.size = {int(x): int(max(3, math.ceil(need[x]))) for x in np.flatnonzero(self.covered)}
        while True:
            self._setup()
            ticks, states = self._work()
            if ticks * states <= WORK_MAX and ticks <= TICKS_MAX:
                break
            # Too much to follow: the longest queue (the slowest to settle) goes back to the diffusion.
            self.covered[max(self.members, key=lambda x: (self.size[x], self.variance[x] / self.drift[x] ** 2))] = False
        self._tables: Optional[Dict[int, np.ndarray]] = None
        self._stationary: Optional[np.ndarray] = None

    def _setup(self) -> None:
        """Members, sources and clusters for the machines covered now."""
        n = self.rates.size
        self.members = [int(x) for x in np.flatnonzero(self.covered)]
        self.sources = [u for u in range(n) if not self.covered[u] and any(self.adj[u, y] for y in self.members)]
        self.clusters, dense = _clusters(self.members, self.adj, self.size) if self.members else ([], [])
        self.pairs = [_Pairs(comp, self.adj, max(self.size[x] for x in comp)) for comp in dense]
        self._block = {x: b for b in self.pairs for x in b.nodes}

    def _work(self) -> Tuple[float, float]:
        """Ticks to follow, and the states they may touch: the run's cost, roughly."""
        if not self.members:
            return 0.0, 0.0
        ends = self._draws()[1]
        ticks = float(ends[-1]) * self.rates[self.members + self.sources].sum()
        states = sum(math.prod(self.size[y] for y in c) for c in self.clusters)
        states += sum(len(b.edges) * b.levels ** 2 for b in self.pairs)
        return ticks, float(states)

    @property
    def horizon(self) -> float:
        """Model seconds of the first phase draw, followed from empty queues: SETTLE relaxation
        times v / mu^2 of the slowest queue, within FIRST_TICKS ticks of the slowest machine."""
        if not self.members:
            return 0.0
        slowest = float(self.rates[self.members].min())
        return float(np.clip(SETTLE * self._relax(), FIRST_TICKS[0] / slowest, FIRST_TICKS[1] / slowest))

    def _draws(self) -> Tuple[np.ndarray, np.ndarray]:
        """Start and end of each phase draw: the first for the horizon, then PHASE_DRAWS - 1 segments."""
        first = self.horizon
        slowest = float(self.rates[self.members].min())
        span = float(np.clip(SEGMENT * self._relax(), SEGMENT_TICKS / slowest, first))
        starts = np.concatenate([[0.0], first + span * np.arange(PHASE_DRAWS - 1)])
        return starts, np.concatenate([[first], starts[1:] + span])

    def _relax(self) -> float:
        m = np.array(self.members)
        return float(np.max(self.variance[m] / self.drift[m] ** 2))

    @property
    def stationary(self) -> np.ndarray:
        """Each followed queue's long-run mean (the settled mean over the phase draws, without the
        leaks of growing neighbours); 0 elsewhere."""
        self._ensure()
        return self._stationary

    def queue(self, t: float) -> np.ndarray:
        """E[Q_i] after i's last tick before t (0 where the chain does not follow i)."""
        self._ensure()
        out = np.zeros(self.rates.size)
        later = self._later(t - 0.5, t + 0.5) if t > self._first else self._stationary
        for x, table in self._tables.items():
            at = self.rates[x] * t - 0.5  # the last tick before t, on average over the phase
            out[x] = np.interp(at, np.arange(-1, table.size), np.concatenate([[0.0], table]), right=later[x])
        return out

    def queue_mean(self, t: float) -> np.ndarray:
        """Mean of E[Q_i] over i's ticks before t (0 where the chain does not follow i)."""
        self._ensure()
        out = np.zeros(self.rates.size)
        for x, table in self._tables.items():
            k = int(round(self.rates[x] * t))
            if k <= 0:
                continue
            if k <= table.size:
                out[x] = table[:k].mean()
            else:
                after = table.size / self.rates[x]
                out[x] = (table.sum() + self._later(after, t)[x] * (k - table.size)) / k
        return out

    # ------------------------------------------------------------ the run

    def _ensure(self) -> None:
        """Run the chain: the first phase draw from empty queues for the horizon, then PHASE_DRAWS - 1
        segments with fresh phases. The settled mean is the average over the second half of every
        draw (a fresh draw's first half absorbs the change of phase); the expected queue over the
        horizon is the first draw's, scaled to that average. Where growing neighbours still leak
        free ticks meanwhile, a second run without them gives the long-run mean, and the leak's
        share is carried on in proportion to the leak (docs/theory.md, "Phases and horizon")."""
        if self._tables is not None:
            return
        key = (self.every, *(a.tobytes() for a in (self.rates, self.adj, self.covered, self.rho, self.drift,
                                                      self.variance, self.gain)))
        if key in _RUNS:
            _RUNS.move_to_end(key)
            (self._first, self._leak_mean, self._tables, self._stationary, self._excess) = _RUNS[key]
            return
        self._compute()
        _RUNS[key] = (self._first, self._leak_mean, self._tables, self._stationary, self._excess)
        while len(_RUNS) > CACHED:
            _RUNS.popitem(last=False)

    def _compute(self) -> None:
        if not self.members:
            self._first, self._leak_mean, self._tables = 0.0, 0.0, {}
            self._stationary, self._excess = np.zeros(self.rates.size), np.zeros(self.rates.size)
            return
        self._plan()
        starts, ends = self._draws()
        first = self._first = float(ends[0])
        times, values = self._run(starts, ends, True)
        windows = list(zip((starts + ends) / 2, ends))
        leaked = sum(self._leaked(a, b) for a, b in windows)
        values0 = self._run(starts, ends, False)[1] if leaked > LEAK_MIN else values
        self._leak_mean = leaked / sum(b - a for a, b in windows)
        self._tables, self._stationary = {}, np.zeros(self.rates.size)
        self._excess = np.zeros(self.rates.size)
        for x in self.members:
            t = times[x]
            settled = np.zeros(t.size, dtype=bool)
            for a, b in windows:
                settled |= (t >= a) & (t < b)
            mean = float(values[x][settled].mean()) if settled.any() else 0.0
            table = values[x][t < first]
            own = table[table.size // 2:].mean() if table.size else 0.0
            self._tables[x] = table * (mean / own) if own > 1e-12 else table
            self._stationary[x] = float(values0[x][settled].mean()) if settled.any() else 0.0
            self._excess[x] = mean - self._stationary[x]

    def _leaked(self, a: float, b: float) -> float:
        """Messages the growing neighbours send the chain's machines in [a, b) (expected)."""
        total = 0.0
        for u in self.sources:
            if not self.stable[u]:
                reach = sum(self.one[u] + self.every for y in self.members if self.adj[u, y])
                total += reach * (self._idle_ticks(u, b) - self._idle_ticks(u, a))
        return total

    def _idle_ticks(self, u: int, t: float) -> float:
        """E[I_u(t)] = (E[Q_u(t)] - mu_u t) / (1 - kappa_u): a growing machine's free ticks up to t."""
        q = float(expected_queue(self.drift[u], self.variance[u], t))
        return (q - self.drift[u] * t) / (1.0 - self.gain[u])

    def _later(self, a: float, b: float) -> np.ndarray:
        """Mean expected queue over [a, b), after the first draw: the long-run mean plus the leak's
        share, scaled by the leak then against the leak while settled."""
        if self._leak_mean <= 0.0 or b <= a:
            return self._stationary.copy()
        return self._stationary + self._excess * self._leaked(a, b) / (b - a) / self._leak_mean

    def _plan(self) -> None:
        """For each machine that ticks, which clusters its tick changes and how."""
        cl, adj = self.clusters, self.adj
        self._own: Dict[int, list] = {}
        self._other: Dict[int, list] = {}
        for x in self.members + self.sources:
            own, other = [], []
            for k, c in enumerate(cl):
                near = [i for i, y in enumerate(c) if y != x and adj[x, y]]
                if x in c:
                    own.append((k, c.index(x), near))
                elif near:
                    other.append((k, near, None if x in self.sources else self._closure(x, c, near)))
            self._own[x], self._other[x] = own, other

    def _closure(self, x: int, c: Tuple[int, ...], near: List[int]):
        """How P(x free | the state of cluster c) is approximated: conditioned on c's overlap with
        the cluster holding x that shares most of c, times P(x free | Q_y) / P(x free) for each
        other neighbour y of x in c (Kirkwood)."""
        best, overlap = None, ()
        for k, d in enumerate(self.clusters):
            if x in d:
                o = tuple(y for y in c if y in d)
                if len(o) > len(overlap):
                    best, overlap = k, o
        extra = [(i, next(k for k, d in enumerate(self.clusters) if x in d and c[i] in d))
                 for i in near if c[i] not in overlap]
        return best, overlap, extra

    def _free_given(self, x: int, k: int, keep: Tuple[int, ...], cache: dict) -> Tuple[np.ndarray, float]:
        """P(x free | Q of `keep`) from cluster k (axes of `keep` in order), and P(x free)."""
        key = (k, keep)
        if key not in cache:
            d, a = self.clusters[k], self.state[k]
            ax = d.index(x)
            drop = tuple(i for i, y in enumerate(d) if y not in keep)
            free = a[_at(a.ndim, ax, 0, 1)]
            num, den = free.sum(axis=drop), a.sum(axis=drop)
            cache[key] = (np.where(den > 1e-300, num / np.maximum(den, 1e-300), 0.0), float(free.sum()))
        return cache[key]

    def _leak(self, u: int, t: np.ndarray) -> np.ndarray:
        """Free-tick probability of a machine outside the chain at times t: a stable one's mean
        field 1 - rho; a growing one's dE[I]/dt / r (docs/theory.md, "Leaks")."""
        if self.stable[u]:
            return np.full(t.shape, 1.0 - self.rho[u])
        mu, v = self.drift[u], self.variance[u]
        h = np.maximum(1e-3, 1e-3 * t)
        lo = np.maximum(t - h, 0.0)
        rise = (expected_queue(mu, v, t + h) - expected_queue(mu, v, lo)) / (t + h - lo)
        return np.clip((rise - mu) / (1.0 - self.gain[u]) / self.rates[u], 0.0, 1.0)

    def _run(self, starts: np.ndarray, ends: np.ndarray,
             leaks: bool) -> Tuple[Dict[int, np.ndarray], Dict[int, np.ndarray]]:
        """Time and E[Q] after each tick of each member; machine x ticks at (phase + k) / r_x within
        each segment [start, end), with a fresh uniform phase per segment; `leaks`: whether growing
        neighbours send their free ticks."""
        phases = np.random.default_rng(PHASE_SEED).random((starts.size, self.rates.size))
        times, who, leak = [], [], []
        for x in self.members + self.sources:
            r = self.rates[x]
            t = np.concatenate([a + (ph + np.arange(int(math.ceil((b - a) * r)) + 1)) / r
                                for a, b, ph in zip(starts, ends, phases[:, x])])
            end = np.concatenate([np.full(int(math.ceil((b - a) * r)) + 1, b) for a, b in zip(starts, ends)])
            t = t[t < end]
            times.append(t)
            who.append(np.full(t.size, x))
            silent = x in self.sources and not (leaks or self.stable[x])
            leak.append(self._leak(x, t) if x in self.sources and not silent else np.zeros(t.size))
        t_all = np.concatenate(times)
        order = np.argsort(t_all, kind="stable")
        self.state = []
        for c in self.clusters:
            a = np.zeros(tuple(self.size[y] for y in c))
            a[(0,) * len(c)] = 1.0
            self.state.append(a)
        for block in self.pairs:
            block.start()
        record: Dict[int, list] = {x: [] for x in self.members}
        levels = {x: np.arange(self.size[x], dtype=float) for x in self.members}
        for x, g in zip(np.concatenate(who)[order].tolist(), np.concatenate(leak)[order].tolist()):
            self._tick(x, g)
            if x in self._block:
                record[x].append(self._block[x].mean(x))
            elif x in record:
                k, ax, _ = self._own[x][0]
                a = self.state[k]
                marginal = a.sum(axis=tuple(i for i in range(a.ndim) if i != ax))
                record[x].append(float(marginal @ levels[x]))
        self.state = []
        return ({x: times[i] for i, x in enumerate(self.members)},
                {x: np.array(v) for x, v in record.items()})

    def _tick(self, x: int, leak: float) -> None:
        """One tick of machine x: first the clusters that hold its neighbours but not x (what x sends
        them, given their state), then the clusters that hold x (exact)."""
        one, every = float(self.one[x]), self.every
        source = x in self.sources
        if source and leak <= LEAK_TICK:
            return
        for block in self.pairs:
            if source:
                block.tick(x, one, every, leak)
            elif x in block.nodes:
                block.tick(x, one, every)
        cache: dict = {}
        for k, near, closure in self._other[x]:
            a = self.state[k]
            if source:
                g = leak
            else:
                best, overlap, extra = closure
                c = self.clusters[k]
                g = np.ones(a.shape)
                if overlap:
                    g = g * self._free_given(x, best, overlap, cache)[0].reshape(
                        [self.size[y] if y in overlap else 1 for y in c])
                for i, k2 in extra:
                    f, px = self._free_given(x, k2, (c[i],), cache)
                    g = g * (f / max(px, 1e-300)).reshape([-1 if j == i else 1 for j in range(a.ndim)])
                g = np.minimum(g, 1.0)
            sent = a * g
            new = a - sent
            _deliver(new, sent, near, one, every)
            self.state[k] = new
        for k, ax, near in self._own[x]:
            a = self.state[k]
            new = np.zeros_like(a)
            new[_at(a.ndim, ax, None, -1)] = a[_at(a.ndim, ax, 1, None)]  # a receive
            free = a[_at(a.ndim, ax, 0, 1)]
            _deliver(new[_at(a.ndim, ax, 0, 1)], free, near, one, every)
            self.state[k] = new


def arrivals_per_tick(mean: float, var: float) -> np.ndarray:
    """A law of the messages that arrive between two ticks with this mean and variance: binomial
    (the senders' thinned tick grids) when below the mean, negative binomial above, Poisson at it."""
    top = int(mean + 12 * math.sqrt(max(var, mean, 1e-9)) + 12)
    k = np.arange(top + 1)
    if var < mean * (1 - 1e-9):
        trials = max(int(math.ceil(mean * mean / (mean - var) - 1e-9)), int(math.ceil(mean)), 1)
        p = mean / trials
        law = np.array([math.comb(trials, j) * p ** j * (1 - p) ** (trials - j) if j <= trials else 0.0 for j in k])
    elif var > mean * (1 + 1e-9):
        size, p = mean * mean / (var - mean), mean / var
        law = np.exp([math.lgamma(j + size) - math.lgamma(size) - math.lgamma(j + 1) + size * math.log(p)
                      + j * math.log(1 - p) for j in k])
    else:
        law = np.exp([-mean + j * math.log(max(mean, 1e-300)) - math.lgamma(j + 1) for j in k])
    return law / law.sum()
