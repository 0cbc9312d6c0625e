"""The lab notebook of an experiment: its setup, the trial table with computed observations, the
variants compared, and the theory check of every trial, as notebook.html and notebook.md."""

from __future__ import annotations

import shlex
from collections import OrderedDict
from typing import List, Sequence, Tuple

from clockbench.documents import notebook_plots
from clockbench.documents.causality_doc import add_variant_causality
from clockbench.theory.compare import MODEL_TIME_TEXT, TOLERANCE_TEXT
from clockbench.documents.document import Document
from clockbench.exercise import NOTEBOOK_STEM, Settings, Trial
from clockbench.documents.jump_growth import JUMP_RULE_TEXT, jump_answer, jump_cases, jump_table_rows
from clockbench.documents.observations import (GROWING_MESSAGES, QUEUE_RULE_TEXT, compare_sentence, critical_predicted, draw_shares,
                           growing_measured, machines_text, slowest, summarise_variant, trial_sentence)
from clockbench.theory.run_analysis import RunAnalysis, growing_predicted, rates_text
from clockbench.measure.metrics import JUMP_QUEUE_BINS, JUMP_WINDOWS, RunMetrics
from clockbench.documents.summary import model_line, prediction_line, timing_banner, timing_verdict
from clockbench.documents.tables import Table, checks_table, machine_table, num

QUANTITIES = ("lambda_hz", "rho", "dQ/dt", "jump_mean")
# With more machines than this, the rates go in one column instead of one column per machine.
RATE_COLUMNS_MAX = 4


def trial_table(trials: Sequence[Trial]) -> Table:
    """The student's table (trial, rates), with computed observations where they wrote prose."""
    n = trials[0].analysis.metrics.n
    rate_cols = [f"rate_{i}" for i in range(n)] if n <= RATE_COLUMNS_MAX else ["rates_hz"]
    headers = (["trial", "variant", "seed"] + rate_cols
               + ["max_jump (machine)", "mean_jump per machine", "drift max/mean", "slowest: final queue",
                  "slowest: slope (theory) msg/s", "growing: measured / theory", "theory_pass", "timing",
                  "verify"])
    rows = []
    for t in trials:
        a = t.analysis
        ms = a.metrics.machines
        rates = [f"{m.rate_hz:g}" for m in ms] if n <= RATE_COLUMNS_MAX else [rates_text(a.rates)]
        top = max(ms, key=lambda m: m.jump_max)
        s = slowest(a)
        growth = f"{a.pred.growth[s]:.2f}" if a.pred is not None else "-"
        rows.append([str(t.index), t.variant.key, str(t.seed)] + rates + [
            f"{top.jump_max} (m{top.rank})", " / ".join(num(m.jump_mean, 2) for m in ms),
            f"{a.metrics.drift_max:g} / {a.metrics.drift_mean:.1f}", f"{ms[s].queue_final} (m{s})",
            f"{ms[s].queue_slope:.2f} ({growth})",
            f"{machines_text(growing_measured(a))} / {machines_text(growing_predicted(a))}"
            + (f" (critical {machines_text(critical_predicted(a))})" if critical_predicted(a) else ""),
            f"{a.passed}/{len(a.checks)}", timing_verdict(a.metrics), "OK" if t.verified.ok else "FAIL"])
    return Table(headers, rows)


def setup_rows(settings: Settings, trials: Sequence[Trial]) -> List[List[str]]:
    attrs = trials[0].analysis.attrs
    hosts = sorted({h for t in trials for h in t.analysis.hostnames})
    last = settings.seed_base + len(trials) - 1
    return [["matrix", f"{settings.matrix.name}: {len(trials)} runs"],
            ["machines per run", str(settings.n)],
            ["duration", f"{settings.duration_s:g} model s per run"],
            ["speedup", f"{settings.speedup:g} ({settings.duration_s / settings.speedup:.3g} s of wall time per run)"],
            ["seeds", f"{settings.seed_base}..{last}, one per trial in order (trial k has seed "
                      f"{settings.seed_base} + k - 1)"],
            ["clockbench", f"{attrs.get('clockbench_version', '?')} (git {attrs.get('git_sha', '?')}), "
                           f"{settings.binary}"],
            ["MPI / HDF5", f"{attrs.get('mpi_library_version', '?')} / {attrs.get('hdf5_version', '?')}"],
            ["model", "; ".join(sorted({_settings(t.analysis.metrics) for t in trials}))],
            ["hosts", ", ".join(hosts)],
            ["started", settings.started_utc],
            ["wall time", f"{settings.wall_s:.1f} s for the runs, verification and analysis"]]


