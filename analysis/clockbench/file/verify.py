"""Check every invariant of docs/schema.md on a loaded run, vectorised with numpy; the model-time
invariants are in model_checks.py and queue_rule.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import numpy as np

from clockbench.file.checks import Checker, Messages, Violation
from clockbench.file.conventions import check_conventions
from clockbench.file.model_checks import check_clock, check_model_time, check_settings
from clockbench.file.schema import KIND_NAMES, RECEIVE, SEND_ALL, SEND_ONE, Run
from clockbench.file.topology import TopologyError
from clockbench.file.topology import adjacency as topology_adjacency

# Violations after which events cannot be laid out per machine and tick, or receives cannot be
# matched to their messages: the model-time rules are then not checked (they would cascade).
STRUCTURAL = frozenset(("rank-range", "order", "tick-sequence", "kind", "fields",
                        "receive-matches-send", "received-once", "size"))


@dataclass
class VerifyResult:
    """Counts recomputed from /events and the violations found, in check order."""

    path: str
    n_machines: int
    n_events: int
    kind_counts: Tuple[int, int, int, int]
    messages_sent: int
    messages_received: int
    left_in_queue: int
    receives_matched: int
    completed: bool
    stop_reason: str
    violations: List[Violation] = field(default_factory=list)
    timing: str = "unknown"
    late_deliveries: int = 0
    missed_ticks: int = 0
    # Whether the model-time rules were checked (the file records msg_arrival).
    model_time_checked: bool = False
    # Machines whose departures from the queue rule are within their late deliveries:
    # machine -> (messages involved, late deliveries).
    excused: Dict[int, Tuple[int, int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.violations


def verify(run: Run) -> VerifyResult:
    """Check all invariants of run; never raises on bad data, reports it."""
    c = Checker(run)
    n = c.n
    ev = dict(run.events)
    # Rows naming a machine that does not exist cannot be checked per machine.
    bad_rank = (ev["rank"] < 0) | (ev["rank"] >= n)
    c.flag("rank-range", bad_rank, lambda i: f"event row {i}: rank "
           f"{ev['rank'][i]} is not a machine (0..{n - 1})")
    if bad_rank.any():
        ev = {k: v[~bad_rank] for k, v in ev.items()}
    rank, tick = ev["rank"], ev["tick"]
    d_rank, d_tick = np.diff(rank), np.diff(tick)
    unordered = (d_rank < 0) | ((d_rank == 0) & (d_tick < 0))
    c.flag("order", unordered, lambda i: f"rank {rank[i + 1]} tick {tick[i + 1]} "
           f"comes after rank {rank[i]} tick {tick[i]}: events must be ordered "
           "by rank then tick")
    if unordered.any():
        # Check the rest in (rank, tick) order so one misplaced row does not
        # become a cascade of clock violations.
        order = np.lexsort((tick, rank))
        ev = {k: v[order] for k, v in ev.items()}
        rank, tick = ev["rank"], ev["tick"]
    counts = _check_machines_events(c, ev)
    kind = ev["kind"]
    latency = check_settings(c, run)
    check_clock(c, run, ev)
    # A random latency orders each queue by arrival time, not by sending order (docs/model.md).
    fifo = latency is None or latency.constant
    sent_m, recv_m, msgs = _check_messages(c, ev, run.network["adjacency"], fifo)
    matched = int(np.count_nonzero(msgs.receive_row >= 0))
    _check_counts(c, run, ev, counts, sent_m, recv_m)
    checked, excused = check_model_time(c, run, ev, msgs, latency, not c.failed(STRUCTURAL))
    check_conventions(c, run)
    kinds = np.bincount(kind[(kind >= 0) & (kind <= 3)], minlength=4)
    return VerifyResult(
        path=run.path, n_machines=n, n_events=run.n_events,
        kind_counts=tuple(int(k) for k in kinds[:4]),
        messages_sent=int(sent_m.sum()), messages_received=int(kinds[RECEIVE]),
        left_in_queue=int(run.network["left_in_queue"].sum()),
        receives_matched=matched, completed=run.completed,
        stop_reason=run.stop_reason, violations=c.violations,
        timing=str(run.attrs["timing"]), late_deliveries=int(run.attrs["late_deliveries"]),
        missed_ticks=int(run.attrs["missed_ticks"]), model_time_checked=checked, excused=excused)


def _check_machines_events(c: Checker, ev: Dict[str, np.ndarray]) -> np.ndarray:
    """Per-machine sequence rules; returns the event count of every rank."""
    rank, tick, t, kind = ev["rank"], ev["tick"], ev["t"], ev["kind"]
    lam, jump, queue, peer = ev["lamport"], ev["jump"], ev["queue"], ev["peer"]
    rows = rank.shape[0]
    first = np.ones(rows, dtype=bool)
    first[1:] = rank[1:] != rank[:-1]
    starts = np.flatnonzero(first)
    pos = np.arange(rows) - np.repeat(starts, np.diff(np.append(starts, rows)))
    at = lambda i: f"rank {rank[i]} tick {tick[i]}"  # noqa: E731
    name = lambda i: KIND_NAMES[kind[i]] if 0 <= kind[i] <= 3 else "?"  # noqa: E731

    c.flag("tick-sequence", tick != pos, lambda i: f"{at(i)}: expected tick "
           f"{pos[i]} (ticks must run 0..n-1 without gaps)")
    prev = np.empty_like(lam)
    prev[1:] = lam[:-1]
    prev[first] = 0  # the clock starts at 0 before tick 0
    c.flag("lamport-increasing", lam <= prev, lambda i: f"{at(i)}: lamport "
           f"{lam[i]} not greater than previous {prev[i]}")
    prev_t = np.empty_like(t)
    prev_t[1:] = t[:-1]
    prev_t[first] = -np.inf
    c.flag("t-nondecreasing", ~(t >= prev_t) | ~np.isfinite(t),
           lambda i: f"{at(i)}: t {t[i]!r} s " + (
               "is not finite" if not np.isfinite(t[i])
               else f"earlier than previous {prev_t[i]!r} s (t must not decrease)"))
    delta = lam - prev
    c.flag("jump", jump != delta, lambda i: f"{at(i)}: jump {jump[i]} but "
           f"lamport went from {prev[i]} to {lam[i]}")
    c.flag("kind", (kind < 0) | (kind > 3), lambda i: f"{at(i)}: unknown kind {kind[i]}")
    recv = kind == RECEIVE
    plain = (kind >= 0) & (kind < RECEIVE)
    c.flag("non-receive-jump", plain & (delta != 1), lambda i: f"{at(i)}: "
           f"{name(i)} event has jump {delta[i]}, expected 1 (only a receive jumps)")
    c.flag("queue", (queue < 0) | (plain & (queue != 0)), lambda i: f"{at(i)}: "
           f"{name(i)} event with queue {queue[i]} after it " + (
               "(negative)" if queue[i] < 0
               else "(a tick only draws when the queue is empty)"))
    # Field conventions: who may name a peer, and the -1 fillers.
    addressed = (kind == SEND_ONE) | recv
    peer_ok = (peer >= 0) & (peer < c.n) & (peer != rank)
    msg_fill = (ev["msg_tick"] != -1) | (ev["msg_clock"] != -1)
    c.flag("fields", (addressed & ~peer_ok) | (plain & ~addressed & (peer != -1))
           | (plain & msg_fill), lambda i: f"{at(i)}: {name(i)} event with "
           f"peer {peer[i]}, msg_tick {ev['msg_tick'][i]}, msg_clock "
           f"{ev['msg_clock'][i]} (" + ("peer must be another machine"
                                        if addressed[i] else "fillers must be -1") + ")")
    mclk = ev["msg_clock"]
    want = np.maximum(prev, mclk) + 1
    c.flag("receive-lamport", recv & (lam != want), lambda i: f"{at(i)}: receive "
           f"lamport {lam[i]}, expected max(previous {prev[i]}, msg_clock "
           f"{mclk[i]}) + 1 = {want[i]}")
    c.flag("receive-after-message", recv & (lam <= mclk), lambda i: f"{at(i)}: "
           f"receive lamport {lam[i]} not greater than msg_clock {mclk[i]}")
    return np.bincount(rank, minlength=c.n)


def _check_messages(c: Checker, ev: Dict[str, np.ndarray], adjacency: np.ndarray, fifo: bool
                    ) -> Tuple[np.ndarray, np.ndarray, Messages]:
    """Match receives to sends (and check FIFO per pair if `fifo`); returns the sent and
    received matrices and the messages."""
    n = c.n
    rank, tick, kind, peer = ev["rank"], ev["tick"], ev["kind"], ev["peer"]
    lam = ev["lamport"]
    adj = adjacency != 0
    peer_ok = (peer >= 0) & (peer < n) & (peer != rank)
    one = np.flatnonzero((kind == SEND_ONE) & peer_ok)
    nonpeer = ~adj[rank[one], peer[one]]
    c.flag("send-to-peer", nonpeer, lambda k: f"rank {rank[one[k]]} tick "
           f"{tick[one[k]]}: send-one to rank {peer[one[k]]}, which is not its peer "
           f"(network/adjacency[{rank[one[k]]},{peer[one[k]]}] = 0)")
    # A send-all is one message per peer: expand it through adjacency in CSR form.
    every = np.flatnonzero(kind == SEND_ALL)
    deg = adj.sum(axis=1)
    ptr = np.concatenate(([0], np.cumsum(deg)))
    nbr = np.nonzero(adj)[1]
    d = deg[rank[every]]
    rep = np.repeat(every, d)
    offs = np.arange(rep.size) - np.repeat(np.cumsum(d) - d, d)
    s_row = np.concatenate((one, rep))
    s_rcv = np.concatenate((peer[one], nbr[ptr[rank[rep]] + offs]))
    s_snd = rank[s_row]
    sent_m = np.bincount(s_snd * n + s_rcv, minlength=n * n).reshape(n, n)

    r_row = np.flatnonzero((kind == RECEIVE) & peer_ok)
    r_snd, r_rcv = peer[r_row], rank[r_row]
    r_tick, r_clk = ev["msg_tick"][r_row], ev["msg_clock"][r_row]
    recv_m = np.bincount(r_snd * n + r_rcv, minlength=n * n).reshape(n, n)
    # A message is (sender, receiver, sender tick); pack it into one int64 key.
    span = int(max(tick.max(initial=0), 0)) + 1
    msgs = Messages(s_snd, s_rcv, s_row, np.full(s_row.size, -1, dtype=np.int64))
    if n * n * span >= 2 ** 62:
        c.violations.append(Violation("size", "too many ticks to match messages"))
        return sent_m, recv_m, msgs
    s_key = (s_snd * n + s_rcv) * span + tick[s_row]
    s_ord = np.argsort(s_key, kind="stable")
    sk, s_clk = s_key[s_ord], lam[s_row][s_ord]
    r_key = (r_snd * n + r_rcv) * span + r_tick
    # Sorted needles make searchsorted cache friendly, and the same order
    # (stable, so event order within a key) exposes duplicates.
    r_ord = np.argsort(r_key, kind="stable")
    rk_sorted = r_key[r_ord]
    pos = np.zeros(r_key.size, dtype=np.int64)
    found = (r_tick >= 0) & (r_tick < span)
    if sk.size:
        pos[r_ord] = np.minimum(np.searchsorted(sk, rk_sorted), sk.size - 1)
        found &= sk[pos] == r_key
    else:  # nothing was sent, so nothing can match
        found[:] = False
    at = lambda k: (f"rank {r_rcv[k]} tick {tick[r_row[k]]}: message from rank "  # noqa: E731
                    f"{r_snd[k]} tick {r_tick[k]}")
    c.flag("receive-matches-send", ~found, lambda k: f"{at(k)} matches no send "
           f"to rank {r_rcv[k]} ({_sender_event(ev, r_snd[k], r_tick[k])})")
    again = np.zeros(r_row.size, dtype=bool)
    again[r_ord[1:][rk_sorted[1:] == rk_sorted[:-1]]] = True
    again &= found
    c.flag("received-once", again, lambda k: f"{at(k)} received twice (first "
           f"at tick {tick[r_row[np.flatnonzero(r_key == r_key[k])[0]]]})")
    c.flag("msg-clock", found & (s_clk[pos] != r_clk), lambda k: f"{at(k)} carries "
           f"msg_clock {r_clk[k]}, but the send had lamport {s_clk[pos[k]]}")
    good = np.flatnonzero(found & ~again)
    msgs.receive_row[s_ord[pos[good]]] = r_row[good]
    if not fifo:
        return sent_m, recv_m, msgs
    # FIFO: per pair, the k-th receive must take the k-th message sent.
    pair = r_snd[good] * n + r_rcv[good]
    lo = np.searchsorted(sk, np.arange(n * n) * span)[pair]  # pair's first send
    seq = pos[good] - lo
    # Pair ids are small: as uint16 a stable argsort is a radix sort.
    p_ord = np.argsort(pair.astype(np.uint16) if n * n <= 65535 else pair,
                       kind="stable")
    p_sorted = pair[p_ord]
    p_first = np.ones(good.size, dtype=bool)
    p_first[1:] = p_sorted[1:] != p_sorted[:-1]
    g_starts = np.flatnonzero(p_first)
    nth = np.empty(good.size, dtype=np.int64)
    nth[p_ord] = np.arange(good.size) - np.repeat(
        g_starts, np.diff(np.append(g_starts, good.size)))
    c.flag("fifo", seq != nth, lambda k: f"{at(good[k])} taken before the earlier "
           f"message from tick {sk[lo[k] + nth[k]] % span} (FIFO: messages from "
           "one sender are received in the order sent)" if seq[k] > nth[k] else
           f"{at(good[k])} taken out of order (FIFO)")
    return sent_m, recv_m, msgs


def _sender_event(ev: Dict[str, np.ndarray], snd: int, stick: int) -> str:
    """Why a receive matched nothing: what the named sender tick really was."""
    hit = np.flatnonzero((ev["rank"] == snd) & (ev["tick"] == stick))
    if not hit.size:
        return f"rank {snd} has no tick {stick}"
    i = hit[0]
    kind = int(ev["kind"][i])
    what = KIND_NAMES[kind] if 0 <= kind <= 3 else f"kind {kind}"
    extra = f" to rank {ev['peer'][i]}" if kind == SEND_ONE else ""
    article = "an" if what[0] in "aeiou" else "a"
    return f"rank {snd} tick {stick} is {article} {what} event{extra}"


def _check_topology(c: Checker, run: Run, adj: np.ndarray, sent: np.ndarray) -> None:
    """/network/adjacency lies within the graph the topology attribute names (random:K: drawn
    from the seed), and no message went off that graph. (Within, not equal: a file of disjoint
    copies of one run, as the tests and bench/analysis.py tile, keeps its copies apart.)"""
    n, topology = c.n, str(run.attrs["topology"])
    try:
        graph = topology_adjacency(topology, n, int(run.attrs["seed"]))
    except TopologyError as exc:
        c.violations.append(Violation("topology", f"root attribute {exc}"))
        return
    off = graph == 0
    c.flag("topology", (adj != 0) & off, lambda k: f"network/adjacency[{k // n},{k % n}] is {adj.flat[k]}, but "
           f"topology {topology} (seed {run.attrs['seed']}) does not join rank {k // n} to rank {k % n}")
    c.flag("topology", (sent != 0) & off, lambda k: f"network/sent[{k // n},{k % n}] is {sent.flat[k]}, but "
           f"topology {topology} (seed {run.attrs['seed']}) does not join rank {k // n} to rank {k % n}")


def _check_counts(c: Checker, run: Run, ev: Dict[str, np.ndarray],
                  ticks: np.ndarray, sent_m: np.ndarray, recv_m: np.ndarray) -> None:
    """/network against the events, conservation, and /machines against /network."""
    n = c.n
    net = run.network
    adj, sent, recd, left = (net[k] for k in ("adjacency", "sent", "received",
                                              "left_in_queue"))
    c.flag("adjacency", ((adj != 0) & (adj != 1)) | (np.eye(n, dtype=bool) & (adj != 0)),
           lambda k: f"network/adjacency[{k // n},{k % n}] is {adj.flat[k]} "
           "(must be 0 or 1, and 0 on the diagonal)")
    _check_topology(c, run, adj, sent)
    c.flag("network-sent", sent != sent_m, lambda k: f"network/sent[{k // n},{k % n}]"
           f" is {sent.flat[k]}, but the events send {sent_m.flat[k]} messages "
           f"from rank {k // n} to rank {k % n}")
    c.flag("network-received", recd != recv_m, lambda k: f"network/received"
           f"[{k // n},{k % n}] is {recd.flat[k]}, but rank {k % n} receives "
           f"{recv_m.flat[k]} messages from rank {k // n} by tick")
    c.flag("conservation", (sent != recd + left) | (left < 0), lambda k:
           f"pair {k // n}->{k % n}: sent {sent.flat[k]} != received "
           f"{recd.flat[k]} + left_in_queue {left.flat[k]} (conservation)")
    # A message still queued after the last tick was never taken, so it must
    # be counted as left in the queue.
    last = np.flatnonzero(np.append(ev["rank"][1:] != ev["rank"][:-1], True))
    q_last = np.zeros(n, dtype=np.int64)
    q_last[ev["rank"][last]] = ev["queue"][last]
    left_col = left.sum(axis=0)
    c.flag("final-queue", q_last > left_col, lambda r: f"rank {r}: queue "
           f"{q_last[r]} after its last tick, but network/left_in_queue column "
           f"{r} sums to {left_col[r]}")
    m = run.machines
    expect = {"rank": (np.arange(n), "must equal the row index"),
              "ticks": (ticks, "events recorded"),
              "sent": (sent.sum(axis=1), "network/sent row sum"),
              "received": (recd.sum(axis=0), "network/received column sum"),
              "left_in_queue": (left_col, "network/left_in_queue column sum")}
    bad = np.stack([m[k] != v for k, (v, _) in expect.items()])
    names = list(expect)

    def describe(k: int) -> str:
        f, r = names[k // n], k % n
        v, why = expect[f]
        return f"machines/{f}[{r}] is {m[f][r]}, expected {v[r]} ({why})"
    c.flag("machines", bad.ravel(), describe)
