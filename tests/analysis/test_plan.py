"""Sweep plans (analysis/clockbench/experiment/plan.py, docs/plans.md): every key gives the clockbench
options written out here by hand, every malformed line its one error naming file, line and problem;
the Slurm sweep's reading of a plan (slurm/lib.sh, cb_plan_line, run by bash) and the local
`experiment --plan` give the same options and machines; and the Student t table of the confidence
intervals against published quantiles."""

from __future__ import annotations

import math
import os
import shlex
import statistics
import subprocess
from pathlib import Path
from typing import List, Optional

import pytest

from clockbench.experiment.plan import KEYS, PlanError, read_plan
from clockbench.measure.confidence import format_interval, interval, t_quantile

ROOT = Path(__file__).resolve().parents[2]
ANALYZE = ROOT / "analysis" / "clockbench-analyze"
BIN = Path(os.environ.get("CLOCKBENCH_BIN", ROOT / "build" / "clockbench"))

# (line, N it sets or None, its clockbench options), every key at least once.
LINES = [
    ("rates=1,2.5,6 p_internal=0.4 topology=ring seed=5 duration=12.5 speedup=20", 3,
     ["--rates", "1,2.5,6", "--p-internal", "0.4", "--topology", "ring", "--seed", "5", "--duration", "12.5",
      "--speedup", "20"]),
    ("range=1..6 fractional=yes n=4 seed=6 duration=1e1 speedup=2E1   # a comment after the words", 4,
     ["--rate-min", "1", "--rate-max", "6", "--fractional-rates", "--seed", "6", "--duration", "1e1",
      "--speedup", "2E1"]),
    ("\t range=2..3.5 fractional=no", None, ["--rate-min", "2", "--rate-max", "3.5"]),
    ("rates=1,2 n=2 topology=full fractional=true", 2, ["--rates", "1,2", "--topology", "full",
                                                        "--fractional-rates"]),
    ("p_internal=0.9 duration=3 fractional=0 n=5 seed=0", 5, ["--p-internal", "0.9", "--duration", "3",
                                                              "--seed", "0"]),
]
PLAN_TEXT = ("# a plan with every key\n\n" + "\n".join(line if k % 2 else line + "\n  # a comment line"
                                                        for k, (line, _, _) in enumerate(LINES)) + "\n")


def write_plan(folder: Path, text: str = PLAN_TEXT, name: str = "every-key.plan") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_every_key_gives_its_options(tmp_path: Path) -> None:
    assert sorted(KEYS) == sorted({w.split("=")[0] for line, _, _ in LINES for w in line.split("#")[0].split()})
    lines = read_plan(str(write_plan(tmp_path)))
    assert [c.index for c in lines] == [1, 2, 3, 4, 5]
    assert [c.line_no for c in lines] == [3, 5, 6, 8, 9]  # comment and blank lines do not count
    for c, (text, n, args) in zip(lines, LINES):
        assert c.text == text.split("#")[0].strip()
        assert (c.n, list(c.args)) == (n, args), text
    assert [c.seed for c in lines] == [5, 6, None, None, 0]


BAD = [
    ("rates=1,2 foo=3", "unknown key 'foo' (known: rates range fractional n p_internal topology seed duration "
                        "speedup)"),
    ("rates=1,2 duration", "'duration' is not key=value"),
    ("rates= duration=3", "rates has no value"),
    ("seed=1 duration=2 seed=2", "seed is given twice"),
    ("rates=1", "rates must be two or more numbers separated by commas, e.g. rates=1,2,6"),
    ("rates=1,x", "rates must be two or more numbers separated by commas, e.g. rates=1,2,6"),
    ("rates=1,0", "rate '0' is not a positive number"),
    ("rates=1,1e", "rate '1e' is not a positive number"),
    ("range=1-6", "range must be LOW..HIGH, e.g. range=1..6"),
    ("range=a..6", "range must be LOW..HIGH, e.g. range=1..6"),
    ("fractional=maybe", "fractional must be yes or no"),
    ("n=three", "n must be a whole number"),
    ("p_internal=high", "p_internal must be a number, got 'high'"),
    ("duration=-5", "duration must be a number, got '-5'"),
    ("speedup=fast", "speedup must be a number, got 'fast'"),
    ("seed=-1", "seed must be a whole number, got '-1'"),
    ("topology=Star", "topology must be full, ring or random:K (K even, at least 2), got 'Star'"),
    ("topology=random:3", "topology must be full, ring or random:K (K even, at least 2), got 'random:3'"),
    ("topology=random:x", "topology must be full, ring or random:K (K even, at least 2), got 'random:x'"),
    ("n=6 topology=random:4", "topology=random:4 with N=6: random:K needs K <= N/2 (docs/model.md)"),
    ("rates=1,2 range=1..6", "give rates or range, not both"),
    ("rates=1,2,3 n=2", "n=2 but 3 rates"),
    ("n=1", "N=1 machine(s): clockbench needs at least 2"),
]


