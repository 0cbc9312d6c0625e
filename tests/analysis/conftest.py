"""Fixtures for the analysis tests: simulate the model and write clockbench/1 files."""

from __future__ import annotations

import bisect
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
ANALYZE = ROOT / "analysis" / "clockbench-analyze"
sys.path.insert(0, str(ROOT / "analysis"))

from clockbench.file import config_text  # noqa: E402
from clockbench.file.run_file import NUMPY_TYPES, RunData, write_run  # noqa: E402,F401 (the tests' writer)
from clockbench.file.schema import GROUPS  # noqa: E402

# The /events columns' numpy types, by the table of schema/clockbench-1.json.
EVENT_DTYPES = {name: NUMPY_TYPES[c.type] for name, c in GROUPS["events"].items()}


def adjacency_of(topology: str, n: int, seed: int = 0) -> np.ndarray:
    """Peers: `full` is everyone else, `ring` the two neighbours, `random:K` the graph of `seed`
    (replay.py's reading of docs/model.md)."""
    if topology == "full":
        return (1 - np.eye(n, dtype=np.uint8)).astype(np.uint8)
    adj = np.zeros((n, n), dtype=np.uint8)
    if topology.startswith("random:"):
        from replay import peer_lists
        for i, row in enumerate(peer_lists(n, topology, seed)):
            adj[i, row] = 1
        return adj
    for i in range(n):
        adj[i, (i + 1) % n] = adj[i, (i - 1) % n] = 1
    return adj


def simulate(rates: Sequence[float] = (3.0, 4.0, 8.0), duration_s: float = 10.0,
             p_internal: float = 0.5, topology: str = "full", seed: int = 7,
             latency_s: float = 0.05) -> RunData:
    """Run the scale model on a god's-eye timeline with FIFO queues and a fixed network delay: a
    file as written before the model-time fields of docs/model.md (model_sim.py writes those)."""
    n = len(rates)
    rng = np.random.default_rng(seed)
    adj = adjacency_of(topology, n)
    peers = [list(np.flatnonzero(adj[i])) for i in range(n)]
    n_ticks = [int(np.ceil(duration_s * r)) for r in rates]
    # Lateness below one period keeps t increasing per machine.
    late = [rng.uniform(0, 0.2 / r, k) for r, k in zip(rates, n_ticks)]
    times = [np.arange(k) / r + lt for r, k, lt in zip(rates, n_ticks, late)]
    schedule = sorted((t, i, k) for i in range(n) for k, t in enumerate(times[i]))
    draws = rng.random(len(schedule))
    picks = rng.integers(0, 1 << 30, len(schedule))
    p_one = p_internal + 2 * (1 - p_internal) / 3
    clock = [0] * n
    arrivals: List[List[float]] = [[] for _ in range(n)]
    inbox: List[List[tuple]] = [[] for _ in range(n)]  # (sender, tick, clock)
    head = [0] * n
    rows: List[List[tuple]] = [[] for _ in range(n)]
    for (t, i, k), u, pick in zip(schedule, draws, picks):
        waiting = bisect.bisect_right(arrivals[i], t, head[i]) - head[i]
        before = clock[i]
        if waiting:
            snd, stick, sclk = inbox[i][head[i]]
            head[i] += 1
            clock[i] = max(clock[i], sclk) + 1
            rows[i].append((i, k, t, 3, clock[i], clock[i] - before,
                            waiting - 1, snd, stick, sclk))
            continue
        clock[i] += 1
        if u < p_internal or not peers[i]:
            kind, dests, peer = 0, [], -1
        elif u < p_one:
            peer = int(peers[i][pick % len(peers[i])])
            kind, dests = 1, [peer]
        else:
            kind, dests, peer = 2, peers[i], -1
        for j in dests:
            arrivals[j].append(t + latency_s)
            inbox[j].append((i, k, clock[i]))
        rows[i].append((i, k, t, kind, clock[i], 1, 0, peer, -1, -1))
    sent = np.zeros((n, n), dtype=np.int64)
    received = np.zeros((n, n), dtype=np.int64)
    left = np.zeros((n, n), dtype=np.int64)
    for j in range(n):
        for pos, (snd, _, _) in enumerate(inbox[j]):
            sent[snd, j] += 1
            (received if pos < head[j] else left)[snd, j] += 1
    cols = list(zip(*[r for machine in rows for r in machine]))
    events = {name: np.array(col, dtype=EVENT_DTYPES[name])
              for name, col in zip(EVENT_DTYPES, cols)}
    lateness = [np.percentile(lt, [50, 99, 100]) for lt in late]
    machines = {
        "rank": np.arange(n), "hostname": np.array(["node0"] * n, dtype=object),
        "pid": 1000 + np.arange(n), "rate_hz": np.array(rates, dtype=float),
        "achieved_hz": np.array([(k - 1) / (tm[-1] - tm[0])
                                 for k, tm in zip(n_ticks, times)]),
        "ticks": np.array(n_ticks), "sent": sent.sum(axis=1),
        "received": received.sum(axis=0), "left_in_queue": left.sum(axis=0),
        "clock_offset_s": np.zeros(n), "clock_offset_uncertainty_s": np.zeros(n),
        "lateness_p50_s": np.array([x[0] for x in lateness]),
        "lateness_p99_s": np.array([x[1] for x in lateness]),
        "lateness_max_s": np.array([x[2] for x in lateness]),
    }
    attrs = {
        "schema": "clockbench/1", "clockbench_version": "0.1.0",
        "git_sha": "unknown", "created_utc": "2024-01-01T00:00:00Z",
        "command_line": "mpirun -np %d clockbench" % n,
        "mpi_library_version": "synthetic", "hdf5_version": "1.10.8",
        "n_machines": np.int32(n), "duration_s": float(duration_s),
        "speedup": 1.0, "seed": np.uint64(seed), "p_internal": float(p_internal),
        "topology": topology, "completed": np.int32(1),
        "stop_reason": "duration reached", "end_s": float(duration_s),
    }
    config = config_text.render(header="synthetic test data (tests/analysis/conftest.py)", duration_s=duration_s,
                                rates=rates, p_internal=p_internal, seed=seed, topology=topology, speedup=1.0,
                                phase="zero", latency=config_text.format_number(latency_s), grace_s=None)
    return RunData(attrs, config, machines, events,
                   {"adjacency": adj, "sent": sent, "received": received,
                    "left_in_queue": left})


@pytest.fixture
def make_run(tmp_path: Path) -> Callable[..., Path]:
    """Factory: make_run(name, mutate=fn(RunData), **simulate kwargs) -> file path."""
    def make(name: str = "run.h5", mutate: Optional[Callable[[RunData], None]] = None,
             **kwargs: Any) -> Path:
        data = simulate(**kwargs)
        if mutate is not None:
            mutate(data)
        return write_run(tmp_path / name, data)
    return make


@dataclass
class CliResult:
    """What one clockbench-analyze process did."""

    code: int
    out: str
    err: str


def run_cli(*args: Any) -> CliResult:
    """Run clockbench-analyze as the user does: a /usr/bin/python3 subprocess."""
    proc = subprocess.run(["/usr/bin/python3", str(ANALYZE), *map(str, args)],
                          capture_output=True, text=True, timeout=120)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli() -> Callable[..., CliResult]:
    return run_cli
