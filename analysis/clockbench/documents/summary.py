"""The `summary` of a run: its header, the per-machine table, drift, and the theory check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List

import numpy as np

from clockbench.theory.compare import MODEL_TIME_TEXT, TOLERANCE_TEXT, Check, compare, tally, theory_for
from clockbench.theory.finite import diffusion
from clockbench.measure.metrics import RunMetrics, compute
from clockbench.file.schema import Run
from clockbench.documents.formats import plain
from clockbench.documents.tables import checks_table, machine_table, render_text
from clockbench.theory.mean_field import Prediction, prediction_data


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


@dataclass
class SummaryParts:
    """What `summary` computes of one run, once: its text and its data are both views of it."""

    metrics: RunMetrics
    adjacency: np.ndarray
    pred: Prediction
    checks: List[Check]

    @property
    def passed(self) -> bool:
        """Every theory check passed (a run too short for any check passes)."""
        passed, total = tally(self.checks)
        return passed == total


def summary_parts(run: Run) -> SummaryParts:
    m = compute(run)
    adj = run.network["adjacency"]
    pred = theory_for(m, adj)
    return SummaryParts(m, adj, pred, compare(m, pred, adj))


def summarize(run: Run) -> List[str]:
    return summary_lines(summary_parts(run))


def summary_lines(parts: SummaryParts) -> List[str]:
    """The text `summary` prints for one run."""
    m, pred, checks, adj = parts.metrics, parts.pred, parts.checks, parts.adjacency
    passed, total = tally(checks)
    lines = [describe_run(m), model_line(m), "", render_text(machine_table(m)), ""]
    lines.append(f"drift: Lamport spread across machines on a {grid_step(m):.3g} s grid: "
                 f"max {m.drift_max:g}, mean {m.drift_mean:.1f}; queue_slope in messages per model second")
    lines += ["", prediction_line(pred), MODEL_TIME_TEXT, finite_line(pred, adj, m.end_s),
              render_text(checks_table(checks)),
              f"theory check: {passed} of {total} pass ({TOLERANCE_TEXT})"]
    return lines


def grid_step(m: RunMetrics) -> float:
    """Model seconds between the points of the god's-eye grid drift and lag are sampled on."""
    return m.end_s / (m.grid.size - 1)


# The quantities of the theory checks, in the order compare() makes them for a machine.
CHECK_QUANTITIES = ("lambda_hz", "rho", "dQ/dt", "queue_mean", "jump_mean")


def machine_records(m: RunMetrics) -> List[Dict[str, Any]]:
    """The per-machine table of `summary` as records: the same columns (machine_table's headers),
    unrounded; None where the table shows '-' (no end clock estimate; timing counts not in the file).
    The event mix (internal, send_one, send_all, receive) is fractions of the machine's ticks."""
    columns, out = machine_table(m).headers, []
    for x in m.machines:
        mix = [float(f) for f in x.mix]
        values = [x.rank, x.hostname, x.clock_offset_s, 1e6 * x.clock_offset_uncertainty_s, x.clock_rate_ppm,
                  x.rate_hz, x.achieved_hz, x.ticks, *mix, x.jump_mean, x.jump_p99, x.jump_max, x.queue_mean,
                  x.queue_max, x.queue_final, x.queue_slope, x.lag_mean, x.lag_max, 1e3 * x.lateness_p99_s,
                  x.phase_s] + ([x.late_deliveries, x.missed_ticks] if m.timing_known else [None, None])
        assert len(values) == len(columns), "machine_records and machine_table disagree"
        out.append(dict(zip(columns, values)))
    return out


def check_record(c: Check) -> Dict[str, Any]:
    return {"machine": c.machine, "quantity": c.quantity, "measured": c.measured, "predicted": c.predicted,
            "tolerance": c.tolerance, "mean_field": c.mean_field, "ok": c.ok}


def summary_data(parts: SummaryParts) -> Dict[str, Any]:
    """Everything `summary` prints of one run, as plain data (`summary --format json`, and
    clockbench.summary): the run, its model settings and timing, the per-machine table, drift,
    the theory, the finite-T queues, and the checks with their verdict."""
    m, pred, adj = parts.metrics, parts.pred, parts.adjacency
    passed, total = tally(parts.checks)
    finite = None
    if m.end_s > 0:
        q = diffusion(pred, adj)
        finite = {"horizon_s": m.end_s, "queue": q.queue(m.end_s), "queue_mean": q.queue_mean(m.end_s),
                  "queue_slope": q.queue_slope(m.end_s)}
    return plain({
        "file": m.path,
        "run": {"machines": m.n, "topology": m.topology, "p_internal": m.p_internal, "seed": m.seed,
                "duration_s": m.duration_s, "end_s": m.end_s, "speedup": m.speedup, "completed": m.completed,
                "stop_reason": m.stop_reason},
        "model": {"phase_mode": m.phase_mode, "latency": m.latency, "grace_s": m.grace_s, "timing": m.timing,
                  "degraded": m.degraded, "timing_known": m.timing_known,
                  "late_deliveries": m.late_deliveries if m.timing_known else None,
                  "missed_ticks": m.missed_ticks if m.timing_known else None},
        "machines": machine_records(m),
        "drift": {"grid_step_s": grid_step(m), "max": m.drift_max, "mean": m.drift_mean},
        "theory": prediction_data(pred),
        "finite": finite,
        "checks": [check_record(c) for c in parts.checks],
        "check": {"passed": passed, "total": total, "ok": passed == total, "tolerance": TOLERANCE_TEXT},
    })


def summary_csv_columns(parts: SummaryParts) -> List[str]:
    """`summary --format csv`: the file, the per-machine table's columns, then per check quantity its
    measured and predicted value, tolerance, mean-field value and verdict (pass, FAIL, or empty
    where the machine has no such check)."""
    return (["file"] + machine_table(parts.metrics).headers
            + [f"{q}_{k}" for q in CHECK_QUANTITIES for k in ("measured", "predicted", "tolerance", "mean_field",
                                                             "check")])


def summary_csv_rows(parts: SummaryParts) -> List[List[Any]]:
    """One row per machine, in summary_csv_columns() order."""
    by = {(c.machine, c.quantity): c for c in parts.checks}
    rows = []
    for rec in machine_records(parts.metrics):
        row: List[Any] = [parts.metrics.path] + list(rec.values())
        for q in CHECK_QUANTITIES:
            c = by.get((rec["machine"], q))
            row += ([c.measured, c.predicted, c.tolerance, c.mean_field, "pass" if c.ok else "FAIL"] if c
                    else [None] * 5)
        rows.append(row)
    return rows


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
