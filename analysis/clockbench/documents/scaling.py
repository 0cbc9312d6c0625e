"""The scaling study: how drift, the slowest machine's lag and queue growth change with the number
of machines N and the topology, each measured beside the theory's prediction (from the achieved
rates). `clockbench-analyze scaling FILE... -o DIR` writes DIR/scaling.md and DIR/scaling.html.
Derivation: docs/theory.md, "Lag and drift over a run" (sections named below are its subsections).

Symbols: sigma_i the paces of clocks.paces, s* = max_k sigma_k; g_i = s* - sigma_i the mean-field
lag growth (the _mf columns, "Mean-field lag growth"); at the run's length (the _th columns) the
lag lag_i(t) = min((s* - r_i) t, b_i(t) + a_i Q_i(t)), Q_i finite.py's queue and a_i, b_i of
ring.py ("The lag over a finite run"); in a ring, ring_sample.py's reduced model instead; drift
E[max_i lag_i(t)], the growing queues' common noise a loading beta_i integrated by Gauss-Hermite
("Drift"); drift_max the expected running maximum of the spread, a stable queue's by the tick
walk, a growing one's as Q(T) plus a geometric overshoot of ratio eta ("The running maximum of the
drift").
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence

import numpy as np

if TYPE_CHECKING:  # imported when the plot is drawn (clockbench-analyze starts without matplotlib)
    from matplotlib.figure import Figure

from clockbench.theory.clocks import paces
from clockbench.theory.compare import SIGMAS, theory_for
from clockbench.documents.document import Document
from clockbench.measure.metrics import compute, slope
from clockbench.file.schema import SchemaError, open_run
from clockbench.documents.formats import FORMATS, json_text, plain, records_csv
from clockbench.documents.tables import Table, num, render_text
from clockbench.documents.scaling_points import (RepetitionError, ScalingPoint, flat, points, points_records,
                                                 points_table, series)

# Exit codes, as the rest of clockbench-analyze: 0 done, 2 a file could not be read or analysed.
EXIT_OK, EXIT_ERROR = 0, 2

REPETITIONS_TEXT = ("Each cell is the mean over the point's runs (one per seed) ± the half-width of its 95% "
                    "confidence interval, t(0.975, R-1) s / sqrt(R) (docs/plans.md, \"The interval\"); the theory's "
                    "columns are averaged too, since each seed draws its own rates.")
GROWING_TEXT = (f"a queue is measured as growing when its least-squares slope exceeds {SIGMAS:g} sigma "
                "of the arrivals' noise, sigma = sqrt(lambda / T) with lambda its measured arrival rate "
                "and T the run's length (the tolerance idea of the theory checks)")


from clockbench.theory.lag import lag_growth, lag_model, pace_inputs


@dataclass
class ScalingRow:
    """One run of the study: the measurements and, beside each, the theory's prediction."""

    path: str
    topology: str
    n: int
    seed: int
    end_s: float
    completed: bool
    fastest_slope: float      # s*: slope of the fastest clock, clock units per model second, measured
    fastest_slope_pred: float  # s* predicted from the parameters (clocks.paces)
    drift_max: float
    drift_mean: float
    drift_growth: float       # mean-field growth of the drift, max_i g_i (0: bounded)
    drift_max_pred: float     # finite-T: E[max_i lag_i(T)]
    drift_mean_pred: float    # finite-T: mean over [0, T] of E[max_i lag_i(t)]
    slowest: int              # the machine of lowest achieved rate
    slowest_rate: float
    lag_final: float
    lag_slope: float          # measured: least-squares slope of its lag on the grid
    lag_slope_mf: float       # mean-field g_i (0: bounded)
    lag_final_pred: float     # finite-T: E[lag_i(T)]
    lag_slope_pred: float     # finite-T: least-squares slope of E[lag_i(t)] on [0, T]
    growing: int              # machines whose queue grows, measured
    growing_pred: int
    growth_mean: float        # queue growth, messages per model second, mean over machines
    growth_mean_pred: float
    growth_max: float
    growth_max_pred: float

    @property
    def drift_max_mf(self) -> float:
        return self.drift_growth * self.end_s

    @property
    def drift_mean_mf(self) -> float:
        return self.drift_growth * self.end_s / 2

    @property
    def lag_final_mf(self) -> float:
        return self.lag_slope_mf * self.end_s