@pytest.mark.parametrize("text,problem", BAD, ids=[b[0] for b in BAD])
def test_a_malformed_line_is_named_with_its_problem(text: str, problem: str, tmp_path: Path) -> None:
    plan = write_plan(tmp_path, f"rates=1,2 seed=3\n# then the bad one\n{text}\n")
    with pytest.raises(PlanError) as err:
        read_plan(str(plan))
    assert str(err.value) == f"{plan} line 3: '{text}': {problem}"


def test_the_command_names_the_bad_line_and_reads_only_the_line_asked_for(tmp_path: Path, cli) -> None:
    for text, problem in (BAD[0], BAD[6], BAD[-1]):
        plan = write_plan(tmp_path, f"rates=1,2 seed=3\n# then the bad one\n{text}\n")
        res = cli("plan", plan)
        assert (res.code, res.out, res.err) == (2, "", f"clockbench-analyze: error: {plan} line 3: '{text}': "
                                                       f"{problem}\n")
    # A sweep task of another line does not read the bad one: it fails its own task only.
    good = cli("plan", plan, "--line", "1")
    assert good.code == 0 and good.out.splitlines() == ["1", "2", "rates=1,2 seed=3", "--rates", "1,2", "--seed", "3"]
    assert cli("plan", plan, "--line", "2").code == 2


def test_plan_files_that_cannot_be_read(tmp_path: Path, cli) -> None:
    cases = [(tmp_path / "missing.plan", f"plan file '{tmp_path / 'missing.plan'}' not found"),
             (tmp_path, f"plan file '{tmp_path}' is a folder"),
             (write_plan(tmp_path, "# nothing but a comment\n\n", "empty.plan"),
              f"{tmp_path / 'empty.plan'}: the plan has no configuration line")]
    for path, message in cases:
        res = cli("plan", path)
        assert (res.code, res.err) == (2, f"clockbench-analyze: error: {message}\n"), res
    res = cli("plan", write_plan(tmp_path), "--line", "6")
    assert res.code == 2 and "has 5 configuration(s): there is no configuration 6 (they are numbered 1..5)" in res.err
    assert cli("plan", write_plan(tmp_path), "--count").out == "5\n"


