#!/usr/bin/python3
"""Benchmark of the analysis on a big run: writes a synthetic clockbench/1 file of ~10 million
events (the model of docs/model.md, vectorised; it passes `verify`), then times `verify`, `summary`,
`causality`, the three `export` formats and `report` on it as a user runs them, with wall time and
peak RSS of each. Not a test.

    /usr/bin/python3 bench/analysis.py [--events 10000000] [--machines 16] [--keep FILE]

How the model is vectorised: time is cut into windows as long as the network latency, so a
message sent in one window arrives in the next and every window's arrivals are known before it
starts. Within a window each machine's receives follow from its cumulative arrivals C_k by the
queue recursion R_k = min(C_k, R_{k-1} + 1), i.e. R_k = min(k + 1, k + cummin_j(C_j - j)), and its
clock from L_k = max(L_{k-1}, m_k) + 1, i.e. L_k = k + 1 + max(L_before - k0, cummax_j(m_j - j)) with
m_j the clock a received message carried: no Python loop over events.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Tuple

import h5py
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "analysis")
sys.path.insert(0, ROOT)  # the clockbench package of this checkout
from clockbench.file import config_text  # noqa: E402
from clockbench.file.run_file import NUMPY_TYPES, RunData, write_run  # noqa: E402
from clockbench.file.schema import GROUPS, SCHEMA  # noqa: E402

ANALYZE = os.path.join(ROOT, "clockbench-analyze")
P_INTERNAL = 0.7
LATENCY_S = 0.05  # = the window length
LATENESS_MEAN_S = 20e-6
# The /events columns of a file written before msg_arrival (docs/schema.md), typed by the table.
EVENT_TYPES = {name: NUMPY_TYPES[c.type] for name, c in GROUPS["events"].items() if not c.added}


class Inbox:
    """Messages delivered to one machine and not yet taken, in arrival order (column arrays)."""

    def __init__(self) -> None:
        self.cols = [np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)]
        self.incoming: List[Tuple[np.ndarray, ...]] = []

    def deliver(self) -> None:
        """Appends the messages sent to it in the last window, sorted by arrival (FIFO per sender)."""
        if not self.incoming:
            return
        new = [np.concatenate(c) for c in zip(*self.incoming)]
        order = np.argsort(new[0], kind="stable")
        self.cols = [np.concatenate((old, c[order])) for old, c in zip(self.cols, new)]
        self.incoming = []


def generate(path: str, events: int, n: int, seed: int = 1) -> Dict[str, float]:
    rng = np.random.default_rng(seed)
    rates = rng.integers(4000, 6001, n).astype(float)
    duration = events / rates.sum()
    ticks = np.ceil(duration * rates).astype(np.int64)
    start = np.concatenate(([0], np.cumsum(ticks)))
    total = int(start[-1])
    ev = {k: np.empty(total, dtype=v) for k, v in EVENT_TYPES.items()}
    times, late = [], []
    for i in range(n):
        lt = np.minimum(rng.exponential(LATENESS_MEAN_S, ticks[i]), 0.4 / rates[i])
        late.append(lt)
        times.append(np.arange(ticks[i]) / rates[i] + lt)
    windows = int(np.ceil(duration / LATENCY_S)) + 1
    bounds = [np.searchsorted(times[i], np.arange(windows + 1) * LATENCY_S) for i in range(n)]
    inbox = [Inbox() for _ in range(n)]
    clock = np.zeros(n, dtype=np.int64)
    sent = np.zeros((n, n), dtype=np.int64)
    received = np.zeros((n, n), dtype=np.int64)
    peers = [np.array([j for j in range(n) if j != i]) for i in range(n)]
    p_one = P_INTERNAL + 2 * (1 - P_INTERNAL) / 3
    for w in range(windows):
        for box in inbox:
            box.deliver()
        for i in range(n):
            a, b = int(bounds[i][w]), int(bounds[i][w + 1])
            if a == b:
                continue
            k = np.arange(a, b)
            t = times[i][a:b]
            box = inbox[i]
            arrived = np.searchsorted(box.cols[0], t, side="right")
            local = np.arange(b - a)
            taken = np.minimum(local + 1, local + np.minimum.accumulate(arrived - local))
            recv = np.diff(taken, prepend=0) > 0
            idx = taken[recv] - 1
            snd, stick, sclk = box.cols[1][idx], box.cols[2][idx], box.cols[3][idx]
            m = np.full(b - a, np.iinfo(np.int64).min // 2)
            m[recv] = sclk - k[recv]
            lam = k + 1 + np.maximum(clock[i] - a, np.maximum.accumulate(m))
            u = rng.random(b - a)
            kind = np.where(recv, 3, np.where(u < P_INTERNAL, 0, np.where(u < p_one, 1, 2))).astype(np.uint8)
            dest = peers[i][rng.integers(0, n - 1, b - a)]
            s = slice(start[i] + a, start[i] + b)
            ev["rank"][s], ev["tick"][s], ev["t"][s], ev["kind"][s], ev["lamport"][s] = i, k, t, kind, lam
            ev["jump"][s] = np.diff(lam, prepend=clock[i])
            ev["queue"][s] = arrived - taken
            ev["peer"][s] = np.where(recv, 0, np.where(kind == 1, dest, -1))
            ev["peer"][s][recv] = snd
            for col, vals in (("msg_tick", stick), ("msg_clock", sclk)):
                ev[col][s] = -1
                ev[col][s][recv] = vals
            np.add.at(received[:, i], snd, 1)
            clock[i] = lam[-1]
            box.cols = [c[int(taken[-1]):] for c in box.cols]
            one, every = kind == 1, kind == 2
            for j in peers[i]:
                to_j = every | (one & (dest == j))
                if to_j.any():
                    inbox[j].incoming.append((t[to_j] + LATENCY_S, np.full(int(to_j.sum()), i), k[to_j], lam[to_j]))
                    sent[i, j] += int(to_j.sum())
    left = sent - received
    _write(path, ev, rates, ticks, times, late, duration, sent, received, left, seed)
    return {"duration_s": duration, "events": float(total)}


def _write(path: str, ev: Dict[str, np.ndarray], rates: np.ndarray, ticks: np.ndarray, times: List[np.ndarray],
           late: List[np.ndarray], duration: float, sent: np.ndarray, received: np.ndarray, left: np.ndarray,
           seed: int) -> None:
    """The run file, through the analysis's one writer (clockbench/run_file.py) and /config renderer."""
    n = rates.size
    pct = np.array([np.percentile(x, [50, 99, 100]) for x in late])
    machines = {"rank": np.arange(n), "hostname": np.array(["synthetic"] * n, dtype=object),
                "pid": np.arange(n) + 1000, "rate_hz": rates,
                "achieved_hz": np.array([(len(x) - 1) / (x[-1] - x[0]) for x in times]),
                "ticks": ticks, "sent": sent.sum(axis=1), "received": received.sum(axis=0),
                "left_in_queue": left.sum(axis=0), "clock_offset_s": np.zeros(n),
                "clock_offset_uncertainty_s": np.zeros(n), "lateness_p50_s": pct[:, 0],
                "lateness_p99_s": pct[:, 1], "lateness_max_s": pct[:, 2]}
    attrs = {"schema": SCHEMA, "clockbench_version": "synthetic", "git_sha": "unknown",
             "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
             "command_line": "bench/analysis.py", "mpi_library_version": "none (synthetic)",
             "hdf5_version": h5py.version.hdf5_version, "n_machines": n, "duration_s": duration,
             "speedup": 1.0, "seed": seed, "p_internal": P_INTERNAL, "topology": "full",
             "completed": 1, "stop_reason": "duration reached", "end_s": duration,
             "events_io_mode": "independent"}
    # The model of this generator: every machine from model time 0, a constant latency; no grace
    # (the file is written without the model-time fields, as before them).
    config = config_text.render(header="synthetic (bench/analysis.py)", duration_s=duration,
                                rates=list(rates), p_internal=P_INTERNAL, seed=seed, topology="full", speedup=1.0,
                                phase="zero", latency=config_text.format_number(LATENCY_S), grace_s=None)
    adj = (1 - np.eye(n, dtype=np.uint8)).astype(np.uint8)
    write_run(path, RunData(attrs, config, machines, ev,
                            {"adjacency": adj, "sent": sent, "received": received, "left_in_queue": left}))