def _settings(m: RunMetrics) -> str:
    return f"phase {m.phase_mode}, latency {m.latency} model s, grace {m.grace_s:g} s"


def variants_table(settings: Settings, trials: Sequence[Trial]) -> Table:
    rows = []
    for v in settings.matrix.variants:
        seeds = [t.seed for t in trials if t.variant is v]
        growing, critical = draw_shares(settings.n, v.rate_min, v.rate_max, v.p_internal, settings.duration_s)
        rows.append([v.key, f"{v.rate_min:g}..{v.rate_max:g}", f"{v.p_internal:g}", str(len(seeds)),
                     f"{min(seeds)}..{max(seeds)}" if seeds else "-", f"{growing:.1%}", f"{critical:.1%}"])
    return Table(["variant", "rates_hz (drawn, integers)", "p_internal", "runs", "seeds",
                  "theory over all draws: growing queues (rho > 1)", "critical (rho = 1 within noise)"], rows)


def comparison_table(summaries: Sequence) -> Table:
    headers = ["variant", "runs", "rate max/min", "drift mean", "drift max", "jump mean", "largest jump (mean)",
               "largest jump (all)", "receives % ticks", "growing queues % (theory)", "longest queue (mean)",
               "longest queue (all)", "theory pass", "timing degraded"]
    rows = [[s.key, str(s.runs), f"{s.rate_ratio:.2f}", f"{s.drift_mean:.1f}", f"{s.drift_max:.1f}",
             f"{s.jump_mean:.2f}", f"{s.jump_max_mean:.1f}", str(s.jump_max), f"{s.receive_share:.0%}",
             f"{s.growing_measured:.0%} ({s.growing_predicted:.0%}; critical {s.critical_predicted:.0%})",
             f"{s.queue_max_mean:.1f}", str(s.queue_max),
             f"{s.passed}/{s.checks} ({s.pass_rate:.0%})",
             f"DEGRADED {s.degraded}/{s.runs}" if s.degraded else f"0/{s.runs}"] for s in summaries]
    return Table(headers, rows)


def checks_matrix(trials: Sequence[Trial]) -> Table:
    """One row per trial, one column per quantity: pass if it passes on every machine checked."""
    rows = []
    for t in trials:
        a = t.analysis
        cells = []
        for q in QUANTITIES:
            cs = [c for c in a.checks if c.quantity == q]
            cells.append("-" if not cs else "pass" if all(c.ok for c in cs) else "FAIL")
        failing = ", ".join(f"m{c.machine} {c.quantity}" for c in a.checks if not c.ok) or "-"
        rows.append([str(t.index), t.variant.key, str(t.seed), rates_text(a.rates)] + cells
                    + [f"{a.passed}/{len(a.checks)}", failing])
    return Table(["trial", "variant", "seed", "rates_hz", *QUANTITIES, "passed", "failing"], rows)


def _groups(settings: Settings, trials: Sequence[Trial]) -> "OrderedDict[str, List[RunAnalysis]]":
    groups: "OrderedDict[str, List[RunAnalysis]]" = OrderedDict()
    for v in settings.matrix.variants:
        groups[v.key] = [t.analysis for t in trials if t.variant is v]
    return OrderedDict((k, g) for k, g in groups.items() if g)


