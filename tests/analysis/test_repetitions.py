"""`experiment --plan FILE --repetitions R` under mpirun (two short lines, three repetitions): the
documented seeds and file names, a progress line with ETA per run, and each statistic's mean and
95 % interval recomputed here from the runs' /events with h5py and the published t quantile; one
repetition gives an undefined interval, not 0; an existing folder is refused. The scaling study's
--repetitions: each point a mean with its interval over its runs, recomputed from the per-run records."""

from __future__ import annotations

import csv
import json
import os
import math
import re
import statistics
import subprocess
from pathlib import Path
from typing import Dict, List

import h5py
import numpy as np
import pytest

from runs import ANALYZE, BIN, ROOT, run

RECEIVE = 3        # docs/schema.md, /events/kind
T_975_DF2 = 4.303  # Student t, 0.975 quantile, 2 degrees of freedom (NIST/SEMATECH e-Handbook, 1.3.6.7.2)
T_975_DF1 = 12.706
STRIDE = 2 ** 32   # docs/plans.md: repetition r runs with seed S + (r - 1) * 2^32
PLAN = ("# two short configurations\n"
        "rates=2,3,5 duration=4 speedup=40 seed=5\n"
        "range=1..6 n=2 topology=ring duration=4 speedup=40   # no seed: --seed BASE\n")
BASE = 11


