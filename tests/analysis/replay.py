"""An independent simulator of the clockbench model, written from docs/model.md alone.

It does not read or import the engine (src/) or the analysis package (analysis/clockbench):
its value is that it is a second, separate reading of the written rules. Plain Python 3,
exact: every deadline, arrival time and uniform is computed with the IEEE double operations
docs/model.md names, in the order it names them, and the random streams are xoshiro256**
generators seeded from splitmix64 with Python integers masked to 64 bits.

    replay(rates, seed, duration_s, p_internal=0.7, topology="full", phase="random",
           latency="0") -> dict          (topology: full, ring or random:K)

The result (plain lists; N = len(rates)):

    n, rates, seed, end_s, p_internal, topology, phase_mode, latency   the inputs, as used
    peers[i]            machine i's ascending peer list
    phase_s[i]          model time of machine i's tick 0
    events[i]           machine i's events, a dict of equal-length lists, one row per tick:
                        tick, deadline, kind (0 internal, 1 send-one, 2 send-all, 3 receive),
                        lamport, jump, queue (messages still queued after the event),
                        peer (destination of a send-one, source of a receive, -1 otherwise),
                        msg_tick, msg_clock (-1 unless receive), msg_arrival (NaN unless receive)
    adjacency, sent, received, left_in_queue
                        N x N lists of lists, row = sender, column = receiver (as /network/);
                        left_in_queue counts every message sent but never taken by a tick,
                        whether its arrival time is before the end or not
    ticks               events per machine

`stream_uniforms(seed, stream, n)` gives the first n uniforms of a stream, for tests.

Choices where docs/model.md leaves room (see also the report that came with this file):
- at least two machines are required (with one, send-one would have no peer);
- the latency must never be negative (constant D >= 0, uniform LO >= 0, exp MEAN >= 0), since a
  message that arrived before it was sent would break the deadline-order simulation;
- `phase` may also be a sequence of explicit phases (an extension for hand-worked tests);
- the warm-up exchange before model time 0 carries no model messages and is not simulated;
- the `--rates max` (flat out) mode has no deadlines and is not simulated.
"""

from __future__ import annotations

import heapq
import math
import random
from typing import Dict, List, Sequence, Tuple, Union

MASK64 = (1 << 64) - 1
SPLITMIX_GAMMA = 0x9E3779B97F4A7C15
STREAM_MULTIPLIER = 0xD1B54A32D192ED03
TWO_POW_M53 = 2.0 ** -53  # exact power of two

KIND_INTERNAL, KIND_SEND_ONE, KIND_SEND_ALL, KIND_RECEIVE = 0, 1, 2, 3

EVENT_FIELDS = ("tick", "deadline", "kind", "lamport", "jump", "queue", "peer",
                "msg_tick", "msg_clock", "msg_arrival")


# --------------------------------------------------------------------------- random streams

def splitmix64_next(state: int) -> Tuple[int, int]:
    """One splitmix64 step: (new state, output). The state is advanced by the gamma first."""
    state = (state + SPLITMIX_GAMMA) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def splitmix64(x: int) -> int:
    """splitmix64 as a function: the first output from state x."""
    return splitmix64_next(x & MASK64)[1]


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & MASK64


class Xoshiro256ss:
    """xoshiro256** on four 64-bit words."""

    __slots__ = ("s0", "s1", "s2", "s3")

    def __init__(self, words: Sequence[int]):
        if len(words) != 4:
            raise ValueError("xoshiro256** needs four state words")
        self.s0, self.s1, self.s2, self.s3 = (int(w) & MASK64 for w in words)

    @classmethod
    def from_seed(cls, stream_seed: int) -> "Xoshiro256ss":
        """Fill the four words with successive splitmix64 outputs from state `stream_seed`."""
        state = stream_seed & MASK64
        words = []
        for _ in range(4):
            state, out = splitmix64_next(state)
            words.append(out)
        return cls(words)

    def next(self) -> int:
        s0, s1, s2, s3 = self.s0, self.s1, self.s2, self.s3
        result = (_rotl((s1 * 5) & MASK64, 7) * 9) & MASK64
        t = (s1 << 17) & MASK64
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = _rotl(s3, 45)
        self.s0, self.s1, self.s2, self.s3 = s0, s1, s2, s3
        return result

    def uniform(self) -> float:
        """(next() >> 11) * 2^-53: a double in [0, 1), exact."""
        return (self.next() >> 11) * TWO_POW_M53


