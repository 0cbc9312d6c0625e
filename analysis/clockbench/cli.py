"""Command line of clockbench-analyze: one subcommand per analysis task."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional, Sequence

from .schema import SchemaError, open_run, read_config_text
from .verify import VerifyResult, verify

PROG = "clockbench-analyze"

# Exit codes: 0 all good, 1 an invariant is violated, 2 a file could not be
# read as clockbench/1 or the command line was wrong (argparse also uses 2).
EXIT_OK, EXIT_VIOLATION, EXIT_ERROR = 0, 1, 2

# A report longer than this hides the first, most useful lines.
MAX_VIOLATION_LINES = 10


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; other subcommands register next to `verify`."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Verify and analyse clockbench HDF5 run files.")
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
    return parser


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
                + partial]
    shown = [str(v) for v in result.violations[:MAX_VIOLATION_LINES]]
    lines = [f"FAIL {result.path}: {shown[0]}"] + ["  " + s for s in shown[1:]]
    hidden = len(result.violations) - len(shown)
    if hidden:
        lines.append(f"  ... and {hidden} more kind(s) of violation")
    if partial:
        lines.append("  " + partial.strip())
    return lines


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


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage error or --help: keep main() returning
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    return args.func(args)
