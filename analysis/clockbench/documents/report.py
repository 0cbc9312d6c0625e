"""The `report` of run files: an overview of all runs, then per run its provenance, tables, plots,
theory check and configuration, as one self-contained HTML page and a Markdown file."""

from __future__ import annotations

import datetime as dt
import os
from typing import List, Sequence, Tuple

import numpy as np

from clockbench.documents import plots

from clockbench.documents import spacetime
from clockbench.theory.calibration import rate_lines
from clockbench.documents.causality_doc import add_run_causality
from clockbench.theory.compare import MODEL_TIME_TEXT, TOLERANCE_TEXT
from clockbench.documents.document import Document
from clockbench.theory.run_analysis import RunAnalysis, growing_predicted, rates_text
from clockbench.documents.summary import describe_run, model_line, prediction_line, timing_banner, timing_verdict
from clockbench.documents.tables import Table, checks_table, machine_table, num

REPORT_STEM = "report"


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def default_folder(files: Sequence[str]) -> str:
    """<stem>-report for one file, report-<UTC time> for several (in the current folder)."""
    if len(files) == 1:
        return os.path.splitext(os.path.basename(files[0]))[0] + "-report"
    return "report-" + dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def state_text(a: RunAnalysis) -> str:
    m = a.metrics
    return "completed" if m.completed else f"PARTIAL ({m.end_s:g} of {m.duration_s:g} s)"


def checks_text(a: RunAnalysis) -> str:
    return f"{a.passed}/{len(a.checks)}" if a.pred is not None else "n/a"


def overview_table(analyses: Sequence[RunAnalysis]) -> Table:
    """One row per run: what was run and its headline numbers."""
    headers = ["file", "N", "topology", "rates_hz", "p_internal", "seed", "duration_s", "phase", "latency_s",
               "grace_s", "state", "timing", "events", "drift_max", "drift_mean", "theory_pass"]
    rows = []
    for a in analyses:
        m = a.metrics
        rows.append([a.name, str(m.n), m.topology, rates_text(a.rates), f"{m.p_internal:g}", str(m.seed),
                     f"{m.duration_s:g}", m.phase_mode, m.latency, f"{m.grace_s:g}", state_text(a),
                     timing_verdict(m), str(a.n_events), num(m.drift_max, 0), num(m.drift_mean, 1), checks_text(a)])
    return Table(headers, rows)


def partial_banner(a: RunAnalysis) -> str:
    m = a.metrics
    return (f"PARTIAL RUN (completed=0): stopped at model time {m.end_s:g} s of {m.duration_s:g} s; "
            f"stop reason: {m.stop_reason}. Every figure below covers only the part that ran.")


def drift_lines(a: RunAnalysis) -> List[str]:
    """Drift and lag, in words with their numbers."""
    m = a.metrics
    step = m.end_s / max(1, m.grid.size - 1)
    lead = int(np.argmax(m.clocks[:, -1]))
    worst = max(m.machines, key=lambda x: x.lag_mean)
    return [f"Spread of the Lamport clocks across machines (max - min, sampled every {step:.3g} model s): "
            f"max {m.drift_max:g}, mean {m.drift_mean:.1f}, at the end {m.spread[-1]:g}.",
            f"Leader at the end: machine {lead} ({m.machines[lead].rate_hz:g} Hz, L = {m.clocks[lead, -1]:g}). "
            f"Furthest behind on average: machine {worst.rank} ({worst.rate_hz:g} Hz), "
            f"lag mean {worst.lag_mean:.1f}, max {worst.lag_max:g}, final {worst.lag_final:g}."]


def add_theory(doc: Document, a: RunAnalysis) -> None:
    """The measured-vs-predicted table with its tolerance and pass/fail marks."""
    if a.pred is None:
        doc.para("The queueing theory needs at least two machines with positive rates: no checks.", "note")
        return
    doc.para(prediction_line(a.pred) + ". " + MODEL_TIME_TEXT)
    doc.table(checks_table(a.checks))
    failed = [f"machine {c.machine} {c.quantity}" for c in a.checks if not c.ok]
    verdict = f"{a.passed} of {len(a.checks)} checks pass"
    doc.para(verdict + (f"; failing: {', '.join(failed)}" if failed else "") + f". {TOLERANCE_TEXT}. "
             "Quantities: lambda_hz arrivals per model s, rho fraction of ticks that receive, "
             "dQ/dt queue growth in messages per model s, jump_mean mean clock jump on receive. "
             + " ".join(line.strip() for line in rate_lines()),
             "note" if not failed else "banner")


