"""Command line of clockbench-analyze: one subcommand per analysis task."""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence

import numpy as np

from clockbench.experiment import plan, plan_command, repetitions, runner

from clockbench import __version__
from clockbench.exercise import DEFAULT_SEED_BASE, DEFAULT_SPEEDUP, MATRICES
from clockbench.measure import causality
from clockbench.documents import scaling
from clockbench.documents import spacetime
from clockbench.documents import export
from clockbench.file.schema import TIMING_DEGRADED, Run, SchemaError, open_run, read_config_text
from clockbench.theory.calibration import rate_lines
from clockbench.theory.compare import TOLERANCE_TEXT
from clockbench.documents.formats import FORMATS, csv_text, json_text
from clockbench.documents.summary import (summary_csv_columns, summary_csv_rows, summary_data, summary_lines,
                                          summary_parts)
from clockbench.theory.mean_field import (PREDICTION_COLUMNS, closed_form_full, format_prediction, predict,
                                          prediction_data, prediction_rows)
from clockbench.file.verify import VerifyResult, verify

PROG = "clockbench-analyze"

# Exit codes: 0 all good, 1 an invariant is violated (or, with `summary --check`, a theory check
# failed), 2 a file could not be read as clockbench/1 or the command line was wrong (argparse also uses 2).
EXIT_OK, EXIT_VIOLATION, EXIT_ERROR = 0, 1, 2

# A report longer than this hides the first, most useful lines.
MAX_VIOLATION_LINES = 10


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one line like every other error of this tool."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr, flush=True)
        raise SystemExit(EXIT_ERROR)


