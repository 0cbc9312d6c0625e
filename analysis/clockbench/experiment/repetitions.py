"""`experiment --plan FILE --repetitions R`: every configuration of a sweep plan run R times here
through mpirun, each file verified and summarised, then each statistic reported as a mean with its
95 % confidence interval over the repetitions (documents/repetitions.py). Seeds: docs/plans.md."""

from __future__ import annotations

import datetime as dt
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from clockbench.documents.formats import csv_text, json_text
from clockbench.documents.repetitions import CSV_COLUMNS, INTERVAL_TEXT, configuration_data, configuration_lines, \
    csv_rows
from clockbench.documents.summary import summary_data, summary_parts
from clockbench.experiment.mpi_settings import mpi_env
from clockbench.experiment.plan import PlanLine
from clockbench.experiment.runner import ExperimentError
from clockbench.file.schema import SchemaError, open_run
from clockbench.file.verify import verify

RESULTS_JSON = "repetitions.json"
# Machines of a line that sets neither n= nor rates= (the sweep's job tasks stand in for it there).
DEFAULT_MACHINES = 3
# Repetition r (from 1) of a line runs with seed S + (r - 1) 2^32: the first is the sweep's run of the
# line, and lines whose seeds differ (plans count them 1, 2, 3, ...) never share a run.
SEED_STRIDE = 2 ** 32
SEED_LIMIT = 2 ** 64  # clockbench's seeds are 64-bit
SEED_TEXT = ("repetition r (from 1) of a line runs with seed S + (r - 1) * 2^32, S the line's seed= or, without "
             "one, --seed BASE (so lines without seed= are compared on the same draws)")


@dataclass
class Repetition:
    """One run of one plan line, and what became of it."""

    line: PlanLine
    rep: int                 # 1-based
    seed: int
    machines: int
    path: str
    command: List[str]
    timeout_s: Optional[float]
    wall_s: float = 0.0
    verified: bool = False
    first_violation: str = ""
    summary: Dict[str, Any] = field(default_factory=dict)


def seed_of(line: PlanLine, rep: int, base: int) -> int:
    """The seed of repetition `rep` (from 1): SEED_TEXT."""
    return (line.seed if line.seed is not None else base) + (rep - 1) * SEED_STRIDE


def _option(args: Sequence[str], name: str) -> Optional[str]:
    return next((args[k + 1] for k in range(len(args) - 1) if args[k] == name), None)


def _with_seed(args: Sequence[str], seed: int) -> List[str]:
    """The line's options with its --seed set to `seed` (in place, or added at the end)."""
    out = list(args)
    if "--seed" in out:
        out[out.index("--seed") + 1] = str(seed)
    else:
        out += ["--seed", str(seed)]
    return out


def plan_runs(lines: Sequence[PlanLine], repetitions: int, folder: str, binary: str, machines: int,
              defaults: Dict[str, str], seed_base: int, force: bool) -> List[Repetition]:
    """Every run in order (configuration by configuration, repetitions in turn), each with its file
    <folder>/config<K>-rep<r>-seed<S>.h5. `defaults`: clockbench options (--duration, --speedup)
    for the lines that do not set them."""
    k_width, r_width = len(str(len(lines))), len(str(repetitions))
    runs = []
    for line in lines:
        args = list(line.args) + [a for opt, value in defaults.items() if opt not in line.args for a in (opt, value)]
        n = line.machines(machines)
        duration, speedup = _option(args, "--duration"), _option(args, "--speedup")
        timeout = float(duration) / float(speedup) + 120 if duration and speedup else None
        for rep in range(1, repetitions + 1):
            seed = seed_of(line, rep, seed_base)
            if seed >= SEED_LIMIT:
                raise ExperimentError(f"configuration {line.index} (line {line.line_no}): repetition {rep} would "
                                      f"need seed {seed}, beyond clockbench's 2^64 - 1 ({SEED_TEXT})")
            path = os.path.join(folder, f"config{line.index:0{k_width}d}-rep{rep:0{r_width}d}-seed{seed}.h5")
            command = ["mpirun", "-np", str(n), binary, *_with_seed(args, seed), "-o", path, "-q"]
            runs.append(Repetition(line, rep, seed, n, path, command + (["--force"] if force else []), timeout))
    return runs


def _check_can_start(folder: str, binary: str, force: bool) -> None:
    if not os.access(binary, os.X_OK):
        raise ExperimentError(f"{binary}: no clockbench binary there (build it with scripts/build, "
                              "or pass --clockbench PATH)")
    if shutil.which("mpirun") is None:
        raise ExperimentError("mpirun: not found on PATH (install Open MPI: scripts/install-deps)")
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ExperimentError(f"{folder}: exists and is not a folder")
    if os.path.isdir(folder) and os.listdir(folder) and not force:
        raise ExperimentError(f"{folder}: the folder exists and is not empty; choose another -o DIR or pass "
                              "--force to write into it (files of the same names are overwritten)")


