"""`clockbench-analyze plan FILE`: checks a sweep plan and shows what each line runs; with --line K,
the K-th configuration in the form slurm/sweep.sbatch reads (one item per line), so that the Slurm
sweep and `experiment --plan` share one parser (experiment/plan.py)."""

from __future__ import annotations

import argparse
import shlex
import sys

from clockbench.experiment.plan import PlanError, plan_line, read_plan, configuration_lines

EXIT_OK, EXIT_ERROR = 0, 2


def _index(text: str) -> int:
    try:
        k = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if k < 1:
        raise argparse.ArgumentTypeError(f"configurations are numbered from 1, got {text}")
    return k


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "plan", help="check a sweep plan and show the clockbench options of each line",
        description="Read a sweep plan (slurm/sweep.sbatch, experiment --plan; format: docs/plans.md), "
        "check every configuration line and print, per configuration, its line, its machines N and its "
        "clockbench options. Exit 2 with one line naming the first bad line.")
    p.add_argument("file", metavar="PLAN", help="the plan file")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--line", type=_index, metavar="K",
                      help="only the K-th configuration (from 1; other lines are not checked), for scripts: "
                      "its line number, its N (an empty line where the plan leaves N to the caller), its text, "
                      "then one clockbench argument per line")
    what.add_argument("--count", action="store_true",
                      help="print the number of configuration lines (none is checked)")
    p.set_defaults(func=cmd_plan)


def cmd_plan(args: argparse.Namespace) -> int:
    try:
        if args.count:
            print(len(configuration_lines(args.file)))
        elif args.line is not None:
            c = plan_line(args.file, args.line)
            # Safe to read one item per line: a configuration is one line, its words have no blanks.
            print("\n".join([str(c.line_no), "" if c.n is None else str(c.n), c.text, *c.args]))
        else:
            for c in read_plan(args.file):
                n = f"N={c.n}" if c.n is not None else "N=default"
                print(f"{c.index}: line {c.line_no}, {n}: clockbench {shlex.join(c.args)}")
    except PlanError as exc:
        print(f"clockbench-analyze: error: {exc}", file=sys.stderr, flush=True)
        return EXIT_ERROR
    sys.stdout.flush()
    return EXIT_OK