def measure(argv: List[str]) -> Tuple[float, float, int, str]:
    """Runs a command; returns its wall time (s), peak RSS (MB), exit code and last output line."""
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, _ = proc.communicate()
    wall = time.monotonic() - started
    # The command runs under a fresh measuring child (see --child), whose RUSAGE_CHILDREN peak is
    # that command's alone (our own RUSAGE_CHILDREN would keep the largest child so far).
    lines = out.strip().splitlines()
    rss = float(lines[-1].split("=")[1]) if lines and lines[-1].startswith("PEAK_RSS_MB=") else float("nan")
    shown = next((ln for ln in reversed(lines[:-1]) if ln.strip()), "")
    return wall, rss, proc.returncode, shown


def child(argv: List[str]) -> int:
    """Runs one analysis command and prints the peak RSS of it (getrusage of its own child)."""
    code = subprocess.call(argv, stdout=sys.stdout, stderr=sys.stdout)
    print(f"PEAK_RSS_MB={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f}", flush=True)
    return code


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--machines", type=int, default=16)
    ap.add_argument("--keep", metavar="FILE", help="write the run file here and keep it (default: a temporary "
                    "folder, removed at the end)")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="clockbench-bench-")
    path = args.keep or os.path.join(tmp, "big.h5")
    started = time.monotonic()
    info = generate(path, args.events, args.machines)
    gen_s = time.monotonic() - started
    print(f"generated {path}: {int(info['events'])} events, {args.machines} machines, "
          f"{info['duration_s']:.1f} model s, {os.path.getsize(path) / 2**20:.0f} MiB, in {gen_s:.1f} s", flush=True)
    rows = []
    for name, cmd in (("verify", ["verify", path]), ("summary", ["summary", path]),
                      ("causality", ["causality", path]),
                      ("shiviz", ["export", "--format", "shiviz", path, "-o", os.path.join(tmp, "run.shiviz")]),
                      ("perfetto", ["export", "--format", "perfetto", path, "-o", os.path.join(tmp, "run.json")]),
                      ("otf2", ["export", "--format", "otf2", path, "-o", os.path.join(tmp, "run.otf2")]),
                      ("report", ["report", path, "-o", os.path.join(tmp, "report")])):
        wall, rss, code, last = measure([sys.executable, os.path.abspath(__file__), "--child",
                                         sys.executable, ANALYZE, *cmd])
        rows.append((name, wall, rss, code, last[:70]))
        print(f"  {name}: {wall:.1f} s, exit {code}", flush=True)
    print(f"\n{'command':<9} {'wall_s':>7} {'peak_rss_MB':>11} {'exit':>4}  last line")
    for name, wall, rss, code, last in rows:
        print(f"{name:<9} {wall:>7.1f} {rss:>11.0f} {code:>4}  {last}")
    shutil.rmtree(tmp, ignore_errors=True)  # the run file (unless --keep) and the report
    return 0 if all(r[3] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
