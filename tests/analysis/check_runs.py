"""The theory checks (clockbench.compare) applied to runs of tests/analysis/replay.py, the exact
simulator of docs/model.md: how often a check fails a correct run (its false-failure rate)."""

from __future__ import annotations

from typing import Dict, List

import numpy as np

from replay import KIND_RECEIVE, replay

from clockbench.compare import Check, compare, theory_for
from clockbench.metrics import MachineMetrics, RunMetrics, slope


def metrics_of(res: Dict) -> RunMetrics:
    """The measurements compare() reads, from one replayed run (deadlines stand for the times)."""
    rows: List[MachineMetrics] = []
    sent = np.array(res["sent"])
    end = float(res["end_s"])
    for i, ev in enumerate(res["events"]):
        kind, t = np.array(ev["kind"], dtype=int), np.array(ev["deadline"])
        jumps = np.array(ev["jump"])[kind == KIND_RECEIVE]
        counts = np.bincount(kind, minlength=4)[:4]
        ticks = int(kind.size)
        rows.append(MachineMetrics(
            rank=i, rate_hz=res["rates"][i], achieved_hz=res["rates"][i], ticks=ticks, kind_counts=counts,
            arrival_hz=float(sent[:, i].sum()) / end, utilisation=counts[KIND_RECEIVE] / max(1, ticks),
            jump_mean=float(jumps.mean()) if jumps.size else float("nan"), jump_p99=0.0, jump_max=0, gaps=0,
            queue_mean=float(np.mean(ev["queue"])), queue_max=0, queue_final=0,
            queue_slope=slope(t, np.array(ev["queue"], dtype=float)),
            clock_slope=slope(t, np.array(ev["lamport"], dtype=float)), lag_mean=0.0, lag_max=0.0,
            lag_final=0.0, lateness_p50_s=0.0, lateness_p99_s=0.0, lateness_max_s=0.0,
            phase_s=res["phase_s"][i]))
    return RunMetrics(path="replay", n=res["n"], topology=res["topology"], p_internal=res["p_internal"],
                      seed=res["seed"], duration_s=end, end_s=end, speedup=1.0, completed=True, stop_reason="",
                      machines=rows, grid=np.zeros(0), clocks=np.zeros(0), queues=np.zeros(0),
                      spread=np.zeros(0), drift_max=0.0, drift_mean=0.0, phase_mode=res["phase_mode"],
                      latency=str(res["latency"]))


def checks_of(res: Dict) -> List[Check]:
    m = metrics_of(res)
    return compare(m, theory_for(m, np.array(res["adjacency"])), np.array(res["adjacency"]))


def failure_rates(rates, runs: int, duration: float, first_seed: int = 1, **kw) -> Dict[tuple, float]:
    """(quantity, machine) -> fraction of `runs` replayed runs in which that check failed."""
    fails: Dict[tuple, int] = {}
    for seed in range(first_seed, first_seed + runs):
        for c in checks_of(replay(rates, seed, duration, **kw)):
            key = (c.quantity, c.machine)
            fails[key] = fails.get(key, 0) + (not c.ok)
    return {k: v / runs for k, v in fails.items()}