def add_comparison(doc: Document, settings: Settings, trials: Sequence[Trial]) -> None:
    groups = _groups(settings, trials)
    summaries = [summarise_variant(k, g) for k, g in groups.items()]
    labels = {v.key: v.label for v in settings.matrix.variants}
    doc.heading("The variants compared")
    doc.table(comparison_table(summaries))
    doc.para("Means over each variant's runs. drift: spread of the clocks (max - min) on the time grid; "
             "jump mean: over all receives of a run; growing queues: share of the variant's machines whose "
             f"queue grew (slope x duration >= {GROWING_MESSAGES} and >= {GROWING_MESSAGES} left), "
             "and in brackets the shares the theory predicts from the run's rates and length "
             f"({QUEUE_RULE_TEXT}).", "muted")
    doc.heading("What differs", 3)
    doc.bullets([compare_sentence(s, summaries[0], labels[s.key]) for s in summaries[1:]])
    shares = ", ".join("{} {:.1%} growing and {:.1%} critical".format(
        v.key, *draw_shares(settings.n, v.rate_min, v.rate_max, v.p_internal, settings.duration_s))
        for v in settings.matrix.variants)
    doc.para(f"Why, from the theory (docs/theory.md): a free tick sends to a given peer with probability c = "
             f"2(1-p)/(3(N-1)) + (1-p)/3, so c = {_c(settings.n, 0.7):.2f} at p = 0.7 and "
             f"{_c(settings.n, 0.4):.2f} at p = 0.4. A machine slower than the arrivals its peers send it "
             "receives on every tick, stops sending and its queue grows; the more a free tick sends, the more "
             "machines are overloaded and the closer the receivers' clocks follow the fastest one. Over all "
             f"integer rate draws of each variant, the share of machines with a growing queue is {shares} "
             f"(over runs of {settings.duration_s:g} model s; {QUEUE_RULE_TEXT}): the few runs of each variant "
             "sample that.", "note")
    numbers = notebook_plots.numbering([t.analysis for t in trials])
    doc.figure(notebook_plots.comparison_figure(groups, labels), "variants",
               "The variants compared: drift, jumps, growing queues (dashed: theory) and queue lengths.")
    doc.figure(notebook_plots.spread_figure(groups, numbers), "drift",
               "Drift over time, per trial: the spread of the Lamport clocks.")
    doc.figure(notebook_plots.queue_figure(groups, numbers), "slowest-queues",
               "Queue of each trial's slowest machine; dashed: the theory's growth line where it predicts one.")


def add_jumps(doc: Document, trials: Sequence[Trial]) -> None:
    """The seed notebook's 'the jumps grew as the queue backed up', answered from the runs' events."""
    cases = jump_cases([(f"trial {t.index}", t.analysis, t.jumps) for t in trials])
    doc.heading("Did the jumps grow as the queue backed up?")
    doc.para("The seed notebook says the slow machine's jumps 'grew from around 4-5 to 6-8 as the message queue "
             "remained full and this growth appeared to continue as its queue became more backed up'. Below, "
             "every machine of the runs where a queue backed up (or the theory says one grows or is critical): "
             f"its mean jump on receive per {JUMP_WINDOWS} equal time windows and per {JUMP_QUEUE_BINS} bins of "
             "the queue at the receive (the message taken included; bins of equal receives), the least-squares "
             "jump per message of queue (± its standard error), and s / lambda: the fastest sender's clock slope "
             f"over the machine's arrival rate. Verdict, for a machine whose own queue backed up: {JUMP_RULE_TEXT}.",
             "muted")
    if cases:
        doc.table(Table(["trial", "machine", "rate_hz", "final queue", "receives", "mean jump per window",
                         "mean jump per queue (bin: mean)", "jump per queue msg", "s / lambda", "mean jump",
                         "'jumps grew with the queue'"], jump_table_rows(cases)))
    for text in jump_answer(cases):
        doc.para(text, "note")
    backed = [c for c in cases if c.backed_up and c.profile.receives]
    if backed:
        doc.figure(notebook_plots.jump_figure(backed), "jumps",
                   "Mean receive jump of each machine whose queue backed up, per time window (left, ± standard "
                   "error) and per queue length at the receive (right); dotted: its s / lambda.")