def scaling_row(path: str) -> ScalingRow:
    """Measures one run file and predicts the same quantities. Raises SchemaError or ValueError."""
    run = open_run(path)
    m = compute(run)
    adj = run.network["adjacency"]
    pred = theory_for(m, adj)
    t = m.end_s
    phases, mean_lat = pace_inputs(m)
    clocks = paces(pred, adj, phases, mean_lat)
    s_star = float(clocks.slope.max())
    g = lag_growth(s_star, clocks.slope)
    lags = lag_model(pred, adj, clocks, m.latency, t, phases)
    fastest = m.clocks.max(axis=0)
    slow = int(np.argmin(pred.rates))
    lag = fastest - m.clocks[slow]
    q_slope = np.array([x.queue_slope for x in m.machines])
    noise = np.array([math.sqrt(max(x.arrival_hz, 0.0) / t) if t > 0 else math.inf for x in m.machines])
    return ScalingRow(
        path=path, topology=m.topology, n=m.n, seed=m.seed, end_s=t, completed=m.completed,
        fastest_slope=slope(m.grid, fastest), fastest_slope_pred=s_star,
        drift_max=m.drift_max, drift_mean=m.drift_mean, drift_growth=float(g.max()),
        drift_max_pred=lags.drift_max(t), drift_mean_pred=lags.drift_mean(t),
        slowest=slow, slowest_rate=float(pred.rates[slow]), lag_final=float(lag[-1]),
        lag_slope=slope(m.grid, lag), lag_slope_mf=float(g[slow]),
        lag_final_pred=float(lags.lag(t)[slow]), lag_slope_pred=float(lags.lag_slope(t)[slow]),
        growing=int(np.count_nonzero(q_slope > SIGMAS * noise)), growing_pred=int(np.count_nonzero(~pred.stable)),
        growth_mean=float(q_slope.mean()), growth_mean_pred=float(pred.growth.mean()),
        growth_max=float(q_slope.max()), growth_max_pred=float(pred.growth.max()))


def _bounded(x: float, digits: int = 1) -> str:
    """A predicted growing quantity, or 'bounded' where the theory predicts no growth."""
    return "bounded" if abs(x) < 1e-9 else num(x, digits)


def scaling_table(rows: Sequence[ScalingRow]) -> Table:
    """One row per run, by topology then N; every measured column has the theory's (_th) beside it."""
    headers = ["topology", "N", "T_s", "s*", "s*_th", "drift_max", "drift_max_th", "drift_max_mf", "drift_mean",
               "drift_mean_th", "drift_mean_mf", "slowest_hz", "lag_final", "lag_final_th", "lag_final_mf",
               "lag_slope", "lag_slope_th", "lag_slope_mf", "growing", "growing_th", "dQdt_mean",
               "dQdt_mean_th", "dQdt_max", "dQdt_max_th"]
    out = []
    for r in rows:
        out.append([r.topology, str(r.n), num(r.end_s, 1), num(r.fastest_slope, 2), num(r.fastest_slope_pred, 2),
                    num(r.drift_max, 0), num(r.drift_max_pred, 0), _bounded(r.drift_max_mf, 0),
                    num(r.drift_mean, 1), num(r.drift_mean_pred, 1), _bounded(r.drift_mean_mf),
                    f"{r.slowest_rate:.3f}", num(r.lag_final, 0), num(r.lag_final_pred, 0),
                    _bounded(r.lag_final_mf, 0), f"{r.lag_slope:.3f}", f"{r.lag_slope_pred:.3f}",
                    _bounded(r.lag_slope_mf, 3), f"{r.growing / r.n:.2f}", f"{r.growing_pred / r.n:.2f}",
                    f"{r.growth_mean:.3f}",
                    f"{r.growth_mean_pred:.3f}", f"{r.growth_max:.3f}", f"{r.growth_max_pred:.3f}"])
    return Table(headers, out)


