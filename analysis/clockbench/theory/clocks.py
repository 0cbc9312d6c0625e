"""Lamport clock paces and mean receive jumps predicted from the parameters (rates, p_internal,
topology, phases, latency, run length) and, for the jump, the run's receive count: the
`jump_mean` check of compare.py. Derivation: docs/theory.md, "Lamport clock paces" and "The jump
prediction" (sections named below are their subsections).

Symbols: sigma_i the pace (clock slope), the fixed point sigma_i = max(r_i + e_i, max_j sigma_j)
for a stable i, max(r_i, (r_i / lambda_i) max_j sigma_j) for an unstable one ("The pace fixed
point"); e_i a pace setter's excess over its own rate: leapfrogging pairs and the lead walk of a
group of equal-rate setters ("Leapfrogging setters", "Groups of setters: the lead walk"), slower
rivals r / 2 < r_y < r ("Slower rivals"), or, where the setter's relays all hear each other, the
seeded simulation of their front ("The front of a clique"); u_i the largest pace among i's stable
senders; `contested`: a pace from the approximate group model. For the jump: jump_mean =
1 + X_i / R_i, X_i = L_i(T) - ticks_i, R_i the receives; L_i(T) = sigma_i T - D_i, D_i the deficit
along the chain of pace senders, the offers of fresher senders, the relays of unstable machines
("Clock at the end of a run, and the mean jump", "Relays"); its noise given R by the regression
of X on R ("Noise of jump_mean").
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from clockbench.theory.finite import QueueDiffusion
from clockbench.theory.fluctuations import running_max_moments
from clockbench.theory.mean_field import Prediction, send_matrix

# Rates within this relative distance count as equal (a leapfrogging pair).
_SAME_RATE = 1e-9


@dataclass
class ClockPaces:
    """Per machine: its long-run clock slope and where it comes from."""

    slope: np.ndarray       # sigma_i, clock units per model second
    incoming: np.ndarray    # u_i: the largest pace among its stable senders (0 if none)
    excess: np.ndarray      # e_i of a pace setter (0 elsewhere)
    contested: np.ndarray   # bool: the pace comes from the group model's approximation
    setter: np.ndarray      # bool: a stable machine running at its own pace (no deficit)


def paces(pred: Prediction, adj: np.ndarray, phases: Optional[Sequence[float]] = None,
          latency: float = 0.0) -> ClockPaces:
    """The paces' fixed point (docs/theory.md, "The pace fixed point"). phases: each machine's,
    None for random ones; latency: the mean latency, model seconds."""
    r, n = pred.rates, pred.n
    c = send_matrix(adj, pred.p_internal)
    heard = (np.asarray(adj) > 0) & pred.stable[:, None]  # heard[j, i]: stable j sends to i
    excess, contested = _setter_excess(pred, c, heard, phases, latency)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(pred.stable, 1.0, np.nan_to_num(r / pred.arrival))
    own = r + excess
    sigma, flag = own.copy(), contested.copy()
    for _ in range(n + 1):  # a pace travels at most n hops; values only grow
        into = np.where(heard, sigma[:, None], -1.0)
        best = into.argmax(axis=0)
        pulled = factor * into.max(axis=0)
        take = pulled > own * (1 + _SAME_RATE)
        new_sigma, new_flag = np.where(take, pulled, own), np.where(take, flag[best], contested)
        if np.array_equal(new_sigma, sigma) and np.array_equal(new_flag, flag):
            break  # settled: every further round gives the same
        sigma, flag = new_sigma, new_flag
    incoming = np.maximum(np.where(heard, sigma[:, None], -1.0).max(axis=0), 0.0)
    return ClockPaces(slope=sigma, incoming=incoming, excess=excess, contested=flag,
                      setter=pred.stable & (sigma <= own))


def _setter_excess(pred: Prediction, c: np.ndarray, heard: np.ndarray,
                   phases: Optional[Sequence[float]], latency: float):
    """e_i and the approximate flag of every machine that could set its own pace: the lead's
    walk over its group of equal-rate setters (docs/theory.md, "Groups of setters: the lead walk"),
    the front where the relays form a clique ("The front of a clique")."""
    r, n = pred.rates, pred.n
    free = r * (1.0 - pred.utilisation)
    excess, approximate = np.zeros(n), np.zeros(n, dtype=bool)
    fronts: Dict[Tuple[int, ...], float] = {}
    for x in range(n):
        rivals = [int(y) for y in np.flatnonzero(heard[:, x]) if r[y] > r[x] / 2]
        if not pred.stable[x] or not rivals or any(r[y] > r[x] * (1 + _SAME_RATE) for y in rivals):
            continue  # x does not set its own pace
        group = _equal_group(x, r, heard)
        slower = [y for y in rivals if r[y] < r[x] * (1 - _SAME_RATE) and heard[x, y]]
        relays = tuple(sorted([x] + rivals))
        if (len(group) > 2 or slower) and all(heard[y, z] for y in relays for z in relays if y != z):
            if relays not in fronts:  # every member of the clique shares its front
                fronts[relays] = _front_pace(pred, c, relays, phases, latency)
            excess[x] = max(fronts[relays] - r[x], 0.0)
            continue
        approximate[x] = len(group) > 2 or bool(slower)
        excess[x] = sum(_rival_gains(x, y, c, free, pred, phases, latency) for y in slower)
        if len(group) < 2:
            continue
        if len(group) == 2 and phases is None:
            excess[x] += _random_phase_pair(group, c, free, pred, latency)
            continue
        gains = np.array([[_gains(y, z, c, free, pred, phases, latency) if heard[y, z] and y != z else 0.0
                           for z in group] for y in group])
        excess[x] += _lead_walk_rate(gains)
    return excess, approximate


# The front's simulation (docs/theory.md, "The front of a clique"): model seconds measured, after
# a warm-up; its seed.
FRONT_SECONDS, FRONT_WARMUP, _FRONT_SEED = 300.0, 20.0, 20261128
# At most this many ticks of the fastest relay (300 s at 6 Hz): fast machines are simulated for
# fewer model seconds, in proportion (docs/theory.md, "The front of a clique").
FRONT_TICKS = 1800.0
# Phase draws averaged over when the run's phases are not given (random phases).
_FRONT_DRAWS = 4


def _front_pace(pred: Prediction, c: np.ndarray, relays: Tuple[int, ...], phases: Optional[Sequence[float]],
                latency: float) -> float:
    """The pace of the highest clock among a clique of relays (docs/theory.md, "The front of a
    clique"), in clock units
    per model second: the run's phases, or the mean over _FRONT_DRAWS uniform draws."""
    rng = np.random.default_rng(_FRONT_SEED)
    if phases is not None:
        return _front_run(pred, c, relays, np.asarray(phases, dtype=float), latency, rng)
    draws = [rng.uniform(0.0, 1.0, pred.n) / pred.rates for _ in range(_FRONT_DRAWS)]
    return float(np.mean([_front_run(pred, c, relays, p, latency, rng) for p in draws]))


def _front_run(pred: Prediction, c: np.ndarray, relays: Tuple[int, ...], phases: np.ndarray, latency: float,
               rng: np.random.Generator) -> float:
    """One simulated front: the relays' clocks by docs/model.md's tick rule; the rest of the
    machines only as Poisson traffic (clock -1) that takes the relays' ticks."""
    r, p = pred.rates, pred.p_internal
    inside = np.zeros(pred.n, dtype=bool)
    inside[list(relays)] = True
    free = r * (1.0 - pred.utilisation)
    scale = min(1.0, FRONT_TICKS / (FRONT_SECONDS * float(r[list(relays)].max())))
    warmup, seconds = FRONT_WARMUP * scale, FRONT_SECONDS * scale
    end = warmup + seconds
    peers = {w: np.flatnonzero(c[w] > 0) for w in relays}
    queues: Dict[int, list] = {}
    order = 0  # ties in arrival time: first sent, first queued
    for w in relays:
        rate = float(np.sum(np.where(inside, 0.0, c[:, w] * free)))
        times = np.sort(rng.uniform(0.0, end, rng.poisson(rate * end)))
        queues[w] = [(float(a), order + k, -1) for k, a in enumerate(times)]
        order += times.size
    clock = {w: 0 for w in relays}
    ticks = [(float(phases[w]), w, 0) for w in relays]
    heapq.heapify(ticks)
    one = 2.0 * (1.0 - p) / 3.0
    top, at_warmup = 0, None
    while ticks:
        t, w, k = heapq.heappop(ticks)
        if t >= end:
            break
        if at_warmup is None and t >= warmup:
            at_warmup = top
        queue = queues[w]
        if queue and queue[0][0] < t:  # a tick does not see a message arriving on its deadline
            clock[w] = max(clock[w], heapq.heappop(queue)[2]) + 1
        else:
            clock[w] += 1
            u = rng.random()
            if u >= p:
                to = peers[w] if u >= p + one else peers[w][[int((u - p) / one * peers[w].size)]]
                for d in to[inside[to]]:
                    heapq.heappush(queues[int(d)], (t + latency, order, clock[w]))
                    order += 1
        top = max(top, clock[w])
        heapq.heappush(ticks, (float(phases[w]) + (k + 1) / r[w], w, k + 1))
    return (top - (at_warmup or 0)) / seconds


def _random_phase_pair(pair: list, c: np.ndarray, free: np.ndarray, pred: Prediction, latency: float) -> float:
    """A leapfrogging pair's excess averaged over a uniform offset delta of their phases: both
    directions are in time only for latency < delta < period - latency, a share (1 - 2 D / P)^+ of
    the offsets, and outside it the lead cannot pass back at all (e = 0)."""
    x, y = pair
    a_xy = _gains(x, y, c, free, pred, None, 0.0)
    a_yx = _gains(y, x, c, free, pred, None, 0.0)
    both = max(0.0, 1.0 - 2.0 * latency * pred.rates[x])
    return both / (1.0 / a_xy + 1.0 / a_yx) if a_xy > 0 and a_yx > 0 else 0.0


def _equal_group(x: int, r: np.ndarray, heard: np.ndarray) -> list:
    """x and the stable machines of its rate that reach it and it reaches, directly or through
    each other (mutual links only: the lead passes both ways)."""
    group, todo = [x], [x]
    while todo:
        y = todo.pop()
        for z in np.flatnonzero(heard[y] & heard[:, y]):
            if z not in group and abs(r[z] - r[x]) <= _SAME_RATE * r[x]:
                group.append(int(z))
                todo.append(int(z))
    return sorted(group)


def _lead_walk_rate(gains: np.ndarray) -> float:
    """e = 1 / (2 sum_y pi_y / A_y): the lead stays with y for 1 / A_y (A_y = its gains per second
    to the group) and passes to z with probability gains[y, z] / A_y; pi: that walk's stationary
    law; every two passes add one to the group's pace. 0 if some member can never pass it on."""
    out = gains.sum(axis=1)
    if np.any(out <= 0):
        return 0.0
    walk = gains / out[:, None]
    values, vectors = np.linalg.eig(walk.T)
    pi = np.abs(np.real(vectors[:, int(np.argmin(np.abs(values - 1.0)))]))
    pi /= pi.sum()
    return float(1.0 / (2.0 * np.sum(pi / out)))


def _gains(x: int, y: int, c: np.ndarray, free: np.ndarray, pred: Prediction,
           phases: Optional[Sequence[float]], latency: float) -> float:
    """Messages x -> y per second that y takes before x ticks again (docs/theory.md, "Leapfrogging
    setters")."""
    period = 1.0 / pred.rates[x]
    sent = c[x, y] * free[x]
    others = max(0.0, pred.arrival[y] - sent)  # y's load from everyone else
    empty = max(0.0, 1.0 - others / pred.rates[y])
    if phases is None:  # random phases: the offset is uniform over one period
        in_time = max(0.0, 1.0 - latency / period)
    else:
        delta = (phases[y] - phases[x]) % period
        in_time = 1.0 if latency < delta < period else 0.0
    return sent * empty * in_time


def _offers(clock_end: np.ndarray, behind: np.ndarray, takes: np.ndarray, n: int, var: Optional[np.ndarray] = None):
    """Clocks at T after every machine in `takes` has taken the best offer L_j(T) - behind[j, i]
    of its senders, along the chains (at most n hops); with var, also the variance each carries
    (the winning sender's)."""
    end = clock_end.copy()
    carried = np.zeros(n) if var is None else var.copy()
    for _ in range(n + 1):
        offers = end[:, None] - behind
        best = offers.argmax(axis=0)
        better = takes & (offers.max(axis=0) > end)
        end = np.where(better, offers.max(axis=0), end)
        carried = np.where(better, np.maximum(carried, carried[best]), carried)
    return end if var is None else (end, carried)


# Points of the integral over the time of a relay.
_RELAY_POINTS = 32


def _relays(pred: Prediction, adj: np.ndarray, line: np.ndarray, sigma: np.ndarray, queues: QueueDiffusion,
            t: float, c: np.ndarray):
    """Mean and variance, per machine, of what an unstable neighbour's rare free ticks add to its
    clock at T (docs/theory.md, "Relays"): the latest relay from j at time s lifts i by (u_j - sigma_i) s,
    u_j the steepest clock line (clock at T / T) among j's stable senders."""
    n = pred.n
    mean, var = np.zeros(n), np.zeros(n)
    s = np.linspace(0.0, t, _RELAY_POINTS)
    heard = (np.asarray(adj) > 0) & pred.stable[:, None]
    for j in np.flatnonzero(~pred.stable):
        if not heard[:, j].any():
            continue
        lift = line[heard[:, j]].max() - sigma
        targets = np.flatnonzero((np.asarray(adj)[j] > 0) & (lift > 0) & (c[j] > 0))
        if targets.size == 0:
            continue
        idle = np.array([running_max_moments(float(queues.drift[j]), float(queues.variance[j]), x)[0] for x in s])
        later = idle[-1] - idle  # free ticks of j in (s, T]
        for i in targets:
            p_none = np.exp(-c[j, i] * later)  # no relay to i after s
            first = float(np.trapz(1.0 - p_none, s))           # E[time of the last relay]
            second = float(np.trapz(2 * s * (1.0 - p_none), s))  # E[its square]
            mean[i] = max(mean[i], lift[i] * first)
            var[i] = max(var[i], lift[i] ** 2 * max(second - first * first, 0.0))
    return mean, var


# Ticks of the setter sampled for the slower rival's timing, and the most rival ticks looked at.
_RIVAL_SAMPLES = 240
_RIVAL_TICKS = 8


def _rival_gains(x: int, y: int, c: np.ndarray, free: np.ndarray, pred: Prediction,
                 phases: Optional[Sequence[float]], latency: float) -> float:
    """Clock units per second a setter x gains from a slower rival y (r_x / 2 < r_y < r_x), the
    count of docs/theory.md, "Slower rivals": per fresh message of x that y takes, y's first
    message back, sent k of y's ticks later, beats x's clock when x has ticked j <= k times since
    its send; x then gains k + 1 - j. The tick grid is the run's (phases) or, for random phases,
    sampled offsets."""
    r = pred.rates
    to_y, to_x = c[x, y] * free[x], c[y, x] * free[y]
    empty_y = max(0.0, 1.0 - max(0.0, pred.arrival[y] - to_y) / r[y])
    empty_x = max(0.0, 1.0 - max(0.0, pred.arrival[x] - to_x) / r[x])
    refresh = to_y * empty_y            # fresh messages of x that y takes, per second
    q, h = refresh / r[y], to_x / r[y]  # per tick of y: takes one of x's; sends to x
    if refresh <= 0 or h <= 0:
        return 0.0
    n = np.arange(_RIVAL_SAMPLES)
    if phases is None:
        t0, y0 = n / r[x], (n * 0.6180339887498949 % 1.0) / r[y]  # offsets spread evenly
    else:
        t0, y0 = phases[x] + n / r[x], np.full(n.size, float(phases[y]))
    # y's first tick after the arrival (a tick at the arrival's own deadline does not see it).
    t1 = y0 + (np.floor((t0 + latency - y0) * r[y]) + 1) / r[y]
    per_refresh = 0.0
    for k in range(1, _RIVAL_TICKS + 1):
        t2 = t1 + k / r[y]
        taken = np.floor((t2 + latency - t0) * r[x]) + 1  # x's ticks from its send to the one taking it
        size = np.maximum(k + 1 - (taken - 1), 0.0)
        per_refresh += (1.0 - q - h) ** (k - 1) * h * float(size.mean())
    return refresh * per_refresh * empty_x


@dataclass
class JumpPrediction:
    """Per machine: the expected mean receive jump over a run and its standard deviation."""

    mean: np.ndarray
    sd: np.ndarray


def jump_prediction(pred: Prediction, adj: np.ndarray, clocks: ClockPaces, queues: QueueDiffusion,
                    t: float, ticks: np.ndarray, free: np.ndarray, taken: np.ndarray,
                    latency: float = 0.0) -> JumpPrediction:
    """The mean jump over [0, t] and its noise, given the receives R (docs/theory.md, "The jump
    prediction"). ticks:
    each machine's ticks in the run (fixed by its rate and phase); free: expected free ticks
    (transient.py); taken: the run's receive counts; latency: the mean latency, model seconds."""
    r, n = pred.rates, pred.n
    c = send_matrix(adj, pred.p_internal)
    heard = (np.asarray(adj) > 0) & pred.stable[:, None]
    # Messages per second from each stable sender that carries i's incoming pace.
    carry = np.where(heard & np.isclose(clocks.slope[:, None], clocks.incoming[None, :], rtol=1e-9),
                     c * (r * (1.0 - pred.utilisation))[:, None], 0.0)
    heard_rate = carry.sum(axis=0)
    weights = np.divide(carry, heard_rate, out=np.zeros_like(carry), where=heard_rate > 0)
    setter = clocks.setter
    lam0 = np.maximum(queues.busy_arrival, 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.where(pred.stable, np.maximum(clocks.incoming - r, 0.0) / heard_rate,
                       clocks.incoming * queues.queue(t) / lam0) + clocks.incoming * latency
        gap_var = np.where(pred.stable, gap ** 2, (clocks.incoming / lam0) ** 2 * queues.variance * t)
    gap, gap_var = np.where(setter, 0.0, np.nan_to_num(gap)), np.where(setter, 0.0, np.nan_to_num(gap_var))
    deficit, var = np.zeros(n), np.zeros(n)
    pace = np.where(setter, clocks.slope, clocks.incoming)
    most = np.maximum(pace * t - ticks, 0.0)  # a clock never falls behind its own ticks
    for _ in range(n + 1):  # along the chains of pace senders, at most n hops
        deficit = np.minimum(np.where(setter, 0.0, gap + weights.T @ deficit), most)
        var = np.where(setter, np.maximum(clocks.slope - r, 0.0) * t, gap_var + weights.T @ var)
    clock_end = np.maximum(pace * t - deficit, ticks)  # never behind its own ticks
    # A slower sender with a fresher clock may offer more than the pace carriers by the end.
    flow = c * (r * (1.0 - pred.utilisation))[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        behind = np.where(heard & (flow > 0), np.maximum(clocks.slope[:, None] - r[None, :], 0.0) / flow
                          + clocks.slope[:, None] * latency, np.inf)
    follower = pred.stable & ~setter
    base = _offers(clock_end, behind, follower, n)
    # Relays across unstable machines lift a clock, and the lift travels on along the chains (any
    # stable machine, a setter too, takes an offer above its own line); twice, for a relay of a relay.
    lifted, lift_var = base, np.zeros(n)
    for _ in range(2):
        relay_mean, relay_var = _relays(pred, adj, lifted / max(t, 1e-12), clocks.slope, queues, t, c)
        lifted, lift_var = _offers(base + relay_mean, behind, pred.stable, n, relay_var)
    clock_end, var = np.maximum(base, lifted), var + lift_var
    expected = np.maximum(ticks - free, 1e-12)
    taken = np.maximum(np.asarray(taken, dtype=float), 1.0)
    # A stable machine's queue at T ages its last pace message by Q / lambda and takes Q from R.
    queue_var = queues.queue(t) ** 2
    age = np.where(pred.stable, clocks.incoming / np.maximum(pred.arrival, 1e-12), 0.0)
    receives_var = queues.variance * t + queue_var
    slope = np.divide(age * queue_var, receives_var, out=np.zeros(n), where=receives_var > 0)
    gain = clock_end - ticks + slope * (taken - expected)  # E[X | R], a regression on R
    gain_var = var + age ** 2 * queue_var - slope * age * queue_var  # Var(X | R)
    mean = 1.0 + gain / taken
    sd = np.sqrt(np.maximum(gain_var, 0.0)) / taken
    return JumpPrediction(mean=mean, sd=sd)
