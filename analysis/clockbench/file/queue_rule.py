"""The queue rule of docs/model.md ("Delivery in model time") on a paced run that records arrival
times: at the tick with deadline T, machine i's queue is the messages to i with a < T that no
earlier tick took, ordered by (a, sender rank, sender tick); the tick takes the first, or draws only
if there is none; `queue` logs what is left.

Vectorised: a message waits from the first tick of its receiver whose deadline is after its a
until the tick that takes it, so every tick's queue is a count of overlapping intervals; and a
receive took the wrong message exactly when a message of smaller key is taken later, or never.

A late delivery (a message that had not reached its rank when a tick with a later deadline than
its a decided) bends these rules at its receiver. When the run is degraded, a machine's departures
are excused if the messages they involve are no more than its late deliveries (in a recovered
file, as its rank's journal counted them; -1, none excused, from a journal that did not)."""

from __future__ import annotations

from typing import Dict, Tuple

import numpy as np

from clockbench.file.checks import Checker, Messages
from clockbench.file.model import Latency
from clockbench.file.schema import KIND_NAMES, RECEIVE, Run

NONE = np.iinfo(np.int64).max  # "no message" in a minimum over message positions


def check_queue_rule(c: Checker, run: Run, ev: Dict[str, np.ndarray], msgs: Messages,
                     deadline: np.ndarray, latency: Latency) -> Dict[int, Tuple[int, int]]:
    """Flags departures from the queue rule; returns the machines excused by their late
    deliveries, each with (messages involved, late deliveries)."""
    n = c.n
    rank, tick, kind, queue = ev["rank"], ev["tick"], ev["kind"], ev["queue"]
    rows = rank.size
    rcv, snd, taken = msgs.receiver, msgs.sender, msgs.receive_row
    got = taken >= 0
    stick = tick[msgs.send_row]
    # A received message's a is in the file. Of one never received, only its latency's range is
    # known, unless the latency is a constant.
    sent_at = deadline[msgs.send_row]
    a_lo = np.where(got, ev["msg_arrival"][np.maximum(taken, 0)], sent_at + latency.least)
    a_hi = np.where(got, a_lo, sent_at + latency.most)
    exact = a_lo == a_hi
    stop = np.searchsorted(rank, np.arange(n), side="right")
    until = np.where(got, taken, stop[rcv])  # a message waits until taken, or to the end

    # Each tick's queue after its event: surely (w_lo) and possibly (w_hi) waiting messages.
    from_lo = _first_tick_after(rank, deadline, rcv, a_lo)
    from_hi = from_lo if exact.all() else _first_tick_after(rank, deadline, rcv, a_hi)
    w_lo = _waiting(from_hi, until, rows)
    w_hi = w_lo if exact.all() else _waiting(from_lo, until, rows)

    # Receives, in event order, against the messages in queue order (receiver, a, sender, tick).
    ex = np.flatnonzero(exact)
    order = ex[np.lexsort((stick[ex], snd[ex], a_lo[ex], rcv[ex]))]
    place = np.full(rcv.size, NONE, dtype=np.int64)
    place[order] = np.arange(order.size)
    seq = np.flatnonzero(got)
    seq = seq[np.argsort(taken[seq])]
    g = place[seq]
    # The first message in queue order taken after each receive, or never: the places of later
    # receivers are all larger, so one running minimum serves every machine.
    later = np.full(seq.size, NONE, dtype=np.int64)
    if seq.size > 1:
        later[:-1] = np.minimum.accumulate(g[::-1])[::-1][1:]
    left = ex[~got[ex]]
    never = np.full(n, NONE, dtype=np.int64)
    np.minimum.at(never, rcv[left], place[left])
    first = np.minimum(later, never[rcv[seq]])
    wrong = g > first
    should = np.where(wrong, order[np.minimum(first, max(order.size - 1, 0))], -1)
    unsure = np.flatnonzero(~exact)
    if unsure.size:
        # Never received, a known only within a range: it surely came first if its a is surely
        # below the taken one's.
        by = unsure[np.lexsort((a_hi[unsure], rcv[unsure]))]
        head = by[np.r_[True, rcv[by][1:] != rcv[by][:-1]]]
        earliest = np.full(n, np.inf)
        earliest[rcv[head]] = a_hi[head]
        who = np.full(n, -1, dtype=np.int64)
        who[rcv[head]] = head
        missed = ~wrong & (a_lo[seq] > earliest[rcv[seq]])
        should[missed] = who[rcv[seq[missed]]]
        wrong |= missed

    draw = (kind >= 0) & (kind < RECEIVE) & (w_lo > 0)
    short = (queue < w_lo) & ~draw
    excess = queue > w_hi

    # Messages involved, per machine: the ones a receive should have taken, and those the queue
    # lacked (in the model's queue but not yet at the rank): each late, and each counted once
    # from when it was due until it arrived, so the shortfall's rises count at least that many.
    # The rises are taken over the messages whose a is known; those known only within a range
    # (never received) can only raise them, and bound the shortfall from below at every tick.
    lacked = _waiting(from_lo[exact], until[exact], rows) - queue
    prev = np.empty_like(lacked)
    prev[1:] = lacked[:-1]
    prev[np.r_[True, rank[1:] != rank[:-1]]] = 0
    stat = np.bincount(rank, np.clip(lacked - prev, 0, None), minlength=n).astype(np.int64)
    np.maximum.at(stat, rank, np.clip(w_lo - queue, 0, None))
    blamed = np.unique(should[should >= 0])
    involved = np.maximum(stat, np.bincount(rcv[blamed], minlength=n))
    late = run.machines["late_deliveries"]
    excuse = (involved > 0) & (involved <= late) if run.degraded else np.zeros(n, dtype=bool)

    def why(i: int) -> str:
        if run.recovered and late[i] < 0:  # from a journal before CBJRNL03
            return " (a recovered file: late deliveries were not journaled, none is excused)"
        if run.degraded:
            return f" ({involved[i]} messages involved at rank {i}, more than its {late[i]} late deliveries)"
        return ""

    at = lambda r: f"rank {rank[r]} tick {tick[r]} (deadline {deadline[r]!r} s)"  # noqa: E731

    def name(k: int) -> str:
        a = f"a = {a_lo[k]!r} s" if exact[k] else f"a <= {a_hi[k]!r} s"
        return f"the message from rank {snd[k]} tick {stick[k]} ({a})"

    c.flag("queue-order", wrong & ~excuse[rcv[seq]], lambda k: f"{at(taken[seq[k]])} took {name(seq[k])}, "
           f"but {name(should[k])} came first in its queue (by a, then sender rank, then sender tick)"
           + why(rcv[seq[k]]))
    c.flag("queue-draw", draw & ~excuse[rank], lambda r: f"{at(r)}: {KIND_NAMES[kind[r]]} event drawn while "
           f"{name(_head(r, from_hi, until, rcv, rank, a_lo, snd, stick))} was queued (a < deadline, not "
           "taken)" + why(rank[r]))
    count = lambda r: str(w_lo[r]) if w_lo[r] == w_hi[r] else f"{w_lo[r]} to {w_hi[r]}"  # noqa: E731
    c.flag("queue-length", (short & ~excuse[rank]) | excess, lambda r: f"{at(r)}: queue {queue[r]} logged, "
           f"but {count(r)} messages were queued after the event (a < deadline, not taken)"
           + ("" if excess[r] else why(rank[r])))
    return {int(i): (int(involved[i]), int(late[i])) for i in np.flatnonzero(excuse)}


