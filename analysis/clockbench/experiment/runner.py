"""`experiment NAME`: the named matrices of runs (the exercise's `assignment`), run through mpirun,
each file verified and analysed as it lands, then the lab notebook written beside the files."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Dict, List, Optional

from clockbench.measure.metrics import jump_profiles
from clockbench.experiment.mpi_settings import mpi_env
from clockbench.theory.run_analysis import analyse
from clockbench.file.schema import SchemaError, open_run
from clockbench.file.verify import verify

from clockbench.exercise import DEFAULT_SEED_BASE, DEFAULT_SPEEDUP, MATRICES, NOTEBOOK_STEM, Settings, Trial


class ExperimentError(Exception):
    """Why an experiment could not start or go on; one line, naming the file or folder."""


def default_binary() -> Path:
    """The clockbench program: CLOCKBENCH_BIN, else a clockbench on PATH, else build/clockbench of
    the checkout this package lives in (as the Slurm scripts look for it, slurm/lib.sh)."""
    program = os.environ.get("CLOCKBENCH_BIN") or shutil.which("clockbench")
    if program:
        return Path(program)
    return Path(__file__).resolve().parents[3] / "build" / "clockbench"


def default_folder(name: str) -> str:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return os.path.join("results", f"experiment-{name}-{stamp}")


def plan(settings: Settings, force: bool = False) -> List[Trial]:
    """The trials in run order; seeds BASE, BASE+1, ... so every run can be repeated alone."""
    trials: List[Trial] = []
    for v in settings.matrix.variants:
        for _ in range(v.runs):
            k = len(trials)
            seed = settings.seed_base + k
            path = os.path.join(settings.folder, f"trial{k + 1:02d}-{v.key}-seed{seed}.h5")
            cmd = ["mpirun", "-np", str(settings.n), settings.binary, "--duration", f"{settings.duration_s:g}",
                   "--speedup", f"{settings.speedup:g}", "--seed", str(seed), *v.args(), "-o", path, "-q"]
            trials.append(Trial(k + 1, v, seed, path, cmd + (["--force"] if force else [])))
    return trials


def _check_can_start(settings: Settings, trials: List[Trial], force: bool) -> None:
    if not os.access(settings.binary, os.X_OK):
        raise ExperimentError(f"{settings.binary}: no clockbench binary there (build it with scripts/build, "
                              "or pass --clockbench PATH)")
    if shutil.which("mpirun") is None:
        raise ExperimentError("mpirun: not found on PATH (install Open MPI: scripts/install-deps)")
    folder = settings.folder
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ExperimentError(f"{folder}: exists and is not a folder")
    existing = [p for p in [os.path.join(folder, NOTEBOOK_STEM + ".md"),
                            os.path.join(folder, NOTEBOOK_STEM + ".html")] + [t.path for t in trials]
                if os.path.exists(p)]
    if existing and not force:
        raise ExperimentError(f"{folder}: already holds an experiment ({os.path.basename(existing[0])}); "
                              "choose another -o DIR or pass --force to overwrite it")


def _result_fields(stdout: str) -> Dict[str, str]:
    for line in stdout.splitlines():
        if line.startswith("CLOCKBENCH_RESULT "):
            return dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
    return {}


def run_trial(trial: Trial, settings: Settings) -> None:
    """Runs one trial, then verifies and analyses its file; raises ExperimentError if it failed."""
    env = {**os.environ, **mpi_env()}  # whatever the caller's environment says
    timeout = settings.duration_s / settings.speedup + 120
    started = time.monotonic()
    try:
        proc = subprocess.run(trial.command, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ExperimentError(f"{trial.path}: clockbench did not finish within {timeout:.0f} s") from None
    trial.wall_s = time.monotonic() - started
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()] or ["(no message)"]
        raise ExperimentError(f"{trial.path}: clockbench failed (exit {proc.returncode}): {lines[-1].strip()}")
    trial.result = _result_fields(proc.stdout)
    try:
        run = open_run(trial.path)
    except SchemaError as exc:
        raise ExperimentError(str(exc)) from None
    trial.verified = verify(run)
    trial.analysis = analyse(run, histograms=False)
    trial.jumps = jump_profiles(run)


def progress_line(trial: Trial, total: int) -> str:
    a, v = trial.analysis, trial.verified
    rates = trial.result.get("rates") or (",".join(f"{m.rate_hz:g}" for m in a.metrics.machines) if a else "?")
    state = "verified OK" if v is not None and v.ok else f"VERIFY FAILED ({v.violations[0]})" if v else "?"
    events = f"{a.n_events} events, " if a else ""
    return (f"run {trial.index}/{total}: variant {trial.variant.key}, seed {trial.seed}, rates {rates}: "
            f"{events}{state} ({trial.wall_s:.1f} s)")


def run_experiment(name: str, folder: str, speedup: float = DEFAULT_SPEEDUP, np_: Optional[int] = None,
                   seed_base: int = DEFAULT_SEED_BASE, duration_s: Optional[float] = None,
                   binary: Optional[str] = None, force: bool = False) -> int:
    """Runs matrix `name` into `folder` and writes its notebook; returns the exit code
    (0, or 1 if a file failed verification). Raises ExperimentError when it cannot go on."""
    from clockbench.documents.notebook import write_notebook  # plotting is loaded only once runs are done

    matrix = MATRICES[name]
    settings = Settings(matrix, folder, np_ or matrix.n, duration_s or matrix.duration_s, speedup, seed_base,
                        str(binary or default_binary()),
                        dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"))
    trials = plan(settings, force)
    _check_can_start(settings, trials, force)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise ExperimentError(f"{folder}: cannot create the folder ({exc.strerror or exc})") from None
    per_run = settings.duration_s / speedup
    print(f"experiment {name}: {len(trials)} runs of {settings.duration_s:g} model s at speedup {speedup:g} "
          f"({per_run:.3g} s each), {settings.n} machines, seeds {seed_base}..{seed_base + len(trials) - 1}, "
          f"into {folder}", flush=True)
    started = time.monotonic()
    try:
        for t in trials:
            run_trial(t, settings)
            print(progress_line(t, len(trials)), flush=True)
    except KeyboardInterrupt:
        done = sum(t.analysis is not None for t in trials)
        raise ExperimentError(f"{folder}: interrupted after {done} of {len(trials)} runs; no notebook written") \
            from None
    settings.wall_s = time.monotonic() - started
    try:
        html_path, md_path = write_notebook(settings, trials)
    except OSError as exc:
        raise ExperimentError(f"{folder}: cannot write the notebook ({exc.strerror or exc})") from None
    bad = [t for t in trials if not t.verified.ok]
    print(f"notebook written to {html_path} and {md_path}: {len(trials)} runs, "
          + (f"{len(bad)} FAILED verification" if bad else "all verified")
          + f", {time.monotonic() - started:.0f} s in all", flush=True)
    return 1 if bad else 0