def analyze(*args, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(["/usr/bin/python3", str(ANALYZE), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def repeated(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("rep")
    plan = folder / "two.plan"
    plan.write_text(PLAN)
    out = folder / "out"
    proc = analyze("experiment", "--plan", plan, "--repetitions", 3, "--seed", BASE, "--format", "json", "-o", out,
                   "--clockbench", BIN)
    return plan, out, proc


def events_of(path: Path) -> Dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        return {k: f["events"][k][()] for k in ("rank", "kind", "jump", "queue")} | {"seed": int(f.attrs["seed"])}


def expected(values: List[float]) -> Dict[str, float]:
    """Mean and 95 % half-width of three values, with the published t quantile."""
    return {"mean": statistics.fmean(values), "ci95": T_975_DF2 * statistics.stdev(values) / math.sqrt(3)}


def assert_interval(got: Dict, values: List[float], what: str) -> None:
    want = expected(values)
    assert got["repetitions"] == 3 and got["values"] == pytest.approx(values, rel=1e-12, abs=1e-12), what
    assert got["mean"] == pytest.approx(want["mean"], rel=1e-12, abs=1e-12), what
    # 4.303 is rounded to three decimals: the half-width agrees to that precision.
    assert abs(got["ci95"] - want["ci95"]) <= 0.0005 / T_975_DF2 * want["ci95"] + 1e-12, (what, got, want)
    assert got["low"] == pytest.approx(got["mean"] - got["ci95"]) and got["high"] == pytest.approx(
        got["mean"] + got["ci95"]), what


def test_runs_seeds_files_and_progress(repeated) -> None:
    plan, out, proc = repeated
    assert proc.returncode == 0, proc.stderr
    progress = proc.stderr.splitlines()
    assert progress[0] == f"experiment --plan {plan}: 2 configuration(s) x 3 repetition(s) = 6 runs into {out}"
    seeds = [5, 5 + STRIDE, 5 + 2 * STRIDE, BASE, BASE + STRIDE, BASE + 2 * STRIDE]
    for k, (line, seed) in enumerate(zip(progress[1:], seeds), 1):
        config, rep = (k - 1) // 3 + 1, (k - 1) % 3 + 1
        assert re.fullmatch(rf"run {k}/6: configuration {config} \(line {config + 1}\), repetition {rep}, seed {seed}: "
                            rf"verified OK, [0-9.]+ s; (ETA [0-9]+ s|done)", line), line
        assert line.endswith("done") == (k == 6)
    assert len(progress) == 7
    names = sorted(p.name for p in out.iterdir())
    files = [f"config{(k // 3) + 1}-rep{k % 3 + 1}-seed{s}.h5" for k, s in enumerate(seeds)]
    assert names == sorted(files + ["repetitions.json", "two.plan"])
    assert [events_of(out / f)["seed"] for f in files] == seeds  # what each file records
    assert json.loads((out / "repetitions.json").read_text()) == json.loads(proc.stdout)


def test_statistics_match_a_recomputation_from_the_events(repeated) -> None:
    plan, out, proc = repeated
    doc = json.loads(proc.stdout)
    assert doc["repetitions"] == 3 and [c["text"] for c in doc["configurations"]] == [
        "rates=2,3,5 duration=4 speedup=40 seed=5", "range=1..6 n=2 topology=ring duration=4 speedup=40"]
    for config in doc["configurations"]:
        runs = [events_of(Path(r["file"])) for r in config["runs"]]
        assert all(r["verified"] for r in config["runs"])
        s = config["statistics"]
        assert_interval(s["jump_mean"], [float(e["jump"][e["kind"] == RECEIVE].mean()) for e in runs], "jump_mean")
        assert_interval(s["queue_mean"], [float(e["queue"].mean()) for e in runs], "queue_mean")
        assert_interval(s["queue_max"], [float(e["queue"].max()) for e in runs], "queue_max")
        assert_interval(s["events"], [float(e["kind"].size) for e in runs], "events")
    first, second = doc["configurations"]
    assert second["machines"] is None  # rates drawn per seed: machine i is not the same machine
    runs = [events_of(Path(r["file"])) for r in first["runs"]]
    assert [m["machine"] for m in first["machines"]] == [0, 1, 2]
    for m in first["machines"]:
        mine = [{k: e[k][e["rank"] == m["machine"]] for k in ("kind", "jump", "queue")} for e in runs]
        values = [float(e["jump"][e["kind"] == RECEIVE].mean()) if np.any(e["kind"] == RECEIVE) else math.nan
                  for e in mine]
        if not any(math.isnan(v) for v in values):
            assert_interval(m["statistics"]["jump_mean"], values, f"machine {m['machine']} jump_mean")
        assert_interval(m["statistics"]["queue_mean"], [float(e["queue"].mean()) for e in mine], "machine queue_mean")
        assert_interval(m["statistics"]["receive"], [float(np.mean(e["kind"] == RECEIVE)) for e in mine],
                        "machine receive")


def test_one_repetition_has_no_interval_and_csv_says_so(tmp_path: Path) -> None:
    plan = tmp_path / "one.plan"
    plan.write_text("rates=2,4 duration=2 speedup=40 seed=3\n")
    res = analyze("experiment", "--plan", plan, "-q", "--format", "csv", "-o", tmp_path / "out", "--clockbench", BIN)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "configuration,line,text,machine,statistic,repetitions,mean,ci95,low,high"
    rows = list(csv.reader(lines[1:]))
    assert {r[2] for r in rows} == {"rates=2,4 duration=2 speedup=40 seed=3"}
    assert len(rows) == 8 + 2 * 10  # run-wide, then two machines
    assert all(r[5] == "1" and r[7] == r[8] == r[9] == "" for r in rows), lines
    assert all(r[6] != "" for r in rows if r[4] != "jump_mean"), lines  # no receive: no mean jump
    e = events_of(tmp_path / "out" / "config1-rep1-seed3.h5")
    jump = next(r for r in rows if r[3] == "" and r[4] == "jump_mean")
    assert float(jump[6]) == pytest.approx(float(e["jump"][e["kind"] == RECEIVE].mean()), rel=1e-12)
    text = analyze("experiment", "--plan", plan, "-q", "-o", tmp_path / "again", "--clockbench", BIN)
    assert text.returncode == 0
    assert re.search(r"^\s+jump_mean\s+[0-9.]+ \(1 run\)$", text.stdout, re.M), text.stdout
    assert " ± " not in text.stdout.split("95% CI", 1)[1]  # below the heading


def test_an_existing_folder_is_refused(repeated) -> None:
    plan, out, _ = repeated
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    res = analyze("experiment", "--plan", plan, "--repetitions", 3, "-o", out, "--clockbench", BIN)
    errors = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.returncode == 2 and len(errors) == 1, res.stderr
    assert errors[0] == (f"clockbench-analyze: error: {out}: the folder exists and is not empty; choose another -o "
                         "DIR or pass --force to write into it (files of the same names are overwritten)")
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


# ---- the scaling study's repetitions --------------------------------------------------------------

SCALING_SEED = 7


@pytest.fixture(scope="module")
def scaling_runs(tmp_path_factory: pytest.TempPathFactory) -> List[Path]:
    """Full topology at N = 2 and 3, three repetitions each (seeds as slurm/scaling.sh gives them)."""
    folder = tmp_path_factory.mktemp("scaling-rep")
    files = []
    for n in (2, 3):
        for r in (1, 2, 3):
            name = f"full-n{n}-r{r}.h5"
            proc = run(n, ["--duration", "6", "--speedup", "30", "--seed", str(SCALING_SEED + (r - 1) * STRIDE),
                           "-q", "-o", name], folder)
            assert proc.returncode == 0, proc.stderr
            files.append(folder / name)
    return files


def test_scaling_points_are_means_with_intervals(scaling_runs: List[Path], tmp_path: Path) -> None:
    per_run = json.loads(analyze("scaling", *scaling_runs, "--format", "json").stdout)["runs"]
    res = analyze("scaling", *scaling_runs, "--repetitions", 3, "--format", "json", "-o", tmp_path / "report")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["repetitions"] == 3 and [(p["topology"], p["N"], p["runs"]) for p in doc["points"]] == [
        ("full", 2, 3), ("full", 3, 3)]
    for point in doc["points"]:
        mine = [r for r in per_run if r["N"] == point["N"]]
        assert sorted(point["seeds"]) == [SCALING_SEED, SCALING_SEED + STRIDE, SCALING_SEED + 2 * STRIDE]
        for column in ("drift_max", "drift_max_th", "lag_slope", "lag_slope_th", "growing", "dQdt_mean"):
            values = [r[column] for r in mine]
            want = expected(values)
            assert point[column] == pytest.approx(want["mean"], rel=1e-12, abs=1e-12), column
            assert abs(point[f"{column}_ci95"] - want["ci95"]) <= 0.0005 / T_975_DF2 * want["ci95"] + 1e-12, column
    md = (tmp_path / "report" / "scaling.md").read_text()
    assert re.search(r"^\| full \| 2 \| 3 \| [0-9.]+ ± [0-9.]+ \|", md, re.M), md
    assert "95% confidence interval" in md and (tmp_path / "report" / "scaling.png").is_file()
    text = analyze("scaling", *scaling_runs, "--repetitions", 3, "-o", tmp_path / "text")
    first = next(ln for ln in text.stdout.splitlines() if ln.split()[:3] == ["full", "2", "3"])
    drift = doc["points"][0]
    assert f"{drift['drift_max']:.0f} ± {drift['drift_max_ci95']:.0f}" in first, first
    csv_out = analyze("scaling", *scaling_runs, "--repetitions", 3, "--format", "csv")
    rows = list(csv.DictReader(csv_out.stdout.splitlines()))
    assert [float(r["drift_max_ci95"]) for r in rows] == pytest.approx([p["drift_max_ci95"] for p in doc["points"]])


def test_scaling_refuses_a_point_without_its_repetitions(scaling_runs: List[Path], tmp_path: Path) -> None:
    cases = [(scaling_runs[:5], "topology full, N=3: 2 run(s) with seeds"),
             (scaling_runs[:3] + [scaling_runs[3]] * 3, "topology full, N=3: 3 run(s) with seeds 7, 7, 7;")]
    for files, words in cases:
        res = analyze("scaling", *files, "--repetitions", 3, "-o", tmp_path / "no")
        errors = [ln for ln in res.stderr.splitlines() if ln.strip()]
        assert res.returncode == 2 and len(errors) == 1 and words in errors[0], res.stderr
        assert errors[0].startswith("clockbench-analyze: error: no scaling report written: ")
        assert not (tmp_path / "no").exists()


def fake_slurm(folder: Path) -> Dict[str, str]:
    """sbatch and scontrol that only log their arguments (one file per call, NUL-separated) and
    hand out job ids from 100: what slurm/scaling.sh submits, without a cluster."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    log = folder / "calls"
    log.mkdir()
    for name, reply in (("sbatch", 'echo "$id"'), ("scontrol", ":"), ("scancel", ":")):
        path = bin_dir / name
        path.write_text("#!/bin/bash\n"
                        f'id=$((100 + $(ls "{log}" | wc -l)))\n'
                        f'printf "%s\\0" {name} "$@" > "{log}/$id"\n{reply}\n')
        path.chmod(0o755)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "CLOCKBENCH_RESULTS": str(folder / "results")}


def test_scaling_sh_submits_every_repetition_with_its_seed(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_", "CLOCKBENCH_"))}
    env.update(fake_slurm(tmp_path), CLOCKBENCH_BIN=str(BIN), CLOCKBENCH_ANALYZE=str(ANALYZE))
    proc = subprocess.run([str(ROOT / "slurm" / "scaling.sh"), "--n", "2,3", "--topologies", "full",
                           "--repetitions", "2", "--", "--duration", "5", "--seed", "40", "--speedup", "20"],
                          env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    calls = [(tmp_path / "calls" / f).read_text().split("\0")[:-1] for f in sorted(os.listdir(tmp_path / "calls"))]
    sbatch = [c[1:] for c in calls if c[0] == "sbatch"]
    study = tmp_path / "results" / "clockbench-scaling-100"
    report, runs = sbatch[0], sbatch[1:]
    names = [f"full-n{n}-r{r}" for n in (2, 3) for r in (1, 2)]
    assert report[-6:] == ["--repetitions", "2"] + [f"{x}.h5" for x in names]
    assert len(runs) == 4
    for args, name in zip(runs, names):
        seed = 40 + (int(name[-1]) - 1) * STRIDE
        assert args[args.index("-o") + 1] == f"{study}/{name}.h5"
        assert f"--ntasks={name.split('-')[1][1:]}" in args
        assert args[-2:] == ["--seed", str(seed)] and args.count("--seed") == 1, args
        assert args[args.index("--duration") + 1] == "5" and args[args.index("--speedup") + 1] == "20"
    assert "repetitions: 2 (seeds 40 4294967336)" in (study / "study.txt").read_text()