def stream_seed(seed: int, stream: int) -> int:
    """splitmix64(S xor (0xD1B54A32D192ED03 * (s + 1))), 64-bit wrap-around."""
    return splitmix64((seed & MASK64) ^ ((STREAM_MULTIPLIER * (stream + 1)) & MASK64))


def stream_generator(seed: int, stream: int) -> Xoshiro256ss:
    return Xoshiro256ss.from_seed(stream_seed(seed, stream))


def stream_uniforms(seed: int, stream: int, n: int) -> List[float]:
    """The first n uniforms of stream `stream` of run seed `seed`."""
    g = stream_generator(seed, stream)
    return [g.uniform() for _ in range(n)]


def action_stream(rank: int) -> int:
    return rank


def phase_stream(rank: int) -> int:
    return (1 << 32) + rank


def latency_stream(rank: int) -> int:
    return 2 * (1 << 32) + rank


# --------------------------------------------------------------------------- configuration

TOPOLOGY_STREAM = 3 * (1 << 32)
REPAIR_DRAWS_PER_MACHINE = 64
GRAPH_ATTEMPTS = 8


def below(g: Xoshiro256ss, m: int) -> int:
    """A uniform integer in [0, m): next() outputs until one is >= 2^64 mod m, taken mod m."""
    threshold = (1 << 64) % m
    while True:
        x = g.next()
        if x >= threshold:
            return x % m