class _Version(argparse.Action):
    """--version: asks git only when given (every other call starts without it)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_text(), flush=True)
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; other subcommands register next to `verify`."""
    parser = _Parser(
        prog=PROG, description="Verify and analyse clockbench HDF5 run files.")
    parser.add_argument("--version", action=_Version, help="print the version (and the git commit of a checkout) "
                        "and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    p = sub.add_parser("verify", help="check every invariant of docs/schema.md",
                       description="Check each run file against the "
                       "clockbench/1 invariants. Exit 0 if all hold, 1 if one "
                       "is violated, 2 if a file is unreadable.")
    p.add_argument("files", nargs="+", metavar="FILE", help="clockbench .h5 file")
    p.set_defaults(func=cmd_verify)
    p = sub.add_parser("config", help="print the configuration a run file stores",
                       description="Print the /config text of a run file: save it and pass "
                       "it to clockbench --config to rerun the same experiment.")
    p.add_argument("file", metavar="FILE", help="clockbench .h5 file")
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("summary", help="per-machine figures, drift, and the theory check of a run",
                       description=textwrap.fill(
                           "Per machine: nominal and achieved rate, event mix, jumps, queue (mean, max, final, "
                           "growth), lag behind the fastest clock, lateness; run-wide drift; and the theory's "
                           "predictions beside the measurements, with tolerances.", 100),
                       epilog=textwrap.fill(f"Checks: {TOLERANCE_TEXT}.", 100) + "\n" + "\n".join(rate_lines()),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", metavar="FILE", help="clockbench .h5 file")
    p.add_argument("--format", choices=FORMATS, default="text",
                   help="text (default); json: everything the text says, as data, one object per file under "
                   "\"runs\"; csv: one row per machine (its table's columns, then each check's figures)")
    p.add_argument("--check", action="store_true",
                   help="exit 1 if a theory check fails (default: exit 0 whatever the checks say)")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("theory", help="predictions of the queueing model, without a run",
                       description="Arrival rates, utilisation, stable and growing queues and event "
                       "mix predicted by the mean-field model of docs/theory.md, from --rates or from a "
                       "file's rates (nominal; a flat-out run's achieved).")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--rates", type=_rates, help="tick rates, e.g. 1,2,6")
    src.add_argument("file", nargs="?", metavar="FILE", help="take rates, p and topology from a run")
    p.add_argument("--p-internal", type=float, default=0.7, help="probability of an internal event (0.7)")
    p.add_argument("--topology", type=_topology, default="full",
                   help="full (default), ring or random:K (K random peers each; its graph needs --seed)")
    p.add_argument("--seed", type=_seed, help="with --topology random:K: the run seed its graph is drawn from")
    p.add_argument("--format", choices=FORMATS, default="text",
                   help="text (default), json (the prediction as data) or csv (one row per machine)")
    p.set_defaults(func=cmd_theory)

    p = sub.add_parser("report", help="HTML and Markdown report with plots of run files",
                       description="Write DIR/report.html (self-contained: plots embedded, no external "
                       "resources) and DIR/report.md (plots as PNG files beside it): an overview of the "
                       "runs, then per run its provenance, tables, drift, plots and theory check.")
    p.add_argument("files", nargs="+", metavar="FILE", help="clockbench .h5 file")
    p.add_argument("-o", "--output", metavar="DIR", help="folder to write into (default: "
                   "<file stem>-report for one file, report-<UTC time> for several)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("experiment", help="run a named matrix, or a sweep plan with repetitions",
                       description="Run a named matrix of clockbench runs through mpirun, verify every "
                       "file and write the lab notebook (notebook.md, notebook.html) beside them. "
                       "Names: " + ", ".join(sorted(MATRICES)) + ". Or, with --plan FILE --repetitions R, "
                       "run every line of a sweep plan (docs/plans.md) R times with seeds in turn and "
                       "print each statistic of the summary as mean ± 95% confidence interval over the "
                       "repetitions (progress on stderr; every figure in DIR/repetitions.json).")
    p.add_argument("name", metavar="NAME", nargs="?", help="matrix to run: " + ", ".join(sorted(MATRICES)))
    p.add_argument("--plan", metavar="FILE", help="a sweep plan to run locally instead of a matrix (the format "
                   "of slurm/sweep.sbatch; check it with `clockbench-analyze plan FILE`)")
    p.add_argument("--repetitions", type=_repetitions, default=None, metavar="R",
                   help="with --plan: runs per plan line (default 1); repetition r of a line runs with seed "
                   "S + (r-1)*2^32, S its seed= or else BASE (--seed)")
    p.add_argument("-o", "--output", metavar="DIR",
                   help="output folder (default: results/experiment-NAME-<UTC time>, NAME the plan's file "
                   "name without its extension)")
    p.add_argument("--speedup", type=_positive, default=None, metavar="S",
                   help=f"run every trial S times faster than model time (a matrix: {DEFAULT_SPEEDUP:g}; a "
                   "plan: for the lines without speedup=, else clockbench's default)")
    p.add_argument("--np", type=_count, default=None, dest="np_", metavar="N",
                   help="machines (MPI ranks) per run (default: the matrix's, 3; a plan: for the lines that set "
                   f"neither n= nor rates=, default {repetitions.DEFAULT_MACHINES})")
    p.add_argument("--seed", type=_seed, default=DEFAULT_SEED_BASE, metavar="BASE",
                   help=f"seeds are BASE, BASE+1, ... in trial order ({DEFAULT_SEED_BASE}); a plan: the seed of "
                   "the lines without seed= (see --repetitions)")
    p.add_argument("--duration", type=_positive, default=None, metavar="S",
                   help="model seconds per run (default: the matrix's, 60; a plan: for the lines without "
                   "duration=, else clockbench's default)")
    p.add_argument("--clockbench", metavar="PATH", default=str(runner.default_binary()),
                   help="the clockbench binary (default: $CLOCKBENCH_BIN, else a clockbench on PATH, else "
                   "build/clockbench of this checkout)")
    p.add_argument("--format", choices=FORMATS, default="text",
                   help="with --plan: text (default), json or csv (one row per statistic) on stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="with --plan: no progress lines on stderr")
    p.add_argument("--dry-run", action="store_true",
                   help="with --plan: print the command of every run and run nothing")
    p.add_argument("--force", action="store_true", help="overwrite an existing notebook and run files (a plan: "
                   "write into a folder that is not empty)")
    p.set_defaults(func=cmd_experiment)
    p = sub.add_parser("recover", help="rebuild a run file from the crash journal of a run that died",
                       description="Build a clockbench/1 file from JOURNAL (the <output>.<pid>.journal folder "
                       "a run leaves when it dies before writing its file): the events of every rank up to "
                       "the last time all of them had flushed, marked completed=0.")
    p.add_argument("journal", metavar="JOURNAL", help="the journal folder")
    p.add_argument("-o", "--output", metavar="FILE", required=True, help="the file to write")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    p.set_defaults(func=cmd_recover)
    plan_command.register(sub)
    scaling.register(sub)
    causality.register(sub)
    spacetime.register(sub)
    export.register(sub)
    return parser


def _checked(convert: Callable[[str], Any], ok: Callable[[Any], bool], kind: str, rule: str) -> Callable[[str], Any]:
    """An argparse type: `convert`, then `ok`, each failure one line naming the value."""
    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not {kind}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(rule.format(text))
        return value
    return parse


_positive = _checked(float, lambda v: 0 < v < float("inf"), "a number", "must be a positive number, got {}")
_count = _checked(int, lambda v: v >= 2, "a whole number", "needs at least 2 machines, got {}")
_seed = _checked(int, lambda v: v >= 0, "a whole number", "seeds are non-negative, got {}")
_repetitions = _checked(int, lambda v: v >= 1, "a whole number", "needs at least 1 repetition, got {}")


def _topology(text: str) -> str:
    from clockbench.file.topology import TopologyError, random_k
    try:
        random_k(text)
    except TopologyError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _rates(text: str) -> List[float]:
    try:
        rates = [float(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of numbers") from None
    if len(rates) < 2 or any(not r > 0 or r == float("inf") for r in rates):
        raise argparse.ArgumentTypeError("need at least 2 positive rates")
    return rates


def format_result(result: VerifyResult) -> List[str]:
    """The report lines of one verified file, as printed by `verify`."""
    partial = ("" if result.completed
               else f" [partial: completed=0, {result.stop_reason}]")
    if result.ok:
        i, s1, sa, r = result.kind_counts
        return [f"OK {result.path}: {result.n_machines} machines, "
                f"{result.n_events} events ({i} internal, {s1} send-one, "
                f"{sa} send-all, {r} receive), {result.messages_sent} messages "
                f"sent, {result.messages_received} received, "
                f"{result.left_in_queue} left in queue; all invariants hold"
                + timing_note(result) + partial]
    shown = [str(v) for v in result.violations[:MAX_VIOLATION_LINES]]
    lines = [f"FAIL {result.path}: {shown[0]}"] + ["  " + s for s in shown[1:]]
    hidden = len(result.violations) - len(shown)
    if hidden:
        lines.append(f"  ... and {hidden} more kind(s) of violation")
    if partial:
        lines.append("  " + partial.strip())
    return lines


def timing_note(result: VerifyResult) -> str:
    """What the OK line adds about time: nothing when the run kept time and was checked."""
    if not result.model_time_checked:
        return " (no arrival times recorded: the model-time rules were not checked)"
    if not result.timing.startswith(TIMING_DEGRADED):
        return ""
    excused = ", ".join(f"machine {i} ({k} messages, {late} late deliveries)"
                        for i, (k, late) in sorted(result.excused.items()))
    return (f"; timing degraded ({result.late_deliveries} late deliveries, {result.missed_ticks} missed ticks)"
            + (f", queue rule departures within the late deliveries of {excused}" if excused else ""))


def cmd_verify(args: argparse.Namespace) -> int:
    """`verify FILE...`: one OK/FAIL report per file, errors on stderr."""
    status = EXIT_OK
    for path in args.files:
        try:
            run = open_run(path)
        except SchemaError as exc:
            print(f"{PROG}: error: {exc}", file=sys.stderr, flush=True)
            status = max(status, EXIT_ERROR)
            continue
        result = verify(run)
        del run  # a big run's columns are not needed for the next file
        print("\n".join(format_result(result)), flush=True)
        if not result.ok:
            status = max(status, EXIT_VIOLATION)
    return status


def cmd_config(args: argparse.Namespace) -> int:
    """`config FILE`: the stored configuration text, as is."""
    try:
        text = read_config_text(args.file)
    except SchemaError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr, flush=True)
        return EXIT_ERROR
    sys.stdout.write(text)
    return EXIT_OK


def _load(path: str) -> Optional[Run]:
    try:
        return open_run(path)
    except SchemaError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr, flush=True)
        return None


def cmd_summary(args: argparse.Namespace) -> int:
    """`summary FILE...`: the figures of each run, then its theory check; as text, JSON or CSV.
    Exit 2 if a file could not be read, else with --check 1 if a theory check failed, else 0."""
    status = EXIT_OK
    fmt = args.format
    runs, header, rows = [], None, []
    for i, path in enumerate(args.files):
        run = _load(path)
        if run is None:
            status = EXIT_ERROR
            continue
        if run.n_events == 0:
            print(f"{PROG}: error: {path}: the run has no events", file=sys.stderr, flush=True)
            status = EXIT_ERROR
            continue
        parts = summary_parts(run)
        del run  # a big run's columns are not needed for the next file
        if args.check and not parts.passed:
            status = max(status, EXIT_VIOLATION)
        if fmt == "text":
            print(("\n" if i else "") + "\n".join(summary_lines(parts)), flush=True)
        elif fmt == "json":
            runs.append(summary_data(parts))
        else:
            header = header or summary_csv_columns(parts)
            rows += summary_csv_rows(parts)
    if fmt == "json":
        sys.stdout.write(json_text({"format": "clockbench-summary/1", "analysis_version": __version__,
                                    "runs": runs}))
    elif fmt == "csv" and header:
        sys.stdout.write(csv_text(header, rows))
    sys.stdout.flush()
    return status


def cmd_theory(args: argparse.Namespace) -> int:
    """`theory`: the model's predictions from rates, or from a run's rates; as text, JSON or CSV."""
    if args.file:
        run = _load(args.file)
        if run is None:
            return EXIT_ERROR
        from clockbench.theory.compare import theory_for
        from clockbench.measure.metrics import compute
        pred = theory_for(compute(run), run.network["adjacency"])
    else:
        if not 0.0 <= args.p_internal <= 1.0:
            print(f"{PROG}: error: --p-internal must be in [0, 1], got {args.p_internal}", file=sys.stderr)
            return EXIT_ERROR
        from clockbench.file.topology import TopologyError, adjacency, random_k
        if random_k(args.topology) and args.seed is None:
            return _usage("theory", f"--topology {args.topology} needs --seed: its graph is drawn from the run seed")
        try:
            adj = adjacency(args.topology, len(args.rates), args.seed)
        except TopologyError as exc:
            return _usage("theory", str(exc))
        pred = predict(args.rates, args.p_internal, args.topology, adj=adj)
    closed = None
    if pred.topology == "full" and args.file is None:
        cf = closed_form_full(pred.rates, pred.p_internal)
        closed = (cf, bool(np.allclose(cf, pred.arrival, rtol=1e-9, atol=1e-12)))
    if args.format == "json":
        sys.stdout.write(json_text({"format": "clockbench-theory/1", "source": args.file, **prediction_data(pred),
                                    "closed_form": {"lambda_hz": closed[0], "agrees": closed[1]} if closed else None}))
        return EXIT_OK
    if args.format == "csv":
        sys.stdout.write(csv_text(PREDICTION_COLUMNS, ([r[k] for k in PREDICTION_COLUMNS]
                                                       for r in prediction_rows(pred))))
        return EXIT_OK
    if args.file:
        print(f"from the rates of {args.file}")
    print("\n".join(format_prediction(pred)))
    if closed:
        print(f"closed form (full topology): lambda = {np.round(closed[0], 4).tolist()}: "
              f"{'agrees' if closed[1] else 'DISAGREES'} with the general solve (residual {pred.residual:.1e})")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    """`report FILE... -o DIR`: the report of every file that loads; one error line per other file."""
    from clockbench.documents.report import default_folder, write_report
    from clockbench.theory.run_analysis import analyse
    analyses, skipped = [], []
    for path in args.files:
        run = _load(path)
        if run is None:
            skipped.append((path, "could not be read"))
            continue
        try:
            analyses.append(analyse(run))
        except (ValueError, IndexError, KeyError, ArithmeticError) as exc:
            # A file that loads but whose content cannot be analysed (inconsistent columns).
            print(f"{PROG}: error: {path}: cannot analyse ({exc})", file=sys.stderr, flush=True)
            skipped.append((path, "could not be analysed"))
        del run
    if not analyses:  # each file's error is printed already: nothing to report on
        return EXIT_ERROR
    folder = args.output or default_folder(args.files)
    try:
        html_path, md_path = write_report(analyses, folder, skipped)
    except OSError as exc:
        print(f"{PROG}: error: {folder}: cannot write the report ({exc.strerror or exc})", file=sys.stderr,
              flush=True)
        return EXIT_ERROR
    print(f"report of {len(analyses)} run(s) written to {html_path} and {md_path}"
          + (f"; skipped {len(skipped)}: {', '.join(f for f, _ in skipped)}" if skipped else ""), flush=True)
    return EXIT_ERROR if skipped else EXIT_OK


def cmd_experiment(args: argparse.Namespace) -> int:
    """`experiment NAME`: run the matrix, verify each file, write the notebook; `experiment --plan FILE`:
    run the plan's lines with repetitions and print their statistics."""
    if (args.name is None) == (args.plan is None):
        return _usage("experiment", "give a matrix NAME or --plan FILE (one of the two)")
    if args.plan is not None:
        return _experiment_plan(args)
    only_plan = [o for o, given in (("--repetitions", args.repetitions is not None),
                                    ("--format", args.format != "text"), ("--dry-run", args.dry_run),
                                    ("-q", args.quiet)) if given]
    if only_plan:
        return _usage("experiment", f"{only_plan[0]} goes with --plan, not with a matrix NAME")
    if args.name not in MATRICES:
        print(f"{PROG}: error: unknown experiment '{args.name}' (known: {', '.join(sorted(MATRICES))})",
              file=sys.stderr, flush=True)
        return EXIT_ERROR
    folder = args.output or runner.default_folder(args.name)
    try:
        return runner.run_experiment(args.name, folder, speedup=args.speedup or DEFAULT_SPEEDUP, np_=args.np_,
                              seed_base=args.seed, duration_s=args.duration, binary=args.clockbench,
                              force=args.force)
    except runner.ExperimentError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr, flush=True)
        return EXIT_ERROR


def _usage(command: str, message: str) -> int:
    print(f"{PROG} {command}: error: {message} (see --help)", file=sys.stderr, flush=True)
    return EXIT_ERROR


def _experiment_plan(args: argparse.Namespace) -> int:
    """`experiment --plan FILE --repetitions R`: every line checked before anything runs."""
    try:
        lines = plan.read_plan(args.plan)
    except plan.PlanError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr, flush=True)
        return EXIT_ERROR
    stem = Path(args.plan).name.split(".")[0] or "plan"
    defaults = {opt: f"{value:.15g}" for opt, value in (("--duration", args.duration), ("--speedup", args.speedup))
                if value is not None}
    try:
        return repetitions.run_plan(args.plan, lines, args.repetitions or 1,
                                    args.output or runner.default_folder(stem), args.clockbench,
                                    machines=args.np_ or repetitions.DEFAULT_MACHINES, defaults=defaults,
                                    seed_base=args.seed, force=args.force, quiet=args.quiet, fmt=args.format,
                                    dry_run=args.dry_run, analysis_version=__version__)
    except runner.ExperimentError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr, flush=True)
        return EXIT_ERROR


def cmd_recover(args: argparse.Namespace) -> int:
    """`recover JOURNAL -o FILE`: the run file rebuilt from a crashed run's journal."""
    from pathlib import Path
    from clockbench.file.recover import RecoverError, recover
    try:
        print(recover(Path(args.journal), Path(args.output), args.force), flush=True)
    except (RecoverError, OSError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr, flush=True)
        return EXIT_ERROR
    return EXIT_OK


def version_text() -> str:
    """'clockbench-analyze 0.1.0', with ' (git SHA)' when run from a git checkout of clockbench (the
    SHA as clockbench --version gives it: 12 digits, -dirty with uncommitted changes)."""
    here = Path(__file__).resolve().parent
    top = here.parents[1]
    text = f"{PROG} {__version__}"
    if not ((top / ".git").exists() and (here.parent / "clockbench-analyze").exists()):
        return text  # an installed package: no commit to name
    try:
        sha = subprocess.run(["git", "-C", str(top), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(top), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return text
    return f"{text} (git {sha}{'-dirty' if dirty else ''})" if sha else text


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage error or --help: keep main() returning
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    return args.func(args)
