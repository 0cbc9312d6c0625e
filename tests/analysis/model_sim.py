"""Run files of the model of docs/model.md for verify's tests, with faults planted on purpose.

The rules are docs/model.md's: tick k of machine i is due at phase_i + k / r_i; a message arrives
at a = its send's deadline + the latency; a tick takes the first of the messages with a < its
deadline by (a, sender rank, sender tick), and draws only if there is none. numpy's generator
stands in for the engine's random streams (replay.py has those). A Faults object makes the loop go
wrong in one named way at a named tick: a message that reaches its rank late (counted as a late
delivery, as the engine counts them), a tick that takes the wrong message, draws while a message
is queued, logs a wrong queue length or takes a message before its arrival time, missed ticks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

import numpy as np

from clockbench.file import config_text
from conftest import EVENT_DTYPES, RunData, adjacency_of

Tick = Tuple[int, int]  # (rank, tick)


@dataclass
class Faults:
    """What goes wrong, and where."""

    late: Dict[Tuple[int, int, int], float] = field(default_factory=dict)  # (sender, tick, receiver): s in flight
    wrong_pick: Set[Tick] = field(default_factory=set)   # takes the last message of its queue
    draw: Set[Tick] = field(default_factory=set)         # draws (and logs 0) with messages queued
    queue_off: Dict[Tick, int] = field(default_factory=dict)  # logs its queue off by this many
    early: Set[Tick] = field(default_factory=set)        # with nothing queued, takes a message in flight
    missed: Dict[int, int] = field(default_factory=dict)  # rank: its last ticks, which do not run


@dataclass
class _Message:
    a: float
    sender: int
    tick: int
    clock: int
    seen: float  # model time it reached its rank: its send's deadline, unless late

    def key(self) -> Tuple[float, int, int]:
        return (self.a, self.sender, self.tick)


def _latency(text: str, rng: np.random.Generator) -> Callable[[], float]:
    """The three forms of docs/model.md, read here from the text on purpose (not the package)."""
    if text.startswith("uniform:"):
        lo, hi = (float(x) for x in text[len("uniform:"):].split(","))
        return lambda: lo + float(rng.random()) * (hi - lo)
    if text.startswith("exp:"):
        mean = float(text[len("exp:"):])
        return lambda: -mean * math.log(1.0 - float(rng.random()))
    d = float(text)
    return lambda: d


def simulate_model(rates: Sequence[float] = (3.0, 4.0, 8.0), duration_s: float = 10.0,
                   p_internal: float = 0.5, topology: str = "full", seed: int = 7, phase: str = "random",
                   latency: str = "0.05", flat_out: bool = False, faults: Optional[Faults] = None,
                   grace_s: float = 0.002) -> RunData:
    """One run on the god's-eye timeline: ticks decide in deadline order, each a little late."""
    n, p = len(rates), p_internal
    rng = np.random.default_rng(seed)
    faults = faults or Faults()
    adj = adjacency_of(topology, n, seed)
    peers = [[int(j) for j in np.flatnonzero(adj[i])] for i in range(n)]
    lat = _latency(latency, rng)
    phases = [0.0] * n if flat_out or phase == "zero" else [float(u) / r for u, r in zip(rng.random(n), rates)]
    schedule, due = [], []
    for i, r in enumerate(rates):
        k = 0
        while True:  # flat out, a tick's deadline is when it ran: irregular
            T = (k + float(rng.uniform(0, 0.5))) / r if flat_out else phases[i] + float(k) / r
            if T >= duration_s:
                break
            schedule.append((T, i, k))
            k += 1
        due.append(k)
    ran = [due[i] - faults.missed.get(i, 0) for i in range(n)]
    schedule = sorted(x for x in schedule if x[2] < ran[x[1]])
    first = [phases[i] + float(ran[i]) / rates[i] if ran[i] < due[i] else math.inf for i in range(n)]
    pending: List[List[_Message]] = [[] for _ in range(n)]
    late: List[List[_Message]] = [[] for _ in range(n)]
    clock = [0] * n
    seen = [[-math.inf] * n for _ in range(n)]
    sent = np.zeros((n, n), dtype=np.int64)
    received = np.zeros((n, n), dtype=np.int64)
    rows, deadlines, t_prev = [], [], 0.0
    for T, i, k in schedule:
        queued = sorted((m for m in pending[i] if m.a < T), key=_Message.key)
        there = [m for m in queued if m.seen < T]
        for m in queued:
            if m.seen >= T and not any(m is x for x in late[i]):
                late[i].append(m)
                first[i] = min(first[i], m.a)
        take = None
        if there and (i, k) not in faults.draw:
            take = there[-1] if (i, k) in faults.wrong_pick else there[0]
        elif not queued and (i, k) in faults.early and pending[i]:
            take = min(pending[i], key=_Message.key)
        before, dests = clock[i], []
        if take is not None:
            pending[i].remove(take)
            received[take.sender, i] += 1
            clock[i] = max(before, take.clock) + 1
            logged = len(there) - (1 if any(take is m for m in there) else 0)
            row = [3, take.sender, take.tick, take.clock, take.a]
        else:
            clock[i] += 1
            logged = 0
            u = float(rng.random())
            if u < p or not peers[i]:
                row = [0, -1]
            else:
                v = (u - p) / (1 - p) * 3
                dests = peers[i] if v >= 2 else [peers[i][int(v * 0.5 * len(peers[i]))]]
                row = [2, -1] if v >= 2 else [1, dests[0]]
            row += [-1, -1, math.nan]
        for j in dests:
            a = T + lat()
            # A message reaches its rank as it is sent, unless late; the transport keeps each pair's
            # order (MPI's non-overtaking), so a late message holds back the ones sent after it.
            seen[i][j] = max(T + faults.late.get((i, k, j), 0.0), seen[i][j])
            pending[j].append(_Message(a, i, k, clock[i], seen[i][j]))
            sent[i, j] += 1
        t = T if flat_out else max(T + float(rng.uniform(0, 5e-4)), t_prev)
        t_prev = t
        kind, peer, m_tick, m_clock, m_arr = row
        rows.append((i, k, t, kind, clock[i], clock[i] - before, logged + faults.queue_off.get((i, k), 0),
                     peer, m_tick, m_clock, m_arr))
        deadlines.append(T)
    order = sorted(range(len(rows)), key=lambda x: rows[x][:2])
    events = {name: np.array([rows[x][c] for x in order], dtype=EVENT_DTYPES[name])
              for c, name in enumerate(EVENT_DTYPES)}
    deadline = np.array([deadlines[x] for x in order])
    late_n = np.array([len(x) for x in late])
    missed = np.array([due[i] - ran[i] for i in range(n)])
    return assemble(rates, phases, events, deadline, sent, received, seed=seed, duration_s=duration_s,
                    p_internal=p, topology=topology, phase=phase, latency=latency, grace_s=grace_s,
                    flat_out=flat_out, late=late_n, missed=missed,
                    first=np.array([x if math.isfinite(x) else math.nan for x in first]))


