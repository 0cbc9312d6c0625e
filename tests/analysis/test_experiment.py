"""`clockbench-analyze experiment`: the assignment matrix, shortened, gives 15 verified files and a
notebook whose trial table lists every seed; unknown names and existing output are refused."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from runs import ANALYZE, BIN

SEED_BASE = 100
VARIANTS = ["A"] * 5 + ["B"] * 5 + ["C"] * 5


@pytest.fixture(scope="module")
def experiment(tmp_path_factory: pytest.TempPathFactory):
    """The assignment at 5 model seconds per run and 50x (its run time: docs/measurements.md)."""
    out = tmp_path_factory.mktemp("exp") / "assignment"
    proc = subprocess.run(["/usr/bin/python3", str(ANALYZE), "experiment", "assignment", "--duration", "5",
                           "--speedup", "50", "--seed", str(SEED_BASE), "-o", str(out), "--clockbench", str(BIN)],
                          capture_output=True, text=True, timeout=120)
    return out, proc


def trial_rows(markdown: str) -> list:
    """The rows of the table under '## Trials', as lists of cells."""
    section = markdown.split("## Trials", 1)[1].split("\n\n", 2)[1]
    lines = [ln for ln in section.splitlines() if ln.startswith("|")][2:]  # after header and rule
    return [[c.strip() for c in ln.strip("|").split("|")] for ln in lines]


def test_assignment_runs_verifies_and_writes_the_notebook(experiment, cli) -> None:
    out, proc = experiment
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    progress = [ln for ln in proc.stdout.splitlines() if ln.startswith("run ")]
    assert len(progress) == 15
    for k, (line, variant) in enumerate(zip(progress, VARIANTS)):
        assert line.startswith(f"run {k + 1}/15: variant {variant}, seed {SEED_BASE + k}, rates "), line
        assert "verified OK" in line

    files = sorted(out.glob("*.h5"))
    assert len(files) == 15
    v = cli("verify", *files)
    assert v.code == 0, v.out + v.err
    assert len([ln for ln in v.out.splitlines() if ln.startswith("OK ")]) == 15

    md = (out / "notebook.md").read_text(encoding="utf-8")
    rows = trial_rows(md)
    assert len(rows) == 15
    assert [r[0] for r in rows] == [str(k) for k in range(1, 16)]
    assert [r[1] for r in rows] == VARIANTS
    assert [r[2] for r in rows] == [str(SEED_BASE + k) for k in range(15)]
    # The three rates are whole numbers in each variant's range.
    for r in rows:
        rates = [float(x) for x in r[3:6]]
        lo = 4 if r[1] == "B" else 1
        assert all(lo <= x <= 6 and x.is_integer() for x in rates), r
        assert r[-1] == "OK"
        assert r[-2] == "ok" or r[-2].startswith("**DEGRADED ("), r  # the timing verdict
    assert re.search(r"^\| model \| phase random, latency 0 model s, grace [0-9.e-]+ s \|$", md, flags=re.M)
    assert "The mean-field theory already covers phases and latency" in md
    for heading in ("## Setup", "### Observations", "## The variants compared", "### What differs",
                    "## Theory check of every trial"):
        assert heading in md, heading
    assert md.count("\n- Trial ") == 15  # one computed observation per trial
    assert len(re.findall(r"^### Trial \d+: variant", md, flags=re.M)) == 15
    for name in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md):
        assert (out / name).is_file(), name

    page = (out / "notebook.html").read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page
    assert all(s.startswith("data:image/png;base64,") for s in re.findall(r'src="([^"]*)"', page))


def test_unknown_name_is_one_line(tmp_path: Path, cli) -> None:
    res = cli("experiment", "homework", "-o", tmp_path / "x")
    assert res.code == 2
    assert res.err.strip() == "clockbench-analyze: error: unknown experiment 'homework' (known: assignment)"
    assert not (tmp_path / "x").exists()


def test_existing_notebook_is_not_overwritten(tmp_path: Path, cli) -> None:
    out = tmp_path / "exp"
    out.mkdir()
    (out / "notebook.md").write_text("my notes\n")
    res = cli("experiment", "assignment", "--duration", "5", "--speedup", "50", "-o", out, "--clockbench", BIN)
    assert res.code == 2
    lines = [ln for ln in res.err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"clockbench-analyze: error: {out}: ") and "--force" in lines[0]
    assert (out / "notebook.md").read_text() == "my notes\n"
    assert sorted(p.name for p in out.iterdir()) == ["notebook.md"]