def scaling_records(rows: Sequence[ScalingRow]) -> List[Dict[str, Any]]:
    """The table of `scaling` as records (`scaling --format json|csv`, clockbench.scaling): the file
    and its seed, then scaling_table's columns unrounded, with numbers where the table says
    'bounded' (0: the mean field predicts no growth); growing and growing_th are fractions of N."""
    out = []
    for r in rows:
        values = [r.topology, r.n, r.end_s, r.fastest_slope, r.fastest_slope_pred, r.drift_max, r.drift_max_pred,
                  r.drift_max_mf, r.drift_mean, r.drift_mean_pred, r.drift_mean_mf, r.slowest_rate, r.lag_final,
                  r.lag_final_pred, r.lag_final_mf, r.lag_slope, r.lag_slope_pred, r.lag_slope_mf, r.growing / r.n,
                  r.growing_pred / r.n, r.growth_mean, r.growth_mean_pred, r.growth_max, r.growth_max_pred]
        headers = scaling_table([r]).headers
        assert len(values) == len(headers), "scaling_records and scaling_table disagree"
        out.append(plain({"file": r.path, "seed": r.seed, "completed": r.completed, **dict(zip(headers, values))}))
    return out


def scaling_figure(rows: Sequence[ScalingRow]) -> Figure:
    """Drift, the slowest machine's lag growth and the growing fraction against N: measured
    (solid, dots; where a point has several runs, their mean with its 95 % interval as an error bar,
    drawn just left of N) and predicted (dashed: the mean of the runs' predictions), one colour per
    topology."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13.5, 4.2), layout="constrained")
    panels = [("max drift (Lamport spread)", lambda r: r.drift_max, lambda r: r.drift_max_pred),
              ("lag growth of the slowest machine, per s", lambda r: r.lag_slope, lambda r: r.lag_slope_pred),
              ("fraction of machines with growing queues", lambda r: r.growing / r.n,
               lambda r: r.growing_pred / r.n)]
    topologies = sorted({r.topology for r in rows})
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    all_n = sorted({r.n for r in rows})
    for k, (title, measured, predicted) in enumerate(panels):
        ax = fig.add_subplot(1, 3, k + 1)
        for j, topo in enumerate(topologies):
            colour = colours[j % len(colours)]
            x, y, half = series(rows, topo, measured)
            if np.isfinite(half).any():  # beside the theory's marker, not on it
                ax.errorbar(x / 1.025, y, yerr=np.nan_to_num(half), fmt="o-", color=colour, capsize=3,
                            label=f"{topo}, measured (95% CI)")
            else:
                ax.plot(x, y, "o-", color=colour, label=f"{topo}, measured")
            x, y, _ = series(rows, topo, predicted)
            ax.plot(x, y, "s--", color=colour, alpha=0.7, mfc="none", label=f"{topo}, theory")
        ax.set_xscale("log", base=2)
        ax.set_xticks(all_n)
        ax.set_xticklabels([str(n) for n in all_n])
        ax.set_xlabel("machines N")
        ax.set_title(title, fontsize=11)
        ax.grid(alpha=0.3)
        if k == 0:
            ax.legend(fontsize=8)
    return fig


def build_document(rows: Sequence[ScalingRow], skipped: Sequence[str],
                   pts: Optional[Sequence[ScalingPoint]] = None) -> Document:
    """The report; with `pts` (scaling --repetitions), one row per point, as mean ± 95 % interval."""
    ns = sorted({r.n for r in rows})
    doc = Document("clockbench scaling study",
                   f"{len(rows)} runs, N = {', '.join(map(str, ns))}, topologies "
                   f"{', '.join(sorted({r.topology for r in rows}))}"
                   + (f", {len(pts[0].rows)} repetitions of each point" if pts else ""))
    if skipped:
        doc.para(f"Not included (could not be read or analysed): {', '.join(skipped)}", "banner")
    partial = [os.path.basename(r.path) for r in rows if not r.completed]
    if partial:
        doc.para(f"Stopped early (completed=0): {', '.join(partial)}", "banner")
    doc.heading("Drift, lag and queue growth against N")
    doc.table(points_table(pts, scaling_records) if pts else scaling_table(rows))
    doc.bullets(([REPETITIONS_TEXT] if pts else []) + [
        "_th: the theory's prediction at the run's length T, solved from each run's rates and "
        "its latency: queues as reflected random walks (analysis/clockbench/theory/finite.py), so near rho = 1 "
        "lag and drift grow like sqrt(T), plus the lag the pace reaches each machine with, latency "
        "included (analysis/clockbench/theory/ring.py; in a ring, analysis/clockbench/theory/ring_sample.py); drift_mean_th: the expected largest of the machines' "
        "random lags, averaged over the run; drift_max_th: the expected largest over the run "
        "(docs/theory.md, \"Lag and drift over a run\", derives both). "
        "_mf: the mean-field (T -> infinity) prediction; 'bounded': it predicts no growth.",
        "s*: least-squares slope of the fastest Lamport clock (clock units per model second); s*_th: "
        "the fastest pace predicted from the parameters (analysis/clockbench/theory/clocks.py), which every _th "
        "and _mf column uses.",
        "drift: spread max - min of the Lamport clocks on the god's-eye grid; mean-field: "
        "T max_i g_i (max) and half that (mean), g_i the lag growth below.",
        "slowest: the machine of lowest achieved rate. lag_final: its lag behind the fastest clock "
        "at the end; lag_slope: least-squares slope of that lag. Theory: g_i = s* (1 - r_i / lambda_i) "
        "when its queue grows (it takes at t the messages that arrived by (r_i / lambda_i) t), else "
        "bounded; in a ring, a stretch cut off by machines that never send runs at its own fastest "
        "pace sigma, and g_i = s* - sigma_i (docs/theory.md, \"Mean-field lag growth\", derives it).",
        "Near rho = 1 (arrivals close to the rate) a queue's random walk, not its drift, sets the lag "
        "over a finite run: there the mean-field theory underestimates lag and drift, and _th does not.",
        f"growing: fraction of machines whose queue grows; {GROWING_TEXT}. A slower growth cannot "
        "be told from noise in one run (about 1 message/s for lambda = 3/s over T = 30 s; the floor "
        "falls as 1/sqrt(T)), so short runs count fewer growing queues than the theory.",
        "dQdt_mean, dQdt_max: the machines' queue growth rates (least-squares slopes), messages per "
        "model second, mean and max over the machines; theory (mean-field): lambda_i - r_i for "
        "unstable machines, 0 else.",
    ])
    doc.figure(scaling_figure(rows), "scaling", "Measured (solid) and predicted (dashed) against N, per topology"
               + ("; error bars: the 95% confidence interval of the mean over the repetitions." if pts else "."))
    doc.heading("Runs")
    doc.table(Table(["topology", "N", "seed", "completed", "file"],
                    [[r.topology, str(r.n), str(r.seed), "yes" if r.completed else "no", r.path] for r in rows]))
    return doc


def cmd_scaling(args: argparse.Namespace) -> int:
    """`scaling FILE... -o DIR`: the table on stdout, the report in DIR; with --format json|csv the
    table's records on stdout instead (the report only if -o is given)."""
    fmt = getattr(args, "format", "text")
    if fmt == "text" and not args.output:
        print("clockbench-analyze scaling: error: the following arguments are required: -o/--output (the report's "
              "folder; not with --format json or csv) (see --help)", file=sys.stderr, flush=True)
        return EXIT_ERROR
    rows: List[ScalingRow] = []
    skipped: List[str] = []
    for path in args.files:
        try:
            rows.append(scaling_row(path))
        except SchemaError as exc:
            print(f"clockbench-analyze: error: {exc}", file=sys.stderr, flush=True)
            skipped.append(path)
        except (ValueError, IndexError, KeyError, ArithmeticError) as exc:
            print(f"clockbench-analyze: error: {path}: cannot analyse ({exc})", file=sys.stderr, flush=True)
            skipped.append(path)
    if not rows:
        print("clockbench-analyze: error: no scaling report written: no file could be analysed",
              file=sys.stderr, flush=True)
        return EXIT_ERROR
    rows.sort(key=lambda r: (r.topology, r.n, r.seed, r.path))
    pts = None
    if args.repetitions is not None:
        try:
            pts = points(rows, args.repetitions)
        except RepetitionError as exc:
            print(f"clockbench-analyze: error: no scaling report written: {exc}", file=sys.stderr, flush=True)
            return EXIT_ERROR
    written = None
    if args.output:
        try:
            written = build_document(rows, skipped, pts).write(args.output, "scaling")
        except OSError as exc:
            print(f"clockbench-analyze: error: {args.output}: cannot write the report ({exc.strerror or exc})",
                  file=sys.stderr, flush=True)
            return EXIT_ERROR
    if fmt == "json":
        sys.stdout.write(json_text({"format": "clockbench-scaling/1", "runs": scaling_records(rows),
                                    **({"repetitions": args.repetitions,
                                        "points": points_records(pts, scaling_records)} if pts else {}),
                                    "skipped": skipped,
                                    "report": {"html": str(written[0]), "markdown": str(written[1])}
                                    if written else None}))
    elif fmt == "csv":
        sys.stdout.write(records_csv(flat(points_records(pts, scaling_records)) if pts else scaling_records(rows)))
    else:
        html_path, md_path = written
        print(render_text(points_table(pts, scaling_records) if pts else scaling_table(rows)))
        print(f"scaling report of {len(rows)} run(s) written to {html_path} and {md_path}"
              + (f"; skipped {len(skipped)}: {', '.join(skipped)}" if skipped else ""), flush=True)
    sys.stdout.flush()
    return EXIT_ERROR if skipped else EXIT_OK


