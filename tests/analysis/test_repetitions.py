"""`experiment --plan FILE --repetitions R` under mpirun (two short lines, three repetitions): the
documented seeds and file names, a progress line with ETA per run, and each statistic's mean and
95 % interval recomputed here from the runs' /events with h5py and the published t quantile; one
repetition gives an undefined interval, not 0; an existing folder is refused. The scaling study's
--repetitions: each point a mean with its interval over its runs, recomputed from the per-run records."""

from __future__ import annotations

import csv
import json
import math
import re
import statistics
import subprocess
from pathlib import Path
from typing import Dict, List

import h5py
import numpy as np
import pytest

from runs import ANALYZE, BIN, run

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
