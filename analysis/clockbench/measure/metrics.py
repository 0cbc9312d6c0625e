"""What a run measured (the quantities docs/theory.md predicts): per machine rates, event mix,
jumps, queues and lag; run-wide drift of the Lamport clocks on a god's-eye time grid. Vectorised:
events are ordered by rank then tick, so each machine is one contiguous slice of every column."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List

import numpy as np

from clockbench.file.model import deadlines
from clockbench.file.model_checks import clock_bounds
from clockbench.file.schema import RECEIVE, TIMING_DEGRADED, Run

# Points of the god's-eye time grid that drift and lag are sampled on.
GRID_POINTS = 2000


@dataclass
class MachineMetrics:
    """One machine's measurements. Rates are per model second."""

    rank: int
    rate_hz: float           # nominal
    achieved_hz: float       # (ticks - 1) / (t_last - t_first), from the file
    ticks: int
    kind_counts: np.ndarray  # internal, send-one, send-all, receive
    arrival_hz: float        # messages that reached its queue per second (lambda measured)
    utilisation: float       # receives / ticks (rho measured)
    jump_mean: float         # over receive events: the clock's jumps on receipt
    jump_p99: float
    jump_max: int
    gaps: int                # receives whose jump was more than 1 (the clock skipped values)
    queue_mean: float
    queue_max: int
    queue_final: int         # after the last tick, plus what arrived after it
    queue_slope: float       # least-squares growth of the queue, messages per second
    clock_slope: float       # least-squares slope of the Lamport clock, per second
    lag_mean: float          # behind the fastest clock, on the grid
    lag_max: float
    lag_final: float
    lateness_p50_s: float
    lateness_p99_s: float
    lateness_max_s: float
    phase_s: float = 0.0         # model time of tick 0
    late_deliveries: int = 0     # -1: not known (a recovered file)
    missed_ticks: int = 0
    first_degraded_s: float = float("nan")
    hostname: str = ""
    clock_offset_s: float = 0.0              # the start estimate: this rank's clock minus rank 0's
    clock_offset_uncertainty_s: float = 0.0  # the larger of the two estimates' (docs/model.md)
    clock_rate_ppm: float = float("nan")     # NaN without an end estimate

    @property
    def mix(self) -> np.ndarray:
        return self.kind_counts / max(1, self.ticks)


@dataclass
class RunMetrics:
    """A run's measurements and the arrays the plots draw."""

    path: str
    n: int
    topology: str
    p_internal: float
    seed: int
    duration_s: float
    end_s: float
    speedup: float
    completed: bool
    stop_reason: str
    machines: List[MachineMetrics]
    grid: np.ndarray      # god's-eye model times
    clocks: np.ndarray    # N x grid: each machine's Lamport clock at the grid times
    queues: np.ndarray    # N x grid: each machine's queue length at the grid times
    spread: np.ndarray    # max - min of the clocks at each grid time
    drift_max: float
    drift_mean: float
    # The model's settings and the timing verdict (docs/model.md); see summary.timing_verdict.
    phase_mode: str = "zero"
    latency: str = "0"
    grace_s: float = 0.0
    timing: str = "unknown"
    late_deliveries: int = 0
    missed_ticks: int = 0
    timing_known: bool = False  # the loop's counts are in the file (not an older or recovered one)

    @property
    def degraded(self) -> bool:
        return self.timing.startswith(TIMING_DEGRADED)

    @property
    def achieved(self) -> np.ndarray:
        return np.array([m.achieved_hz for m in self.machines])


def lateness_s(run: Run, i: int, s: slice) -> np.ndarray:
    """Machine i's ticks' lateness in wall seconds: t minus the deadline, over the speedup."""
    ev, m = run.events, run.machines
    due = deadlines(m["phase_s"][i], ev["tick"][s], m["rate_hz"][i])
    return (ev["t"][s] - due) / float(run.attrs["speedup"])


def machine_slices(run: Run) -> List[slice]:
    """The rows of each rank in /events (ordered by rank then tick, as verify checks)."""
    bounds = np.searchsorted(run.events["rank"], np.arange(run.n_machines + 1), side="left")
    return [slice(int(bounds[i]), int(bounds[i + 1])) for i in range(run.n_machines)]


