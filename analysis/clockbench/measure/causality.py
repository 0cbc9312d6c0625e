"""Causality rebuilt from a run file: every event's vector clock, the happened-before relation's
statistics, and how stale each machine's knowledge of the others is. docs/causality.md.

Every receive names its send (peer, msg_tick), so the exact happened-before relation is in the
file. Event e of machine i (tick k) has the vector clock V(e) with V(e)[i] = k + 1 (a machine's
own entry counts its events from 1) and, for j != i, the largest V(s)[j] over the sends s whose
receives machine i took at or before tick k. That is a running maximum along each machine's events
of what its receives bring, and what they bring is the senders' own vector clocks: solved window
by window in god's-eye time (a receive is always later than its send), iterating each window's
running maxima until nothing changes (each round carries knowledge one more message further),
whole columns at a time.

With V known, a -> b (a on machine i) exactly when V(b)[i] >= V(a)[i], so for each event b the
events of machine i that happened before it are the first V(b)[i] of them: the number of ordered
pairs is a sum over the matrix, exact, without comparing pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List

import numpy as np

from clockbench.file.schema import Run

# Event kinds (docs/schema.md, /events/kind).
SEND_ONE, SEND_ALL, RECEIVE = 1, 2, 3


class CausalityError(ValueError):
    """The file's events cannot be a run: a receive names a send that is not there."""


@dataclass
class VectorClocks:
    """Per event (the file's order: by machine, then tick), its vector clock: events x machines."""

    clocks: np.ndarray      # V(e)[j] (int32 below 2^31 events per machine, else int64)
    start: np.ndarray       # first row of each machine's events
    count: np.ndarray       # events of each machine
    rounds: int             # rounds of the running maxima until nothing changed
    receives: np.ndarray    # rows of the receives
    sends: np.ndarray       # rows of the sends they took (same order)

    def of(self, machine: int, tick: int) -> np.ndarray:
        return self.clocks[self.start[machine] + tick]