def add_plots(doc: Document, a: RunAnalysis, prefix: str) -> None:
    m, pred = a.metrics, a.pred
    doc.figure(plots.clock_figure(m), f"{prefix}-clocks",
               "Lamport clock of each machine on the god's-eye timeline.")
    doc.figure(plots.lag_figure(m), f"{prefix}-lag",
               "How far each clock is behind the fastest one; wide grey: the spread of the clocks (drift).")
    grows = growing_predicted(a)
    doc.figure(plots.queue_figure(m, pred), f"{prefix}-queues",
               "Messages waiting in each queue; dashed: the theory's growth "
               + (f"(unstable: machine{'s' if len(grows) > 1 else ''} {', '.join(map(str, grows))})." if grows
                  else "(all queues stable)."))
    if a.dists is not None:
        doc.figure(plots.jump_figure(m, a.dists), f"{prefix}-jumps",
                   "Distribution of the clock's jump on each receive, per machine.")
    doc.figure(plots.mix_figure(m, pred), f"{prefix}-mix",
               "Fraction of ticks of each kind, measured and as the theory predicts.")
    if a.dists is not None:
        doc.figure(plots.lateness_figure(m, a.dists), f"{prefix}-lateness",
                   "Cumulative distribution of each tick's lateness behind its deadline (wall time).")


def add_run(doc: Document, a: RunAnalysis, k: int) -> None:
    doc.heading(f"Run {k}: {a.name}")
    if not a.metrics.completed:
        doc.para(partial_banner(a), "banner")
    if a.metrics.degraded:
        doc.para(timing_banner(a.metrics), "banner")
    doc.para(describe_run(a.metrics), "muted")
    doc.para(model_line(a.metrics), "muted")
    doc.heading("Provenance", 3)
    doc.key_values(a.provenance())
    doc.heading("Machines", 3)
    doc.table(machine_table(a.metrics))
    doc.para("Rates in Hz (ticks per model s); internal..receive: fractions of ticks; jumps in clock values "
             "(receives only); queue_slope in messages per model s; lag in clock values behind the fastest; "
             "late_p99_ms: 99th percentile of tick lateness, wall ms; phase_s: model time of tick 0; "
             "late_deliveries, missed_ticks: where the loop fell behind the model ('-': not in the file).", "muted")
    doc.heading("Drift", 3)
    doc.bullets(drift_lines(a))
    doc.heading("Plots", 3)
    add_plots(doc, a, f"run{k}")
    doc.heading("Space-time diagram", 3)
    spacetime.add_section(doc, a.path, f"run{k}")
    doc.heading("Theory: measured vs predicted", 3)
    add_theory(doc, a)
    add_run_causality(doc, a.path)
    doc.heading("Configuration (/config)", 3)
    doc.pre(a.config)


def build_report(analyses: Sequence[RunAnalysis], skipped: Sequence[Tuple[str, str]] = ()) -> Document:
    """The report document of the analysed runs; `skipped` lists (file, problem) left out."""
    doc = Document("clockbench report",
                   f"{len(analyses)} run(s), generated {utc_now()} by clockbench-analyze report")
    doc.heading("Overview")
    doc.table(overview_table(analyses))
    doc.para("phase: random (each machine's own phase) or zero; latency_s: the message latency in model s "
             "(D, uniform:LO,HI or exp:MEAN); grace_s: how long a tick may wait for its senders, wall s; timing: "
             "ok when the real-time loop kept up with the model (docs/model.md), else DEGRADED with its late "
             "deliveries and missed ticks; drift: spread of the Lamport clocks across machines (max - min) on "
             "the god's-eye time grid; theory_pass: checks within tolerance / checks made.", "muted")
    partial = [a.name for a in analyses if not a.metrics.completed]
    if partial:
        doc.para(f"Partial runs (stopped early): {', '.join(partial)}.", "banner")
    degraded = [f"{a.name} ({timing_verdict(a.metrics)})" for a in analyses if a.metrics.degraded]
    if degraded:
        doc.para(f"Runs whose timing degraded: {', '.join(degraded)}.", "banner")
    if skipped:
        doc.para("Skipped, could not be read: " + "; ".join(f"{f} ({p})" for f, p in skipped), "banner")
    for k, a in enumerate(analyses, 1):
        add_run(doc, a, k)
    return doc


def write_report(analyses: Sequence[RunAnalysis], folder: str,
                 skipped: Sequence[Tuple[str, str]] = ()) -> Tuple[str, str]:
    """Writes folder/report.html and folder/report.md (with its PNGs); returns their paths."""
    return build_report(analyses, skipped).write(folder, REPORT_STEM)