def _run_one(r: Repetition) -> None:
    env = {**os.environ, **mpi_env()}
    started = time.monotonic()
    try:
        proc = subprocess.run(r.command, env=env, capture_output=True, text=True, timeout=r.timeout_s)
    except subprocess.TimeoutExpired:
        raise ExperimentError(f"{r.path}: clockbench did not finish within {r.timeout_s:.0f} s") from None
    r.wall_s = time.monotonic() - started
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()] or [_no_message(proc.returncode)]
        raise ExperimentError(f"{r.path}: clockbench failed (exit {proc.returncode}, configuration "
                              f"{r.line.index}, repetition {r.rep}): {lines[-1].strip()}")
    try:
        run = open_run(r.path)
    except SchemaError as exc:
        raise ExperimentError(str(exc)) from None
    result = verify(run)
    r.verified = result.ok
    r.first_violation = "" if result.ok else str(result.violations[0])
    r.summary = summary_data(summary_parts(run))


def _no_message(code: int) -> str:
    """What an exit code without a message says: above 128, mpirun passes on a rank's signal."""
    try:
        return f"no message; a rank was ended by {signal.Signals(code - 128).name}" if code > 128 else "no message"
    except ValueError:
        return "no message"


def _progress(k: int, total: int, r: Repetition, elapsed: float) -> str:
    state = "verified OK" if r.verified else f"VERIFY FAILED ({r.first_violation})"
    left = total - k
    eta = f"ETA {elapsed / k * left:.0f} s" if left else "done"
    return (f"run {k}/{total}: configuration {r.line.index} (line {r.line.line_no}), repetition {r.rep}, "
            f"seed {r.seed}: {state}, {r.wall_s:.1f} s; {eta}")


def _entry(line: PlanLine, runs: Sequence[Repetition]) -> Dict[str, Any]:
    return {"index": line.index, "line": line.line_no, "text": line.text, "n": runs[0].machines,
            "args": list(line.args),
            "runs": [{"file": r.path, "seed": r.seed, "command": shlex.join(r.command), "verified": r.verified,
                      "degraded": bool(r.summary["model"]["degraded"]), "wall_s": r.wall_s} for r in runs]}


def run_plan(plan_path: str, lines: Sequence[PlanLine], repetitions: int, folder: str, binary: str,
             machines: int = DEFAULT_MACHINES, defaults: Optional[Dict[str, str]] = None, seed_base: int = 1,
             force: bool = False, quiet: bool = False, fmt: str = "text", dry_run: bool = False,
             analysis_version: str = "") -> int:
    """Runs the plan's lines `repetitions` times each into `folder` and prints their statistics (fmt:
    text, json, csv) on stdout, progress on stderr; writes <folder>/repetitions.json and a copy of
    the plan. Returns 0, or 1 if a file failed verification; raises ExperimentError."""
    runs = plan_runs(lines, repetitions, folder, binary, machines, defaults or {}, seed_base, force)
    if dry_run:
        print("\n".join(shlex.join(r.command) for r in runs), flush=True)
        return 0
    _check_can_start(folder, binary, force)
    try:
        os.makedirs(folder, exist_ok=True)
        copy = os.path.join(folder, os.path.basename(plan_path))
        if not (os.path.exists(copy) and os.path.samefile(copy, plan_path)):  # -o . beside the plan
            shutil.copyfile(plan_path, copy)
    except OSError as exc:
        raise ExperimentError(f"{folder}: cannot create the folder or copy the plan into it "
                              f"({exc.strerror or exc})") from None

    def say(text: str) -> None:
        if not quiet:
            print(text, file=sys.stderr, flush=True)

    say(f"experiment --plan {plan_path}: {len(lines)} configuration(s) x {repetitions} repetition(s) = "
        f"{len(runs)} runs into {folder}")
    started = time.monotonic()
    try:
        for k, r in enumerate(runs, 1):
            _run_one(r)
            say(_progress(k, len(runs), r, time.monotonic() - started))
    except KeyboardInterrupt:
        done = sum(bool(r.summary) for r in runs)
        raise ExperimentError(f"{folder}: interrupted after {done} of {len(runs)} runs; no statistics written") \
            from None
    configs = []
    for line in lines:
        mine = [r for r in runs if r.line is line]
        fixed = "--rates" in line.args  # the same machines in every repetition
        configs.append(configuration_data(_entry(line, mine), [r.summary for r in mine], per_machine=fixed))
    doc = {"format": "clockbench-repetitions/1", "analysis_version": analysis_version, "plan": plan_path,
           "repetitions": repetitions, "seeds": SEED_TEXT, "seed_base": seed_base, "interval": INTERVAL_TEXT,
           "folder": folder, "created_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "configurations": configs}
    text = json_text(doc)
    try:
        with open(os.path.join(folder, RESULTS_JSON), "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise ExperimentError(f"{folder}: cannot write {RESULTS_JSON} ({exc.strerror or exc})") from None
    if fmt == "json":
        sys.stdout.write(text)
    elif fmt == "csv":
        sys.stdout.write(csv_text(CSV_COLUMNS, (row for c in configs for row in csv_rows(c))))
    else:
        out = [f"{len(runs)} runs, {repetitions} per configuration; {INTERVAL_TEXT}", ""]
        for c in configs:
            out += configuration_lines(c) + [""]
        out.append(f"statistics of every run: {os.path.join(folder, RESULTS_JSON)}")
        print("\n".join(out))
    sys.stdout.flush()
    return 1 if any(not r.verified for r in runs) else 0