def _layout(run: Run):
    """(start, count) of each machine's rows; the rows must be by machine then tick 0, 1, 2, ..."""
    rank, tick = run.events["rank"], run.events["tick"]
    n = run.n_machines
    count = np.bincount(rank, minlength=n).astype(np.int64) if rank.size else np.zeros(n, dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    expected_rank = np.repeat(np.arange(n), count)
    expected_tick = np.arange(rank.size) - np.repeat(start, count)
    if not (np.array_equal(rank, expected_rank) and np.array_equal(tick, expected_tick)):
        raise CausalityError("events are not ordered by machine then tick 0, 1, 2, ... "
                             "(run `clockbench-analyze verify` on the file)")
    return start, count


def _sources(run: Run, start: np.ndarray, count: np.ndarray):
    """Rows of the receives and of the sends they name; CausalityError if a send is missing."""
    ev = run.events
    rows = np.flatnonzero(ev["kind"] == RECEIVE)
    peer, msg_tick = ev["peer"][rows], ev["msg_tick"][rows]
    n = run.n_machines
    bad = (peer < 0) | (peer >= n) | (msg_tick < 0)
    safe_peer = np.clip(peer, 0, max(n - 1, 0))
    bad |= msg_tick >= count[safe_peer]
    src = start[safe_peer] + np.where(bad, 0, msg_tick)
    receiver = ev["rank"][rows]
    kind, to = ev["kind"][src], ev["peer"][src]
    bad |= ~((kind == SEND_ALL) | ((kind == SEND_ONE) & (to == receiver)))  # not a send to this machine
    if bad.any():
        first = rows[np.flatnonzero(bad)[0]]
        raise CausalityError(f"the receive at machine {int(ev['rank'][first])} tick {int(ev['tick'][first])} names "
                             f"machine {int(ev['peer'][first])} tick {int(ev['msg_tick'][first])}, which is not a send "
                             "in the file")
    return rows, src


# Events per time window of the running maxima (below).
_WINDOW_EVENTS = 4096


def _windows(run: Run, start: np.ndarray, count: np.ndarray, rows: np.ndarray):
    """God's-eye time windows of about _WINDOW_EVENTS events: per window and machine the row range
    [lo, hi) of its events in it, and the receives among them (positions in `rows`)."""
    t = run.events["t"]
    total = int(count.sum())
    if total == 0:
        return
    edges = np.unique(np.quantile(t, np.linspace(0.0, 1.0, max(total // _WINDOW_EVENTS, 1) + 1)[1:-1]))
    cuts = [np.searchsorted(t[s:s + c], edges, side="left") + s for s, c in zip(start, count)]
    for w in range(edges.size + 1):
        spans = []
        for m, (s, c) in enumerate(zip(start, count)):
            lo = int(s) if w == 0 else int(cuts[m][w - 1])
            hi = int(s + c) if w == edges.size else int(cuts[m][w])
            if hi > lo:
                spans.append((m, lo, hi, np.searchsorted(rows, lo), np.searchsorted(rows, hi)))
        yield spans


def vector_clocks(run: Run) -> VectorClocks:
    """Every event's vector clock (module docstring): the running maxima window by window in
    god's-eye time (a send is never later than its receive), iterated in each window until nothing
    changes, so a window's rounds follow only the messages inside it."""
    n = run.n_machines
    start, count = _layout(run)
    rows, src = _sources(run, start, count)
    total = int(count.sum())
    kind = np.int32 if int(count.max(initial=0)) < np.iinfo(np.int32).max else np.int64  # half the memory
    clocks = np.zeros((total, n), dtype=kind)
    tick = run.events["tick"]
    rounds = 0
    for spans in _windows(run, start, count, rows):
        for k in range(1, total + 2):
            changed = False
            for m, lo, hi, r0, r1 in spans:
                brought = np.zeros((hi - lo + 1, n), dtype=clocks.dtype)
                if lo > start[m]:
                    brought[0] = clocks[lo - 1]
                brought[rows[r0:r1] - lo + 1] = clocks[src[r0:r1]]
                brought[1:, m] = tick[lo:hi] + 1
                new = np.maximum.accumulate(brought, axis=0)[1:]
                if not np.array_equal(new, clocks[lo:hi]):
                    clocks[lo:hi] = new
                    changed = True
            if not changed:
                rounds = max(rounds, k)
                break
    return VectorClocks(clocks, start, count, rounds, rows, src)


def longest_chains(run: Run, vc: VectorClocks) -> np.ndarray:
    """Per event, the number of events on the longest causal chain that ends at it (itself
    included), by the same windowed running maxima: chain(e) = 1 + max(chain(previous on its
    machine), chain(the send it takes)), so chain(e) = position(e) + max over e' <= e on its machine
    of (what e' starts from - position(e')). With docs/model.md's clock rule it is the Lamport clock."""
    start, count, rows, src = vc.start, vc.count, vc.receives, vc.sends
    total = int(count.sum())
    index = np.arange(total) - np.repeat(start, count)  # position on its machine
    chain = np.zeros(total, dtype=np.int64)
    for spans in _windows(run, start, count, rows):
        while True:
            changed = False
            for m, lo, hi, r0, r1 in spans:
                base = 1 - index[lo:hi]  # the machine's own events from its first
                at = rows[r0:r1] - lo
                base[at] = np.maximum(base[at], chain[src[r0:r1]] + 1 - index[rows[r0:r1]])
                carry = chain[lo - 1] - index[lo - 1] if lo > start[m] else base[0]
                new = np.maximum(np.maximum.accumulate(base), carry) + index[lo:hi]
                if not np.array_equal(new, chain[lo:hi]):
                    chain[lo:hi] = new
                    changed = True
            if not changed:
                break
    return chain


@dataclass
class ConditionCheck:
    """The vector-clock and clock conditions over every message and every known predecessor."""

    messages: int
    send_not_before_receive: int    # receives whose send's V is not strictly below the receive's
    lamport_not_increasing: int     # links a -> b (program order, messages) with L(a) >= L(b)
    chain_not_lamport: int          # events whose longest causal chain differs from their Lamport clock

    @property
    def ok(self) -> bool:
        return self.send_not_before_receive == 0 and self.lamport_not_increasing == 0 and self.chain_not_lamport == 0


def check_conditions(run: Run, vc: VectorClocks, chain: np.ndarray) -> ConditionCheck:
    """a -> b is the transitive closure of program order and messages, and < is transitive, so the
    clock condition holds for every pair exactly when it holds along every machine and every
    message: checked there, in O(events)."""
    rows, src, v = vc.receives, vc.sends, vc.clocks
    below = np.all(v[src] <= v[rows], axis=1) & np.any(v[src] < v[rows], axis=1)
    lam = run.events["lamport"]
    step = np.diff(lam) > 0
    first = np.zeros(lam.size, dtype=bool)
    first[vc.start[vc.count > 0]] = True  # a machine's first event has no predecessor
    bad_lamport = int(np.count_nonzero(~step & ~first[1:])) + int(np.count_nonzero(lam[src] >= lam[rows]))
    return ConditionCheck(int(rows.size), int(np.count_nonzero(~below)), bad_lamport,
                          int(np.count_nonzero(chain != lam)))


@dataclass
class PairCounts:
    """Exact counts over all unordered pairs of distinct events."""

    pairs: int           # E (E - 1) / 2
    ordered: int         # one happened before the other
    lamport_below: int   # pairs whose Lamport clocks differ (one below the other)

    @property
    def concurrent(self) -> int:
        return self.pairs - self.ordered

    @property
    def concurrent_fraction(self) -> float:
        return self.concurrent / self.pairs if self.pairs else math.nan

    @property
    def unordered_given_lamport(self) -> float:
        """Of the pairs with L(a) < L(b), the fraction that are not causally ordered."""
        return 1.0 - self.ordered / self.lamport_below if self.lamport_below else math.nan


def pair_counts(run: Run, vc: VectorClocks) -> PairCounts:
    """Pairs on one machine are ordered; a pair across machines (a on i, b elsewhere) is ordered
    a -> b for the first V(b)[i] events a of machine i: the sum of V's entries off its own column.
    Lamport: a -> b implies L(a) < L(b), so ordered <= lamport_below (checked by check_conditions)."""
    count = vc.count.astype(object)  # Python integers: E^2 overflows int64 past 4e9 events
    total = int(sum(count))
    own = np.repeat(np.arange(run.n_machines), vc.count)
    across = int(vc.clocks.sum(dtype=np.int64)) - int(vc.clocks[np.arange(total), own].sum(dtype=np.int64))
    same = sum(int(c) * (int(c) - 1) // 2 for c in count)
    lam = np.sort(run.events["lamport"])
    _, ties = np.unique(lam, return_counts=True)
    equal = int(sum(int(t) * (int(t) - 1) // 2 for t in ties))
    pairs = total * (total - 1) // 2
    return PairCounts(pairs, same + across, pairs - equal)


@dataclass
class Staleness:
    """Per machine i and other machine j: how far behind i's knowledge of j is, averaged over
    god's-eye time on a grid: in events (j's own count less V_i[j]) and in seconds (now less the
    time of j's latest event that i knows of)."""

    grid: np.ndarray
    events_behind: np.ndarray    # N x N, mean over the grid (diagonal 0)
    seconds_behind: np.ndarray   # N x N
    lamport_lag: np.ndarray      # N: mean of (largest Lamport clock - L_i) over the grid


def staleness(run: Run, vc: VectorClocks, points: int = 1000) -> Staleness:
    n = run.n_machines
    t, lam = run.events["t"], run.events["lamport"]
    end = float(run.attrs.get("end_s", t.max() if t.size else 0.0))
    grid = np.linspace(0.0, max(end, 0.0), points)
    at = np.zeros((n, grid.size), dtype=np.int64)  # row of i's last event at or before each grid time, -1 none
    for i in range(n):
        lo, hi = int(vc.start[i]), int(vc.start[i] + vc.count[i])
        at[i] = np.searchsorted(t[lo:hi], grid, side="right") - 1 + lo
        at[i][at[i] < lo] = -1
    events_behind = np.zeros((n, n))
    seconds_behind = np.zeros((n, n))
    clock_now = np.where(at >= 0, lam[np.maximum(at, 0)], 0)
    lamport_lag = (clock_now.max(axis=0)[None, :] - clock_now).mean(axis=1)
    for i in range(n):
        seen = np.where(at[i] >= 0, 1, 0)
        for j in range(n):
            if i == j:
                continue
            own_count = np.where(at[j] >= 0, at[j] - vc.start[j] + 1, 0)
            known = np.where(seen > 0, vc.clocks[np.maximum(at[i], 0), j], 0)
            events_behind[i, j] = float((own_count - known).mean())
            # the time of j's latest known event (its start: before any, god's-eye time 0)
            known_t = np.where(known > 0, t[vc.start[j] + np.maximum(known, 1) - 1], 0.0)
            seconds_behind[i, j] = float((grid - np.minimum(known_t, grid)).mean())
    return Staleness(grid, events_behind, seconds_behind, lamport_lag)


@dataclass
class CausalityReport:
    path: str
    events: int
    messages: int
    rounds: int
    conditions: ConditionCheck
    pairs: PairCounts
    longest_chain: int
    staleness: Staleness


def analyse_causality(run: Run) -> CausalityReport:
    vc = vector_clocks(run)
    chain = longest_chains(run, vc)
    cond = check_conditions(run, vc, chain)
    return CausalityReport(run.path, run.n_events, cond.messages, vc.rounds, cond, pair_counts(run, vc),
                           int(chain.max()) if chain.size else 0, staleness(run, vc))


def render(rep: CausalityReport) -> List[str]:
    """The report as text lines (the `causality` command)."""
    p, c, s = rep.pairs, rep.conditions, rep.staleness
    n = s.events_behind.shape[0]
    lines = [f"{rep.path}: {rep.events} events, {rep.messages} messages; vector clocks rebuilt in {rep.rounds} rounds",
             f"vector-clock condition: {'holds' if c.ok else 'VIOLATED'} (sends not below their receive: "
             f"{c.send_not_before_receive}; a -> b with L(a) >= L(b): {c.lamport_not_increasing}; "
             f"longest chain != Lamport clock: {c.chain_not_lamport})",
             f"event pairs: {p.pairs}; causally ordered {p.ordered} ({_pct(p.ordered, p.pairs)}), "
             f"concurrent {p.concurrent} ({_pct(p.concurrent, p.pairs)})",
             f"pairs with L(a) < L(b): {p.lamport_below}; of them not causally ordered "
             f"{_pct(p.lamport_below - p.ordered, p.lamport_below)}",
             f"longest causal chain: {rep.longest_chain} events",
             "knowledge of the others, mean over god's-eye time (events behind / seconds behind), "
             "beside the Lamport lag behind the largest clock:"]
    head = "machine  " + "  ".join(f"of {j:<12}" for j in range(n)) + "  Lamport lag"
    lines.append(head)
    for i in range(n):
        cells = ["-".center(15) if i == j else f"{s.events_behind[i, j]:6.1f}/{s.seconds_behind[i, j]:6.2f}s "
                 for j in range(n)]
        lines.append(f"{i:>7}  " + "  ".join(cells) + f"  {s.lamport_lag[i]:.1f}")
    return lines


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.4g} %" if whole else "n/a"


def as_dict(rep: CausalityReport) -> Dict[str, object]:
    """Plain data (for the report and for JSON)."""
    return {"events": rep.events, "messages": rep.messages, "pairs": rep.pairs.pairs, "ordered": rep.pairs.ordered,
            "concurrent_fraction": rep.pairs.concurrent_fraction,
            "unordered_given_lamport": rep.pairs.unordered_given_lamport, "longest_chain": rep.longest_chain,
            "conditions_hold": rep.conditions.ok, "events_behind": rep.staleness.events_behind.tolist(),
            "seconds_behind": rep.staleness.seconds_behind.tolist(), "lamport_lag": rep.staleness.lamport_lag.tolist()}


def cmd_causality(args) -> int:
    """`clockbench-analyze causality FILE...`: 0 when the conditions hold in every file, 1 when one
    is violated, 2 when a file cannot be read or cannot hold a run."""
    import json
    import sys

    from clockbench.file.schema import SchemaError, open_run
    worst, out = 0, []
    for path in args.files:
        try:
            rep = analyse_causality(open_run(path))
        except (SchemaError, CausalityError) as exc:
            print(f"clockbench-analyze causality: {path}: {exc}", file=sys.stderr)
            return 2
        out.append(rep)
        worst = max(worst, 0 if rep.conditions.ok else 1)
    if args.json:
        print(json.dumps([dict(as_dict(r), path=r.path) for r in out], indent=1))
    else:
        print("\n\n".join("\n".join(render(r)) for r in out))
    return worst


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "causality", help="vector clocks, happened-before statistics and knowledge staleness of run files",
        description="Rebuild every event's vector clock from the file (each receive names its send), check the "
        "vector-clock and clock conditions, and count exactly the event pairs that are causally ordered, "
        "concurrent, and ordered by Lamport clock but not causally; the longest causal chain; and per machine "
        "how far behind its knowledge of every other machine is. Exit 0 if the conditions hold, 1 if one is "
        "violated, 2 if a file cannot be read. docs/causality.md explains each figure.")
    p.add_argument("files", nargs="+", metavar="FILE", help="clockbench .h5 file")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=cmd_causality)