def from_replay(result: Dict, grace_s: float = 0.002) -> RunData:
    """A file of the independent simulator's run (replay.py): every tick decided at its deadline."""
    from replay import flatten
    table = {k: np.array(v) for k, v in flatten(result).items()}
    events = {name: table["deadline" if name == "t" else name].astype(EVENT_DTYPES[name])
              for name in EVENT_DTYPES}
    n = result["n"]
    return assemble(result["rates"], result["phase_s"], events, table["deadline"],
                    np.array(result["sent"]), np.array(result["received"]), seed=result["seed"],
                    duration_s=result["end_s"], p_internal=result["p_internal"], topology=result["topology"],
                    phase=result["phase_mode"], latency=str(result["latency"]), grace_s=grace_s,
                    flat_out=False, late=np.zeros(n, np.int64), missed=np.zeros(n, np.int64),
                    first=np.full(n, math.nan))


def assemble(rates: Sequence[float], phases: Sequence[float], events: Dict[str, np.ndarray],
             deadline: np.ndarray, sent: np.ndarray, received: np.ndarray, *, seed: int, duration_s: float,
             p_internal: float, topology: str, phase: str, latency: str, grace_s: float, flat_out: bool,
             late: np.ndarray, missed: np.ndarray, first: np.ndarray) -> RunData:
    """The file's tables, as docs/schema.md lays them out, around a run's events."""
    n = len(rates)
    rank, t = events["rank"], events["t"]
    ticks = np.bincount(rank, minlength=n)
    achieved = np.array([(ticks[i] - 1) / (t[rank == i][-1] - t[rank == i][0]) for i in range(n)])
    lateness = [np.percentile(t[rank == i] - deadline[rank == i], [50, 99, 100]) for i in range(n)]
    no_deadlines = np.full(n, math.nan)
    machines = {
        "rank": np.arange(n), "hostname": np.array(["node0"] * n, dtype=object), "pid": 1000 + np.arange(n),
        "rate_hz": achieved if flat_out else np.array(rates, dtype=float), "achieved_hz": achieved,
        "ticks": ticks, "sent": sent.sum(axis=1), "received": received.sum(axis=0),
        "left_in_queue": (sent - received).sum(axis=0), "clock_offset_s": np.zeros(n),
        "clock_offset_uncertainty_s": np.zeros(n),
        "lateness_p50_s": no_deadlines if flat_out else np.array([x[0] for x in lateness]),
        "lateness_p99_s": no_deadlines if flat_out else np.array([x[1] for x in lateness]),
        "lateness_max_s": no_deadlines if flat_out else np.array([x[2] for x in lateness]),
        "phase_s": np.array(phases, dtype=float), "late_deliveries": late, "missed_ticks": missed,
        "first_degraded_s": first,
    }
    worst = int(np.argmax(late + missed))
    timing = "ok" if (late + missed).sum() == 0 else (
        f"degraded: {late.sum()} late deliveries, {missed.sum()} missed ticks; worst machine {worst} "
        f"({late[worst]} late deliveries, {missed[worst]} missed ticks), first at model t {first[worst]:.6g} s")
    attrs = {
        "schema": "clockbench/1", "clockbench_version": "0.2.0", "git_sha": "unknown",
        "created_utc": "2026-11-28T00:00:00Z", "command_line": f"mpirun -np {n} clockbench",
        "mpi_library_version": "synthetic", "hdf5_version": "1.10.8", "n_machines": np.int32(n),
        "duration_s": float(duration_s), "speedup": 1.0, "seed": np.uint64(seed), "p_internal": float(p_internal),
        "topology": topology, "completed": np.int32(1), "stop_reason": "duration reached",
        "end_s": float(duration_s), "events_io_mode": "independent", "flat_out": np.int32(flat_out),
        "max_ticks": np.int64(100000 if flat_out else 0), "phase_mode": phase, "latency": latency,
        "grace_s": float(grace_s), "timing": timing, "late_deliveries": np.int64(late.sum()),
        "missed_ticks": np.int64(missed.sum()),
    }
    config = config_text.render(header="synthetic test data (tests/analysis/model_sim.py)", duration_s=duration_s,
                                rates=None if flat_out else rates, p_internal=p_internal, seed=seed,
                                topology=topology, speedup=1.0, phase=phase, latency=latency, grace_s=grace_s,
                                max_ticks=attrs["max_ticks"])
    return RunData(attrs, config, machines, events,
                   {"adjacency": adjacency_of(topology, n, seed), "sent": sent, "received": received,
                    "left_in_queue": sent - received})