def slope(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of y on x (0 with fewer than 2 distinct x)."""
    if x.size < 2:
        return 0.0
    xc = x - x.mean()
    denom = float(np.dot(xc, xc))
    return float(np.dot(xc, y - y.mean()) / denom) if denom > 0 else 0.0


def compute(run: Run) -> RunMetrics:
    """All measurements of one run."""
    ev, mach, n = run.events, run.machines, run.n_machines
    end = float(run.attrs["end_s"])
    grid = np.linspace(0.0, end, GRID_POINTS)
    clocks = np.zeros((n, grid.size))
    queues = np.zeros((n, grid.size))
    arrivals = run.network["sent"].sum(axis=0)  # column i: everything sent to i
    rows: List[MachineMetrics] = []
    clock_u = clock_bounds(run)[0]
    for i, s in enumerate(machine_slices(run)):
        t, lam, kind, q, jump = ev["t"][s], ev["lamport"][s], ev["kind"][s], ev["queue"][s], ev["jump"][s]
        # The clock at grid time g is its value after the last event at or before g (0 before any;
        # a machine stopped before its first tick has no events at all).
        if t.size:
            at = np.searchsorted(t, grid, side="right") - 1
            clocks[i] = np.where(at >= 0, lam[np.maximum(at, 0)], 0)
            queues[i] = np.where(at >= 0, q[np.maximum(at, 0)], 0)
        recv_jumps = jump[kind == RECEIVE]
        counts = np.bincount(kind, minlength=4)[:4]
        ticks = int(t.size)
        rows.append(MachineMetrics(
            rank=i, rate_hz=float(mach["rate_hz"][i]), achieved_hz=float(mach["achieved_hz"][i]), ticks=ticks,
            kind_counts=counts, arrival_hz=float(arrivals[i]) / end if end > 0 else 0.0,
            utilisation=float(counts[RECEIVE]) / max(1, ticks),
            jump_mean=float(recv_jumps.mean()) if recv_jumps.size else float("nan"),
            jump_p99=float(np.percentile(recv_jumps, 99)) if recv_jumps.size else float("nan"),
            jump_max=int(recv_jumps.max()) if recv_jumps.size else 0,
            gaps=int(np.count_nonzero(recv_jumps > 1)),
            queue_mean=float(q.mean()) if ticks else 0.0, queue_max=int(q.max()) if ticks else 0,
            queue_final=int(mach["left_in_queue"][i]), queue_slope=slope(t, q.astype(float)),
            clock_slope=slope(t, lam.astype(float)),
            lag_mean=0.0, lag_max=0.0, lag_final=0.0,
            lateness_p50_s=float(mach["lateness_p50_s"][i]), lateness_p99_s=float(mach["lateness_p99_s"][i]),
            lateness_max_s=float(mach["lateness_max_s"][i]), phase_s=float(mach["phase_s"][i]),
            late_deliveries=int(mach["late_deliveries"][i]), missed_ticks=int(mach["missed_ticks"][i]),
            first_degraded_s=float(mach["first_degraded_s"][i]), hostname=str(mach["hostname"][i]),
            clock_offset_s=float(mach["clock_offset_s"][i]), clock_offset_uncertainty_s=float(clock_u[i]),
            clock_rate_ppm=float(mach["clock_rate_ppm"][i])))
    lag = clocks.max(axis=0) - clocks
    for m, row in zip(rows, lag):
        m.lag_mean, m.lag_max, m.lag_final = float(row.mean()), float(row.max()), float(row[-1])
    spread = clocks.max(axis=0) - clocks.min(axis=0)
    a = run.attrs
    return RunMetrics(
        path=run.path, n=n, topology=str(a["topology"]), p_internal=float(a["p_internal"]), seed=int(a["seed"]),
        duration_s=float(a["duration_s"]), end_s=end, speedup=float(a["speedup"]), completed=run.completed,
        stop_reason=run.stop_reason, machines=rows, grid=grid, clocks=clocks, queues=queues, spread=spread,
        drift_max=float(spread.max()) if spread.size else 0.0, drift_mean=float(spread.mean()) if spread.size else 0.0,
        phase_mode=str(a["phase_mode"]), latency=str(a["latency"]), grace_s=float(a["grace_s"]),
        timing=str(a["timing"]), late_deliveries=int(a["late_deliveries"]), missed_ticks=int(a["missed_ticks"]),
        timing_known="timing" not in run.missing and int(a["late_deliveries"]) >= 0)


# Time windows (equal parts of the run) and queue-length bins (equal shares of the receives) that
# a machine's receive jumps are averaged over, for the notebook's question whether jumps grow as a
# queue backs up.
JUMP_WINDOWS = 4
JUMP_QUEUE_BINS = 4


@dataclass
class JumpProfile:
    """One machine's receive jumps by time window and by queue length at the receive, and the two
    slopes that set a backed-up machine's mean jump (observations.py explains which)."""

    rank: int
    receives: int
    window_edges: np.ndarray  # model s, JUMP_WINDOWS + 1 edges over [0, end_s]
    window_mean: np.ndarray   # mean jump of the receives in each window (NaN where none)
    window_se: np.ndarray     # its standard error, as if the jumps were independent
    queue_edges: np.ndarray   # bin edges of the queue at the receive (the message taken included)
    queue_mean: np.ndarray    # mean jump in each bin; the last bin includes its upper edge
    queue_count: np.ndarray
    queue_slope: float        # least-squares jump per message of queue at the receive
    queue_slope_se: float
    sender_slope: float       # the fastest clock among the machines it received from, per model s
    arrival_hz: float         # messages that reached its queue per model second


def _mean_se(x: np.ndarray) -> tuple:
    if x.size == 0:
        return float("nan"), float("nan")
    se = float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else float("nan")
    return float(x.mean()), se


def _slope_se(x: np.ndarray, y: np.ndarray) -> tuple:
    """Least-squares slope of y on x and its ordinary standard error (NaN if not defined)."""
    b = slope(x, y)
    xc = x - x.mean() if x.size else x
    sxx = float(np.dot(xc, xc))
    if x.size < 3 or sxx <= 0:
        return b, float("nan")
    res = y - y.mean() - b * xc
    return b, float(np.sqrt(np.dot(res, res) / (x.size - 2) / sxx))


def jump_profiles(run: Run, windows: int = JUMP_WINDOWS, bins: int = JUMP_QUEUE_BINS) -> List[JumpProfile]:
    """Every machine's JumpProfile."""
    ev, end = run.events, float(run.attrs["end_s"])
    slices = machine_slices(run)
    clock_slopes = [slope(ev["t"][s], ev["lamport"][s].astype(float)) for s in slices]
    received = run.network["received"]
    edges_t = np.linspace(0.0, end, windows + 1)
    out: List[JumpProfile] = []
    for i, s in enumerate(slices):
        recv = ev["kind"][s] == RECEIVE
        t, jump = ev["t"][s][recv], ev["jump"][s][recv].astype(float)
        q = ev["queue"][s][recv].astype(float) + 1  # the message taken was in the queue too
        w = np.clip(np.searchsorted(edges_t, t, side="right") - 1, 0, windows - 1)
        wm = [_mean_se(jump[w == k]) for k in range(windows)]
        qe = np.unique(np.quantile(q, np.linspace(0, 1, bins + 1))) if q.size else np.zeros(1)
        qb = np.clip(np.searchsorted(qe, q, side="right") - 1, 0, max(0, qe.size - 2))
        nb = max(1, qe.size - 1)
        qm = np.array([jump[qb == k].mean() if np.any(qb == k) else np.nan for k in range(nb)])
        b, se = _slope_se(q, jump)
        senders = np.flatnonzero(received[:, i] > 0)
        out.append(JumpProfile(
            rank=i, receives=int(t.size), window_edges=edges_t,
            window_mean=np.array([x[0] for x in wm]), window_se=np.array([x[1] for x in wm]),
            queue_edges=qe, queue_mean=qm, queue_count=np.bincount(qb, minlength=nb)[:nb],
            queue_slope=b, queue_slope_se=se,
            sender_slope=max((clock_slopes[j] for j in senders), default=float("nan")),
            arrival_hz=float(run.network["sent"][:, i].sum()) / end if end > 0 else 0.0))
    return out