def sweep_reading(plan: Path, k: int) -> List[str]:
    """What slurm/sweep.sbatch reads of configuration k: line_no, line_n, line_text, then line_args,
    from cb_plan_line of slurm/lib.sh, run by bash as the job runs it."""
    script = ('source "$CLOCKBENCH_HOME/slurm/lib.sh"; cb_script=test; cb_find_programs; '
              'cb_plan_line "$1" "$2"; printf "%s\\0" "$line_no" "$line_n" "$line_text" "${line_args[@]}"')
    env = {**os.environ, "CLOCKBENCH_HOME": str(ROOT), "CLOCKBENCH_ANALYZE": str(ANALYZE)}
    proc = subprocess.run(["bash", "-c", script, "test", str(plan), str(k)], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split("\0")[:-1]


def local_commands(plan: Path, folder: Path, *extra: str) -> List[List[str]]:
    proc = subprocess.run(["/usr/bin/python3", str(ANALYZE), "experiment", "--plan", str(plan), "--dry-run",
                           "--clockbench", str(BIN), "-o", str(folder), *extra],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [shlex.split(line) for line in proc.stdout.splitlines()]


def test_the_sweep_and_the_local_run_read_a_plan_alike(tmp_path: Path) -> None:
    plan = write_plan(tmp_path)
    folder = tmp_path / "local"
    commands = local_commands(plan, folder, "--np", "7", "--seed", "40")
    assert len(commands) == len(LINES)
    for k, (command, (text, n, args)) in enumerate(zip(commands, LINES), 1):
        line_no, line_n, line_text, *sweep_args = sweep_reading(plan, k)
        assert line_text == text.split("#")[0].strip()
        assert line_n == ("" if n is None else str(n))  # empty: the job's tasks
        assert sweep_args == args
        # The local run: the same options; a line without seed= gets the base seed (--seed) added.
        seed = None if "--seed" in args else "40"
        assert command[:4] == ["mpirun", "-np", line_n or "7", str(BIN)]
        assert command[4:-3] == sweep_args + ([] if seed is None else ["--seed", seed])
        assert command[-3] == "-o" and command[-1] == "-q"
        assert Path(command[-2]).parent == folder
    assert not folder.exists(), "a dry run writes nothing"


def test_repetitions_take_documented_seeds_and_never_share_a_file(tmp_path: Path) -> None:
    """docs/plans.md: repetition r of a line runs with seed S + (r - 1) * 2^32."""
    plan = write_plan(tmp_path, "range=1..6 seed=1 duration=2\nrange=1..6 seed=2 duration=2\nn=2 duration=2\n")
    commands = local_commands(plan, tmp_path / "out", "--repetitions", "3", "--seed", "9", "--speedup", "25")
    seeds = [int(c[c.index("--seed") + 1]) for c in commands]
    assert seeds == [1, 4294967297, 8589934593, 2, 4294967298, 8589934594, 9, 4294967305, 8589934601]
    files = [c[c.index("-o") + 1] for c in commands]
    assert len(set(files)) == 9
    assert [Path(f).name for f in files[:3]] == ["config1-rep1-seed1.h5", "config1-rep2-seed4294967297.h5",
                                                 "config1-rep3-seed8589934593.h5"]
    # --speedup fills in for the lines that do not set it; a line's own value wins.
    assert all(c[c.index("--speedup") + 1] == "25" for c in commands)
    own = local_commands(write_plan(tmp_path, "n=2 speedup=40\n", "own.plan"), tmp_path / "o2", "--speedup", "25")
    assert own[0].count("--speedup") == 1 and own[0][own[0].index("--speedup") + 1] == "40"


# The 0.975 quantiles of Student's t as printed in the NIST/SEMATECH e-Handbook of Statistical
# Methods, table 1.3.6.7.2 (three decimals), and the normal 1.960 for infinitely many.
PUBLISHED_T = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
               10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110, 18: 2.101,
               19: 2.093, 20: 2.086, 25: 2.060, 30: 2.042, 40: 2.021, 50: 2.009, 60: 2.000, 80: 1.990,
               100: 1.984, 10 ** 6: 1.960}


def test_t_quantiles_match_the_published_table() -> None:
    for df, t in PUBLISHED_T.items():
        assert abs(t_quantile(df) - t) <= 0.0006, (df, t_quantile(df), t)
    for df in range(1, 300):  # between entries the table falls monotonically
        assert t_quantile(df + 1) < t_quantile(df)
    with pytest.raises(ValueError):
        t_quantile(0)


def test_interval_is_student_t_over_the_sample_deviation() -> None:
    values = [3.0, 7.0, 4.0, 6.0]
    iv = interval(values)
    s = statistics.stdev(values)  # n - 1 in the denominator
    assert iv.mean == 5.0 and iv.n == 4
    assert abs(iv.half_width - 3.182 * s / 2) <= 0.0005 * s / 2
    assert iv.low == iv.mean - iv.half_width and iv.high == iv.mean + iv.half_width
    one = interval([2.5])
    assert (one.mean, one.half_width, one.low) == (2.5, None, None)  # undefined, not 0
    assert format_interval(one) == "2.50 (1 run)" and format_interval(iv, 1) == f"5.0 ± {iv.half_width:.1f}"
    gap: List[Optional[float]] = [1.0, None]
    assert interval(gap).half_width is None and math.isnan(interval(gap).mean)
    assert format_interval(interval(gap)) == "-"
