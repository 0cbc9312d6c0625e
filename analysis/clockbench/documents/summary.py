"""The `summary` of a run: its header, the per-machine table, drift, and the theory check."""

from __future__ import annotations

from typing import List

import numpy as np

from clockbench.theory.compare import MODEL_TIME_TEXT, TOLERANCE_TEXT, compare, tally, theory_for
from clockbench.theory.finite import diffusion
from clockbench.measure.metrics import RunMetrics, compute
from clockbench.file.schema import Run
from clockbench.documents.tables import checks_table, machine_table, render_text
from clockbench.theory.mean_field import Prediction


def timing_verdict(m: RunMetrics) -> str:
    """The timing verdict in a few words, for a table cell; a degraded run's starts with DEGRADED."""
    if m.degraded:
        return f"DEGRADED ({m.late_deliveries} late, {m.missed_ticks} missed)"
    return m.timing


def model_line(m: RunMetrics) -> str:
    """One line: the model's settings (docs/model.md) and whether the loop kept up with them."""
    verdict = f"TIMING {m.timing}" if m.degraded else f"timing {m.timing}"
    if not m.timing_known and not m.degraded:
        verdict += " (the file has no timing counts)"
    return f"model: phase {m.phase_mode}, latency {m.latency} model s, grace {m.grace_s:g} s; {verdict}"


def timing_banner(m: RunMetrics) -> str:
    """What a degraded run must say before its figures."""
    return (f"TIMING DEGRADED: the real-time loop did not keep up with the model ({m.late_deliveries} late "
            f"deliveries, {m.missed_ticks} missed ticks; {m.timing}). Its events depart from the model's where "
            "a message came late or a tick was missed.")


def describe_run(m: RunMetrics) -> str:
    """One line: what was run, and whether it finished."""
    state = "complete" if m.completed else f"PARTIAL: stopped at model t {m.end_s:.3f} s ({m.stop_reason})"
    return (f"{m.path}: {m.n} machines, topology {m.topology}, p_internal {m.p_internal:g}, seed {m.seed}, "
            f"{m.duration_s:g} model s at speedup {m.speedup:g} [{state}]")


def summarize(run: Run) -> List[str]:
    m = compute(run)
    pred = theory_for(m, run.network["adjacency"])
    checks = compare(m, pred, run.network["adjacency"])
    passed, total = tally(checks)
    lines = [describe_run(m), model_line(m), "", render_text(machine_table(m)), ""]
    lines.append(f"drift: Lamport spread across machines on a {m.end_s / (m.grid.size - 1):.3g} s grid: "
                 f"max {m.drift_max:g}, mean {m.drift_mean:.1f}; queue_slope in messages per model second")
    lines += ["", prediction_line(pred), MODEL_TIME_TEXT, finite_line(pred, run.network["adjacency"], m.end_s),
              render_text(checks_table(checks)),
              f"theory check: {passed} of {total} pass ({TOLERANCE_TEXT})"]
    return lines


def prediction_line(pred: Prediction) -> str:
    unstable = np.flatnonzero(~pred.stable)
    grows = ", ".join(f"machine {i} at {pred.growth[i]:.3f} msg/s" for i in unstable) or "none"
    return (f"theory from the run's rates (mean-field, T -> infinity): lambda = "
            f"{np.round(pred.arrival, 3).tolist()} msg/s; growing queues: {grows}")


def finite_line(pred: Prediction, adj: np.ndarray, t: float) -> str:
    """The queues expected over this run's length (finite.py): near rho = 1 they grow like sqrt(T)
    where the mean field says bounded."""
    if t <= 0:
        return "finite-T queues: the run has no length"
    q = diffusion(pred, adj)
    return (f"finite-T queues over T = {t:.3g} s (reflected random walk): expected at T "
            f"{np.round(q.queue(t), 2).tolist()}, mean {np.round(q.queue_mean(t), 2).tolist()}, "
            f"least-squares dQ/dt {np.round(q.queue_slope(t), 3).tolist()} msg/s")
