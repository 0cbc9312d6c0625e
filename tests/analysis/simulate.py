"""An independent discrete-event simulation of the scale model, for the statistics of the theory
(its tie rule is its own, below; tests/analysis/replay.py simulates docs/model.md event for event).

Written from the model's rules alone (docs/model.md, but for the tie rule and the zero delay
below), on purpose without importing clockbench.theory, so that tests/analysis/test_theory.py can
check the theory against it.

The model, as simulated here:

* N machines, machine i ticks at times k / r_i for k = 0, 1, ... while k / r_i < T
  (so ceil(r_i T) ticks; all machines tick at t = 0).
* Each machine has a Lamport clock L (starting at 0) and a FIFO queue of message clocks.
* Zero network delay: a message is appended to the receiver's queue the moment it is sent.
* On each tick exactly one event happens: if the queue holds a message, the oldest is taken,
  L = max(L, m) + 1 (receive); otherwise u ~ U[0, 1) is drawn: u < p is internal (L += 1);
  p <= u < p + 2(1-p)/3 sends one message (carrying the new L) to one peer, chosen uniformly;
  otherwise one event sends the new L to every peer.

Order of ticks at equal times (a documented choice): ticks are processed in increasing
time, and ticks at exactly the same time in increasing machine index. So a message sent
at time t by machine j is in the queue of machine i for every tick of i at a time > t,
and for a tick of i at time == t only if i > j. (Tick times k / r are computed as floats;
IEEE division is correctly rounded, so ticks at the same rational time get the same float
and the tie rule applies to them exactly.)

Randomness: numpy.random.default_rng(seed); one uniform u is drawn for every tick in the
processing order (unused on receive ticks); on a send-one tick u, uniform on [p, p + 2(1-p)/3),
also picks the peer: index floor((u - p) / (2(1-p)/3) * degree), uniform among the peers.
So a run is a pure function of (rates, p, topology, T, seed); with random:K, `seed` also draws
the graph, as the run seed does in clockbench.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import List, Sequence

import numpy as np

INTERNAL, SEND_ONE, SEND_ALL, RECEIVE = 0, 1, 2, 3


def peers_of(topology: str, n: int, graph_seed: int = 0) -> List[List[int]]:
    """`full`: every other machine; `ring`: i-1 and i+1 mod n (one peer when n == 2); `random:K`:
    the graph docs/model.md draws from run seed `graph_seed` (replay.py's reading of it)."""
    if topology.startswith("random:"):
        from replay import peer_lists
        return peer_lists(n, topology, graph_seed)
    if topology == "full":
        return [[j for j in range(n) if j != i] for i in range(n)]
    if topology == "ring":
        return [sorted({(i - 1) % n, (i + 1) % n} - {i}) for i in range(n)]
    raise ValueError(f"unknown topology {topology!r}")


@dataclass
class MachineStats:
    """What one machine did in a simulated run (counts over the whole run unless noted)."""

    rate: float
    ticks: int
    receives: int            # receive events
    arrivals: int            # messages put in its queue
    sends: int               # messages sent (a send-all counts once per peer)
    internal: int            # internal events
    send_one: int            # send-one events
    send_all: int            # send-all events
    queue_end: int           # messages left in the queue at the end
    queue_mid: int           # queue length just before T/2 (after all ticks at times < T/2)
    queue_slope: float       # least-squares slope of queue length (after each tick) vs time, second half
    queue_slope_ends: float  # (queue_end - queue_mid) / (T/2)
    clock_end: int           # final Lamport value
    clock_mid: int           # Lamport value after its last tick at a time < T/2
    clock_slope: float       # (clock_end - clock_mid) / (T/2)
    mean_jump: float         # mean jump of receive events, whole run (nan if none)
    mean_jump_half: float    # mean jump of receive events in the second half (nan if none)
    receives_half: int       # receive events in the second half
    max_jump: int            # largest jump of any event (1 if no receive)

    @property
    def mix(self) -> np.ndarray:
        """Fractions of ticks: internal, send-one, send-all, receive."""
        return np.array([self.internal, self.send_one, self.send_all, self.receives]) / self.ticks


@dataclass
class SimResult:
    rates: np.ndarray
    p_internal: float
    topology: str
    duration: float
    seed: int
    machines: List[MachineStats]

    def column(self, name: str) -> np.ndarray:
        return np.array([getattr(m, name) for m in self.machines], dtype=float)

    @property
    def arrival_rate(self) -> np.ndarray:
        """lambda_i estimated as arrivals / T."""
        return self.column("arrivals") / self.duration

    @property
    def utilisation(self) -> np.ndarray:
        """rho_i estimated as receives / ticks."""
        return self.column("receives") / self.column("ticks")

    @property
    def mix(self) -> np.ndarray:
        return np.array([m.mix for m in self.machines])


def _ticks_before(rate: float, t: float, start: int) -> int:
    """Number of ticks k (k >= 0) of a machine at `rate` with k / rate < t, searched from
    `start` (a lower bound), using the same float expression k / rate as the tick times."""
    k = max(start, int(np.ceil(t * rate)))
    while k > start and (k - 1) / rate >= t:
        k -= 1
    while k / rate < t:
        k += 1
    return k


def simulate_model(rates: Sequence[float], p_internal: float = 0.7, topology: str = "full",
                   duration: float = 1000.0, seed: int = 0,
                   window_events: int = 1 << 19) -> SimResult:
    """Simulate the model for `duration` model seconds; see the module docstring.

    The run is processed in time windows of about `window_events` ticks (the window length
    does not change the result), so memory stays small for long runs; T/2 is a window
    boundary, where the mid-run clock and queue values are taken.
    """
    r = np.asarray(rates, dtype=float)
    n = r.size
    if n < 2 or np.any(r <= 0) or not 0.0 <= p_internal <= 1.0:
        raise ValueError("need at least 2 positive rates and p in [0, 1]")
    peers = peers_of(topology, n, seed)  # random:K: the graph of the run seed `seed`
    degree = [len(x) for x in peers]
    half = duration / 2.0
    width = max(window_events / r.sum(), 1e-9)
    bounds = sorted({*np.arange(0.0, duration, width).tolist(), half, duration})

    rng = np.random.default_rng(seed)
    p_one = p_internal + 2.0 * (1.0 - p_internal) / 3.0
    span_one = p_one - p_internal

    clock = [0] * n
    queues = [deque() for _ in range(n)]
    arrivals = [0] * n
    done = [0] * n  # ticks generated so far, per machine
    kind_count = np.zeros((n, 4), dtype=np.int64)
    jump_sum = np.zeros((2, n))  # per half: sum of receive jumps
    recv_count = np.zeros((2, n), dtype=np.int64)
    max_jump = np.ones(n, dtype=np.int64)
    centre = (half + duration) / 2.0  # LSQ sums of (t - centre, queue) in the second half
    lsq = np.zeros((5, n))  # count, sum x, sum y, sum xy, sum xx
    mid_clock: List[int] = [0] * n
    mid_queue: List[int] = [0] * n

    for a, b in zip(bounds[:-1], bounds[1:]):
        if a == half:
            mid_clock, mid_queue = list(clock), [len(q) for q in queues]
        second = a >= half
        stop = [_ticks_before(r[i], b, done[i]) for i in range(n)]
        times = np.concatenate([np.arange(done[i], stop[i]) / r[i] for i in range(n)])
        owner = np.concatenate([np.full(stop[i] - done[i], i, dtype=np.int64) for i in range(n)])
        done = stop
        order = np.lexsort((owner, times))  # by time, then by machine index
        times, owner = times[order], owner[order]
        m = times.size
        draws = rng.random(m).tolist()
        kinds = [INTERNAL] * m
        jumps = [1] * m
        qlen = [0] * m
        for pos, i in enumerate(owner.tolist()):
            q = queues[i]
            if q:
                msg = q.popleft()
                before = clock[i]
                clock[i] = (msg if msg > before else before) + 1
                kinds[pos] = RECEIVE
                jumps[pos] = clock[i] - before
                qlen[pos] = len(q)
                continue
            clock[i] += 1
            u = draws[pos]
            if u < p_internal:
                continue  # internal; the queue was empty
            mine = peers[i]
            if u < p_one:
                # u is uniform on [p, p_one) here, so it also picks the peer uniformly.
                kinds[pos] = SEND_ONE
                dests = (mine[min(int((u - p_internal) / span_one * degree[i]), degree[i] - 1)],)
            else:
                kinds[pos] = SEND_ALL
                dests = mine
            value = clock[i]
            for j in dests:
                queues[j].append(value)
                arrivals[j] += 1
        k = np.array(kinds, dtype=np.int64)
        jm = np.array(jumps, dtype=np.int64)
        kind_count += np.bincount(owner * 4 + k, minlength=4 * n).reshape(n, 4)
        recv = k == RECEIVE
        h = 1 if second else 0
        recv_count[h] += np.bincount(owner[recv], minlength=n)
        jump_sum[h] += np.bincount(owner[recv], weights=jm[recv], minlength=n)
        for i in np.unique(owner[recv]).tolist():
            max_jump[i] = max(max_jump[i], int(jm[recv & (owner == i)].max()))
        if second:
            x, y = times - centre, np.array(qlen, dtype=float)
            for row, w in enumerate((None, x, y, x * y, x * x)):
                lsq[row] += np.bincount(owner, weights=w, minlength=n)

    machines = []
    span = duration - half
    for i in range(n):
        cnt, sx, sy, sxy, sxx = lsq[:, i]
        denom = cnt * sxx - sx * sx
        slope = float((cnt * sxy - sx * sy) / denom) if cnt >= 2 and denom > 0 else 0.0
        recv_all = int(recv_count[:, i].sum())
        n_one, n_all = int(kind_count[i, SEND_ONE]), int(kind_count[i, SEND_ALL])
        machines.append(MachineStats(
            rate=float(r[i]), ticks=int(kind_count[i].sum()), receives=recv_all,
            arrivals=arrivals[i], sends=n_one + n_all * degree[i],
            internal=int(kind_count[i, INTERNAL]), send_one=n_one, send_all=n_all,
            queue_end=len(queues[i]), queue_mid=mid_queue[i], queue_slope=slope,
            queue_slope_ends=(len(queues[i]) - mid_queue[i]) / span,
            clock_end=clock[i], clock_mid=mid_clock[i],
            clock_slope=(clock[i] - mid_clock[i]) / span,
            mean_jump=float(jump_sum[:, i].sum() / recv_all) if recv_all else float("nan"),
            mean_jump_half=float(jump_sum[1, i] / recv_count[1, i]) if recv_count[1, i] else float("nan"),
            receives_half=int(recv_count[1, i]), max_jump=int(max_jump[i])))
    return SimResult(rates=r, p_internal=float(p_internal), topology=topology,
                     duration=float(duration), seed=seed, machines=machines)