def _c(n: int, p: float) -> float:
    return 2 * (1 - p) / (3 * max(1, n - 1)) + (1 - p) / 3


def add_theory(doc: Document, trials: Sequence[Trial]) -> None:
    doc.heading("Theory check of every trial")
    passed = sum(t.analysis.passed for t in trials)
    total = sum(len(t.analysis.checks) for t in trials)
    doc.para(f"{passed} of {total} checks pass over the {len(trials)} trials. Each trial's theory is computed "
             f"from its parameters and compared with what it measured; {TOLERANCE_TEXT}. A cell is pass "
             "when the quantity is within tolerance on every machine checked (- : too few events to check). "
             f"{MODEL_TIME_TEXT} Details of every trial follow.", "note")
    anchors = {t.index: f"trial-{t.index}-details" for t in trials}
    doc.table(checks_matrix(trials))
    for t in trials:
        a = t.analysis
        doc.heading(f"Trial {t.index}: variant {t.variant.key}, seed {t.seed}, rates {rates_text(a.rates)} Hz",
                    3, anchors[t.index])
        if not a.metrics.completed:
            doc.para(f"PARTIAL RUN: stopped at {a.metrics.end_s:g} s ({a.metrics.stop_reason})", "banner")
        if a.metrics.degraded:
            doc.para(timing_banner(a.metrics), "banner")
        if not t.verified.ok:
            doc.para(f"VERIFY FAILED: {t.verified.violations[0]}", "banner")
        doc.para(f"File {a.name}, {a.n_events} events; rerun with: {shlex.join(t.command)}", "muted")
        doc.para(model_line(a.metrics), "muted")
        doc.table(machine_table(a.metrics))
        if a.pred is not None:
            doc.para(prediction_line(a.pred) + ".")
            doc.table(checks_table(a.checks))


def build_notebook(settings: Settings, trials: Sequence[Trial]) -> Document:
    m = settings.matrix
    doc = Document(f"Lab notebook: scale models and logical clocks ({m.name})",
                   f"{len(trials)} runs generated by clockbench-analyze experiment {m.name}, "
                   f"{settings.started_utc}")
    doc.heading("Setup")
    doc.para(m.description)
    doc.key_values(setup_rows(settings, trials))
    doc.table(variants_table(settings, trials))
    doc.bullets([f"Variant {v.key}: {v.why}" for v in m.variants])

    doc.heading("Trials")
    doc.table(trial_table(trials))
    doc.para("max_jump: the largest clock jump on a receive, and on which machine; mean_jump: mean jump on "
             "receive of machines 0, 1, ...; drift: spread of the clocks (max - min); slowest: the machine "
             "of the lowest rate, its messages left in the queue at the end and the least-squares growth "
             "of its queue beside the theory's; growing: machines whose queue grew (measured) or whose "
             "queue the theory says grows (rho > 1), and in brackets those it calls critical (rho = 1 within "
             "the run's noise); theory_pass: checks within tolerance.", "muted")
    doc.heading("Observations", 3)
    doc.bullets([f"Trial {t.index} ({t.variant.key}, seed {t.seed}, rates {rates_text(t.analysis.rates)}): "
                 f"{trial_sentence(t.analysis)}" for t in trials])
    add_jumps(doc, trials)
    add_comparison(doc, settings, trials)
    add_variant_causality(doc, {v.key: [t.analysis.path for t in trials if t.variant is v] for v in m.variants},
                          {v.key: v.label for v in m.variants})
    add_theory(doc, trials)
    return doc


def write_notebook(settings: Settings, trials: Sequence[Trial]) -> Tuple[str, str]:
    """Writes notebook.html and notebook.md (and its PNGs) into the experiment's folder."""
    return build_notebook(settings, trials).write(settings.folder, NOTEBOOK_STEM)

