"""The statistics of repeated runs of one configuration (`experiment --plan FILE --repetitions N`):
each of the summary's figures as a mean with its 95 % confidence interval over the repetitions
(measure/confidence.py), run-wide and, where the machines are the same in every repetition (the
rates are fixed), per machine; as text, plain data (JSON) and CSV rows."""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

from clockbench.documents.formats import plain
from clockbench.documents.tables import Table, render_text
from clockbench.measure.confidence import CONFIDENCE, Interval, format_interval, interval

# Run-wide statistics, with the digits the text shows: the summary's drift; the mean jump over
# every receive and the mean queue over every tick, of all machines together; the largest queue
# and lag of any machine; the events; the theory checks that failed.
RUN_STATISTICS: Tuple[Tuple[str, int], ...] = (
    ("drift_max", 1), ("drift_mean", 1), ("jump_mean", 3), ("queue_mean", 3), ("queue_max", 1), ("lag_max", 1),
    ("events", 0), ("checks_failed", 2))
# Per machine: columns of the summary's per-machine table (summary --format json, "machines").
MACHINE_STATISTICS: Tuple[Tuple[str, int], ...] = (
    ("achieved_hz", 4), ("receive", 3), ("jump_mean", 3), ("jump_max", 1), ("queue_mean", 3), ("queue_max", 1),
    ("queue_final", 1), ("queue_slope", 3), ("lag_mean", 1), ("lag_max", 1))

INTERVAL_TEXT = (f"mean ± half-width of the {CONFIDENCE:.0%} confidence interval over the repetitions, "
                 "t(0.975, R-1) s / sqrt(R) with s the runs' sample standard deviation (Student t); "
                 "with one repetition the interval is undefined")


def run_figures(summary: Dict[str, Any]) -> Dict[str, float]:
    """The run-wide statistics of one run, from its summary data (documents/summary.summary_data)."""
    ms = summary["machines"]
    ticks = [m["ticks"] for m in ms]
    receives = [m["receive"] * m["ticks"] for m in ms]  # receive: the fraction of the machine's ticks
    jumps = [m["jump_mean"] * r for m, r in zip(ms, receives) if r > 0]
    return {
        "drift_max": summary["drift"]["max"], "drift_mean": summary["drift"]["mean"],
        "jump_mean": math.fsum(jumps) / math.fsum(receives) if math.fsum(receives) > 0 else math.nan,
        "queue_mean": math.fsum(m["queue_mean"] * t for m, t in zip(ms, ticks)) / max(1, sum(ticks)),
        "queue_max": max(m["queue_max"] for m in ms), "lag_max": max(m["lag_max"] for m in ms),
        "events": sum(ticks), "checks_failed": summary["check"]["total"] - summary["check"]["passed"],
    }


def _value(x: Any) -> float:
    return math.nan if x is None else float(x)


def configuration_statistics(summaries: Sequence[Dict[str, Any]], per_machine: bool
                             ) -> Tuple[Dict[str, Interval], Optional[List[Dict[str, Interval]]]]:
    """Run-wide statistics over the repetitions' summaries, and per machine (None unless asked for)."""
    figures = [run_figures(s) for s in summaries]
    run = {name: interval([f[name] for f in figures]) for name, _ in RUN_STATISTICS}
    if not per_machine:
        return run, None
    n = len(summaries[0]["machines"])
    machines = [{name: interval([_value(s["machines"][i][name]) for s in summaries]) for name, _ in MACHINE_STATISTICS}
                for i in range(n)]
    return run, machines


def _interval_data(iv: Interval, values: Sequence[float]) -> Dict[str, Any]:
    return {"mean": iv.mean, "ci95": iv.half_width, "low": iv.low, "high": iv.high, "repetitions": iv.n,
            "values": list(values)}


def configuration_data(entry: Dict[str, Any], summaries: Sequence[Dict[str, Any]], per_machine: bool
                       ) -> Dict[str, Any]:
    """A configuration's record for the JSON: `entry` (what ran: index, line, text, runs, ...) with
    the statistics, each with its mean, ci95 (the half-width; null with one repetition), low, high
    and the repetitions' values."""
    run, machines = configuration_statistics(summaries, per_machine)
    figures = [run_figures(s) for s in summaries]
    out = dict(entry)
    out["statistics"] = {name: _interval_data(run[name], [f[name] for f in figures]) for name, _ in RUN_STATISTICS}
    out["machines"] = None if machines is None else [
        {"machine": i,
         "statistics": {name: _interval_data(ivs[name], [_value(s["machines"][i][name]) for s in summaries])
                        for name, _ in MACHINE_STATISTICS}}
        for i, ivs in enumerate(machines)]
    return plain(out)


CSV_COLUMNS = ["configuration", "line", "text", "machine", "statistic", "repetitions", "mean", "ci95", "low", "high"]


def csv_rows(config: Dict[str, Any]) -> List[List[Any]]:
    """A configuration's statistics as CSV rows (CSV_COLUMNS): run-wide ones with an empty machine."""
    head = [config["index"], config["line"], config["text"]]
    rows = [head + [None, name, s["repetitions"], s["mean"], s["ci95"], s["low"], s["high"]]
            for name, s in config["statistics"].items()]
    for m in config["machines"] or []:
        rows += [head + [m["machine"], name, s["repetitions"], s["mean"], s["ci95"], s["low"], s["high"]]
                 for name, s in m["statistics"].items()]
    return rows


def _cell(s: Dict[str, Any], digits: int) -> str:
    return format_interval(Interval(math.nan if s["mean"] is None else s["mean"], s["ci95"], s["repetitions"]), digits)


def configuration_lines(config: Dict[str, Any]) -> List[str]:
    """The text of one configuration: what ran, the run-wide statistics, the per-machine table."""
    runs = config["runs"]
    seeds = [r["seed"] for r in runs]
    bad = [r for r in runs if not r["verified"]]
    degraded = [r for r in runs if r["degraded"]]
    lines = [f"configuration {config['index']} (line {config['line']}: {config['text']}): {len(runs)} run(s) of "
             f"{config['n']} machines, seeds {', '.join(map(str, seeds))}; "
             + (f"{len(bad)} FAILED verification" if bad else "all verified")
             + (f"; TIMING DEGRADED in {len(degraded)}" if degraded else "")]
    digits = dict(RUN_STATISTICS)
    lines.append(render_text(Table(["statistic", "mean ± 95% CI"],
                                   [[name, _cell(s, digits[name])] for name, s in config["statistics"].items()])))
    if config["machines"]:
        digits = dict(MACHINE_STATISTICS)
        lines.append(render_text(Table(["machine"] + [name for name, _ in MACHINE_STATISTICS],
                                       [[str(m["machine"])] + [_cell(m["statistics"][name], d)
                                                               for name, d in MACHINE_STATISTICS]
                                        for m in config["machines"]])))
    else:
        lines.append("per machine: not averaged (the rates are drawn anew for every seed: give rates= to fix them)")
    return lines