def _first_tick_after(rank: np.ndarray, deadline: np.ndarray, receiver: np.ndarray,
                      a: np.ndarray) -> np.ndarray:
    """Per message, the event row of its receiver's first tick with a deadline after a (the end of
    the receiver's rows if none): one sort of ticks and messages together by (machine, time),
    ticks first on equal times since a tick sees only a < its deadline."""
    rows = rank.size
    key = np.concatenate((deadline, a))
    owner = np.concatenate((rank, receiver))
    is_tick = np.concatenate((np.zeros(rows, np.int8), np.ones(a.size, np.int8)))
    o = np.lexsort((is_tick, key, owner))
    ticks_so_far = np.cumsum(o < rows)
    out = np.empty(a.size, dtype=np.int64)
    msg = o >= rows
    out[o[msg] - rows] = ticks_so_far[msg]
    return out


def _waiting(start: np.ndarray, stop: np.ndarray, rows: int) -> np.ndarray:
    """Per event row, how many of the intervals [start, stop) of rows cover it."""
    ok = start < stop
    step = np.bincount(start[ok], minlength=rows + 1) - np.bincount(stop[ok], minlength=rows + 1)
    return np.cumsum(step)[:rows]


def _head(r: int, start: np.ndarray, stop: np.ndarray, receiver: np.ndarray, rank: np.ndarray,
          a: np.ndarray, sender: np.ndarray, stick: np.ndarray) -> int:
    """The first message in queue order of those surely waiting at event row r."""
    there = np.flatnonzero((receiver == rank[r]) & (start <= r) & (r < stop))
    return int(there[np.lexsort((stick[there], sender[there], a[there]))[0]])