def random_peer_graph(n: int, k: int, seed: int) -> List[List[int]]:
    """random:K of docs/model.md ("Topologies"): K/2 edge-disjoint Hamiltonian cycles from the
    topology stream, each a Fisher-Yates order repaired by kept swaps; ascending peer lists."""
    if k < 2 or k % 2 or 2 * k > n:
        raise ValueError(f"random:{k} needs K even, 2 <= K <= N/2 (N = {n})")
    g = stream_generator(seed, TOPOLOGY_STREAM)
    for _ in range(GRAPH_ATTEMPTS):
        edges: set = set()
        cycles: List[List[int]] = []
        for _c in range(k // 2):
            order = list(range(n))
            for i in range(n - 1, 0, -1):
                j = below(g, i + 1)
                order[i], order[j] = order[j], order[i]

            def clash(x: int) -> bool:
                return frozenset((order[x % n], order[(x + 1) % n])) in edges
            draws, whole = 0, True
            while whole:
                bad = next((x for x in range(n) if clash(x)), None)
                if bad is None:
                    break
                a = (bad + 1) % n
                while True:
                    draws += 1
                    if draws > REPAIR_DRAWS_PER_MACHINE * n:
                        whole = False
                        break
                    j = below(g, n)
                    touched = {bad, a, (j - 1) % n, j}
                    before = sum(clash(x) for x in touched)
                    order[a], order[j] = order[j], order[a]
                    if sum(clash(x) for x in touched) < before:
                        break
                    order[a], order[j] = order[j], order[a]
            if not whole:
                break
            edges |= {frozenset((order[x], order[(x + 1) % n])) for x in range(n)}
            cycles.append(order)
        if len(cycles) == k // 2:
            peers: List[List[int]] = [[] for _ in range(n)]
            for e in edges:
                a, b = tuple(e)
                peers[a].append(b)
                peers[b].append(a)
            return [sorted(x) for x in peers]
    raise ValueError(f"random:{k}: no graph for {n} machines and seed {seed}")


def random_k(topology: str) -> int:
    """K of 'random:K', or 0 for another topology."""
    if topology.startswith("random:"):
        text = topology[len("random:"):]
        if not text.isdigit():
            raise ValueError(f"unknown topology {topology!r}")
        return int(text)
    return 0


def peer_lists(n: int, topology: str, seed: int) -> List[List[int]]:
    """Every machine's ascending peer list; random:K drawn from `seed`."""
    if random_k(topology):
        return random_peer_graph(n, random_k(topology), seed)
    return [peer_list(n, i, topology) for i in range(n)]


def peer_list(n: int, i: int, topology: str) -> List[int]:
    """full: every other machine ascending; ring: {i-1, i+1 mod n} minus i, ascending."""
    if topology == "full":
        return [j for j in range(n) if j != i]
    if topology == "ring":
        return sorted({(i - 1) % n, (i + 1) % n} - {i})
    raise ValueError(f"unknown topology {topology!r} (full, ring or random:K)")


def parse_latency(latency: Union[str, float, int]) -> Tuple[str, Tuple[float, ...]]:
    """('const', (D,)), ('uniform', (LO, HI)) or ('exp', (MEAN,))."""
    if isinstance(latency, (int, float)):
        form, params = "const", (float(latency),)
    else:
        text = str(latency).strip()
        if text.startswith("uniform:"):
            parts = text[len("uniform:"):].split(",")
            if len(parts) != 2:
                raise ValueError(f"latency {latency!r}: uniform:LO,HI")
            form, params = "uniform", (float(parts[0]), float(parts[1]))
        elif text.startswith("exp:"):
            form, params = "exp", (float(text[len("exp:"):]),)
        else:
            form, params = "const", (float(text),)
    if not all(math.isfinite(x) for x in params):
        raise ValueError(f"latency {latency!r}: not finite")
    if form == "const" and params[0] < 0:
        raise ValueError(f"latency {latency!r}: negative")
    if form == "uniform" and not 0 <= params[0] <= params[1]:
        raise ValueError(f"latency {latency!r}: need 0 <= LO <= HI")
    if form == "exp" and params[0] < 0:
        raise ValueError(f"latency {latency!r}: negative mean")
    return form, params


def latency_value(form: str, params: Tuple[float, ...], u: float) -> float:
    """The latency of one message given its uniform u (unused for a constant)."""
    if form == "const":
        return params[0]
    if form == "uniform":
        lo, hi = params
        return lo + u * (hi - lo)
    mean = params[0]
    return -mean * math.log(1.0 - u)


def deadline(phase_s: float, k: int, rate: float) -> float:
    """T_ik = phase_i + (double)k / r_i."""
    return phase_s + float(k) / rate


# --------------------------------------------------------------------------- the simulation

def replay(rates: Sequence[float], seed: int, duration_s: float, p_internal: float = 0.7,
           topology: str = "full", phase: Union[str, Sequence[float]] = "random",
           latency: Union[str, float, int] = "0", *, _tie_order: Union[str, int] = "rank",
           _arrival_inclusive: bool = False) -> Dict:
    """Simulate the model of docs/model.md; see the module docstring for the result.

    `_tie_order` (tests only) chooses the order in which ticks with equal deadlines run:
    "rank" (ascending), "reverse" (descending) or an int seeding a random order per tie. The
    model says it must not matter. `_arrival_inclusive` (tests only) deliberately breaks the
    model (a tick sees messages with a <= T) so that tests can show they detect the difference.
    """
    rates = [float(r) for r in rates]
    n = len(rates)
    if n < 2:
        raise ValueError("the model needs at least two machines")
    if not all(math.isfinite(r) and r > 0 for r in rates):
        raise ValueError("rates must be finite and positive")
    seed = int(seed)
    if not 0 <= seed <= MASK64:
        raise ValueError("seed must be an unsigned 64-bit integer")
    end_s = float(duration_s)
    p = float(p_internal)
    if not 0.0 <= p <= 1.0:
        raise ValueError("p_internal must be in [0, 1]")
    form, params = parse_latency(latency)

    peers = peer_lists(n, topology, seed)

    if isinstance(phase, str):
        if phase == "zero":
            phases = [0.0] * n
        elif phase == "random":
            phases = [stream_uniforms(seed, phase_stream(i), 1)[0] / rates[i] for i in range(n)]
        else:
            raise ValueError(f"unknown phase mode {phase!r} (random or zero)")
        phase_mode = phase
    else:
        phases = [float(x) for x in phase]
        if len(phases) != n:
            raise ValueError("one phase per machine")
        phase_mode = "explicit"

    actions = [stream_generator(seed, action_stream(i)) for i in range(n)]
    lat_rngs = [stream_generator(seed, latency_stream(i)) for i in range(n)]
    draws_latency = form != "const"
    const_latency = params[0] if form == "const" else 0.0

    clocks = [0] * n
    ticks = [0] * n
    # per receiver: in flight (a >= the receiver's last deadline) and queued (a < it); both
    # heaps of (a, sender, sender tick, clock): the queue order of docs/model.md
    in_flight: List[List[Tuple[float, int, int, int]]] = [[] for _ in range(n)]
    queued: List[List[Tuple[float, int, int, int]]] = [[] for _ in range(n)]
    sent = [[0] * n for _ in range(n)]
    received = [[0] * n for _ in range(n)]
    events = [{f: [] for f in EVENT_FIELDS} for _ in range(n)]

    if _tie_order == "rank":
        def tie_key(i: int) -> float:
            return i
    elif _tie_order == "reverse":
        def tie_key(i: int) -> float:
            return -i
    elif isinstance(_tie_order, int) and not isinstance(_tie_order, bool):
        tie_rng = random.Random(_tie_order)

        def tie_key(i: int) -> float:
            return tie_rng.random()
    else:
        raise ValueError(f"unknown tie order {_tie_order!r}")

    schedule: List[Tuple[float, float, int]] = []
    for i in range(n):
        t0 = deadline(phases[i], 0, rates[i])
        if t0 < end_s:
            schedule.append((t0, tie_key(i), i))
    heapq.heapify(schedule)

    nan = float("nan")
    heappush, heappop = heapq.heappush, heapq.heappop
    while schedule:
        T, _, i = heappop(schedule)
        k = ticks[i]
        ev = events[i]
        L = clocks[i]

        # messages whose arrival time is before T join the queue
        fl, q = in_flight[i], queued[i]
        if _arrival_inclusive:
            while fl and fl[0][0] <= T:
                heappush(q, heappop(fl))
        else:
            while fl and fl[0][0] < T:
                heappush(q, heappop(fl))

        dests: Sequence[int] = ()
        if q:
            a, src, src_tick, msg_clock = heappop(q)
            new_L = max(L, msg_clock) + 1
            received[src][i] += 1
            kind, peer, m_tick, m_clock, m_arr = KIND_RECEIVE, src, src_tick, msg_clock, a
        else:
            new_L = L + 1
            u = actions[i].uniform()
            m_tick, m_clock, m_arr = -1, -1, nan
            if u < p:
                kind, peer = KIND_INTERNAL, -1
            else:
                v = (u - p) / (1.0 - p) * 3.0
                if v >= 2.0:
                    kind, peer = KIND_SEND_ALL, -1
                    dests = peers[i]
                else:
                    idx = math.floor(v * 0.5 * len(peers[i]))
                    kind, peer = KIND_SEND_ONE, peers[i][idx]
                    dests = (peer,)

        for d in dests:
            lat = latency_value(form, params, lat_rngs[i].uniform()) if draws_latency \
                else const_latency
            heappush(in_flight[d], (T + lat, i, k, new_L))
            sent[i][d] += 1

        ev["tick"].append(k)
        ev["deadline"].append(T)
        ev["kind"].append(kind)
        ev["lamport"].append(new_L)
        ev["jump"].append(new_L - L)
        ev["queue"].append(len(q))
        ev["peer"].append(peer)
        ev["msg_tick"].append(m_tick)
        ev["msg_clock"].append(m_clock)
        ev["msg_arrival"].append(m_arr)

        clocks[i] = new_L
        ticks[i] = k + 1
        t_next = deadline(phases[i], k + 1, rates[i])
        if t_next < end_s:
            heappush(schedule, (t_next, tie_key(i), i))

    left = [[0] * n for _ in range(n)]
    for j in range(n):
        for m in in_flight[j]:
            left[m[1]][j] += 1
        for m in queued[j]:
            left[m[1]][j] += 1

    adjacency = [[1 if j in peers[i] else 0 for j in range(n)] for i in range(n)]
    return {
        "n": n, "rates": rates, "seed": seed, "end_s": end_s, "p_internal": p,
        "topology": topology, "phase_mode": phase_mode, "latency": latency,
        "peers": peers, "phase_s": phases, "events": events, "ticks": ticks,
        "adjacency": adjacency, "sent": sent, "received": received, "left_in_queue": left,
    }


def flatten(result: Dict) -> Dict[str, list]:
    """The events of a replay as one table ordered by rank then tick (like /events/)."""
    table: Dict[str, list] = {"rank": []}
    for f in EVENT_FIELDS:
        table[f] = []
    for r, ev in enumerate(result["events"]):
        table["rank"].extend([r] * len(ev["tick"]))
        for f in EVENT_FIELDS:
            table[f].extend(ev[f])
    return table