def register(subparsers) -> None:
    """Adds the `scaling` subcommand to clockbench-analyze's subparsers."""
    p = subparsers.add_parser(
        "scaling", help="aggregate runs at several N and topologies into the scaling report",
        description="Per run (N x topology): max and mean drift, the slowest machine's lag and its "
        "growth, the fraction of machines with growing queues and the queue growth rates, each "
        "beside the theory's prediction. Writes DIR/scaling.md and DIR/scaling.html (with plots "
        "against N) and prints the table.")
    p.add_argument("files", nargs="+", metavar="FILE", help="clockbench .h5 file")
    p.add_argument("-o", "--output", metavar="DIR",
                   help="folder to write the report into (required with --format text)")
    p.add_argument("--format", choices=FORMATS, default="text",
                   help="what to print: text (the table, default), json or csv (its records, every digit)")
    p.add_argument("--repetitions", type=_repetitions, default=None, metavar="R",
                   help="the files hold R runs (different seeds) of every topology and N: each point is their "
                   "mean with its 95%% confidence interval, in the table (mean ± half-width; JSON and CSV: "
                   "<column> and <column>_ci95, one record per point) and as error bars in the plot; a point "
                   "with another number of runs is refused")
    p.set_defaults(func=cmd_scaling)


def _repetitions(text: str) -> int:
    try:
        r = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if r < 1:
        raise argparse.ArgumentTypeError(f"needs at least 1 repetition, got {text}")
    return r


def main(argv: Optional[Sequence[str]] = None) -> int:
    """`python3 -m clockbench.scaling FILE... -o DIR`, the same as the subcommand."""
    parser = argparse.ArgumentParser(prog="clockbench-analyze")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["scaling", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
