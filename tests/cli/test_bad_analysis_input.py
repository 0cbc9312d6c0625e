"""Bad input to clockbench-analyze: files that are not clockbench/1 runs (not HDF5, another schema,
truncated, a missing field or attribute, a field of the wrong type, an empty run) and bad
arguments. Each case asserts the exit code, the words of the one error line, that nothing was
written or overwritten, and no hang (a timeout that only catches one). Also: the analysis never executes anything it reads."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List, Tuple

import h5py
import numpy as np
import pytest

from runs import ANALYZE, HANG_S, ROOT, run


# name, arguments, words the error must contain (files are made by `bad_files`).
CASES: List[Tuple[str, List[str], str]] = [
    ("verify: not HDF5", ["verify", "text.h5"], "text.h5: not an HDF5 file"),
    ("verify: truncated", ["verify", "trunc.h5"], "trunc.h5: unreadable HDF5 file"),
    ("verify: other schema", ["verify", "other.h5"], "schema is 'other/2', expected 'clockbench/1'"),
    ("verify: missing field", ["verify", "nofield.h5"], "missing dataset(s): /events/lamport"),
    ("verify: missing attribute", ["verify", "noattr.h5"], "missing root attribute(s): n_machines"),
    ("verify: field of the wrong type", ["verify", "wrongtype.h5"], "wrongtype.h5"),
    ("verify: missing file", ["verify", "missing.h5"], "missing.h5: no such file"),
    ("verify: a folder", ["verify", "."], "is a directory, not an HDF5 file"),
    ("verify: empty run", ["verify", "empty.h5"], "empty.h5: no events"),
    ("summary: empty run", ["summary", "empty.h5"], "empty.h5: no events"),
    ("summary: nothing", ["summary"], "the following arguments are required: FILE"),
    ("theory: one rate", ["theory", "--rates", "1"], "need at least 2 positive rates"),
    ("theory: non-numeric rate", ["theory", "--rates", "1,x"], "'1,x' is not a comma-separated list of numbers"),
    ("theory: zero rate", ["theory", "--rates", "1,0,2"], "need at least 2 positive rates"),
    ("theory: p above 1", ["theory", "--rates", "1,2", "--p-internal", "2"], "--p-internal must be in [0, 1]"),
    ("theory: unknown topology", ["theory", "--rates", "1,2", "--topology", "star"], "topology 'star' is not full, ring or random:K"),
    ("theory: no rates, no file", ["theory"], "one of the arguments --rates FILE is required"),
    ("theory: not HDF5", ["theory", "text.h5"], "text.h5: not an HDF5 file"),
    ("experiment: unknown", ["experiment", "nosuch"], "unknown experiment 'nosuch' (known: assignment)"),
    ("experiment: bad speedup", ["experiment", "assignment", "--speedup", "0"], "must be a positive number"),
    ("report: nothing", ["report"], "the following arguments are required: FILE"),
    ("report: only bad files", ["report", "text.h5", "other.h5", "-o", "rep"], "text.h5: not an HDF5 file"),
    ("report: onto an existing file", ["report", "good.h5", "-o", "good.h5"], "good.h5: cannot write the report"),
    ("config: not HDF5", ["config", "text.h5"], "text.h5: not an HDF5 file"),
    ("scaling: not HDF5", ["scaling", "text.h5", "-o", "sc"], "no scaling report written"),
    ("unknown command", ["bogus"], "invalid choice: 'bogus'"),
    # Plans (docs/plans.md): nothing may run, so no results/ folder appears.
    ("experiment --plan: unknown key", ["experiment", "--plan", "badkey.plan", "--repetitions", "2"],
     "badkey.plan line 3: 'rates=1,2 colour=red': unknown key 'colour' (known: rates range fractional n"),
    ("experiment --plan: malformed line", ["experiment", "--plan", "malformed.plan"],
     "malformed.plan line 1: 'rates=1,2 duration': 'duration' is not key=value"),
    ("experiment --plan: 0 repetitions", ["experiment", "--plan", "good.plan", "--repetitions", "0"],
     "argument --repetitions: needs at least 1 repetition, got 0"),
    ("experiment --plan: negative repetitions", ["experiment", "--plan", "good.plan", "--repetitions", "-3"],
     "argument --repetitions: needs at least 1 repetition, got -3"),
    ("experiment --plan: repetitions not a number", ["experiment", "--plan", "good.plan", "--repetitions", "2.5"],
     "argument --repetitions: '2.5' is not a whole number"),
    ("experiment --plan: missing plan", ["experiment", "--plan", "nosuch.plan"], "plan file 'nosuch.plan' not found"),
    ("experiment --plan: empty plan", ["experiment", "--plan", "empty.plan"], "the plan has no configuration line"),
    ("experiment: a name and a plan", ["experiment", "assignment", "--plan", "good.plan"],
     "give a matrix NAME or --plan FILE (one of the two)"),
    ("experiment: neither name nor plan", ["experiment"], "give a matrix NAME or --plan FILE (one of the two)"),
    ("experiment: repetitions of a matrix", ["experiment", "assignment", "--repetitions", "2"],
     "--repetitions goes with --plan, not with a matrix NAME"),
    ("plan: unknown key", ["plan", "badkey.plan"], "badkey.plan line 3: 'rates=1,2 colour=red': unknown key 'colour'"),
    ("plan: line 0", ["plan", "good.plan", "--line", "0"], "configurations are numbered from 1, got 0"),
    ("plan: past the end", ["plan", "good.plan", "--line", "3"], "there is no configuration 3"),
    ("scaling: 0 repetitions", ["scaling", "good.h5", "--repetitions", "0", "-o", "sc"],
     "argument --repetitions: needs at least 1 repetition, got 0"),
    ("scaling: a point short of its repetitions", ["scaling", "good.h5", "--repetitions", "2", "-o", "sc"],
     "no scaling report written: topology full, N=2: 1 run(s) with seeds 3; --repetitions 2 needs 2 runs"),
]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bad")
    proc = run(2, ["--duration", "1", "--speedup", "10", "--seed", "3", "-q", "-o", "good.h5"], folder)
    assert proc.returncode == 0, proc.stderr
    good = folder / "good.h5"
    (folder / "text.h5").write_text("hello, not HDF5\n")
    (folder / "good.plan").write_text("rates=1,2 duration=1 speedup=50 seed=1\n")
    (folder / "badkey.plan").write_text("rates=1,2 seed=1\n# the next line is wrong\nrates=1,2 colour=red\n")
    (folder / "malformed.plan").write_text("rates=1,2 duration\n")
    (folder / "empty.plan").write_text("# no configuration\n")
    (folder / "trunc.h5").write_bytes(good.read_bytes()[:3000])

    def variant(name: str, change) -> None:
        shutil.copy(good, folder / name)
        with h5py.File(folder / name, "a") as f:
            change(f)

    variant("other.h5", lambda f: f.attrs.__setitem__("schema", "other/2"))
    variant("nofield.h5", lambda f: f["events"].__delitem__("lamport"))
    variant("noattr.h5", lambda f: f.attrs.__delitem__("n_machines"))

    def wrong_type(f: h5py.File) -> None:
        n = f["events/lamport"].shape[0]
        del f["events/lamport"]
        f["events"].create_dataset("lamport", data=np.array([b"x"] * n, dtype="S1"))

    variant("wrongtype.h5", wrong_type)

    def emptied(f: h5py.File) -> None:
        for k in list(f["events"]):
            d = f["events"][k]
            a, dt = dict(d.attrs), d.dtype
            del f["events"][k]
            f["events"].create_dataset(k, shape=(0,), dtype=dt).attrs.update(a)
        for k in ("ticks", "sent", "received", "left_in_queue"):
            f["machines"][k][:] = 0
        for k in ("sent", "received", "left_in_queue"):
            f["network"][k][:] = 0

    variant("empty.h5", emptied)
    return folder


def snapshot(folder: Path) -> Dict[str, Tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


@pytest.mark.parametrize("name,args,words", CASES, ids=[c[0] for c in CASES])
def test_bad_analysis_input(name: str, args: List[str], words: str, bad_files: Path) -> None:
    before = snapshot(bad_files)
    proc = subprocess.run(["/usr/bin/python3", str(ANALYZE), *args], cwd=bad_files, capture_output=True, text=True,
                          timeout=HANG_S)
    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    errors = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert errors and all(re.match(r"clockbench-analyze( \w+)?: error: ", ln) for ln in errors), proc.stderr
    assert any(words in ln for ln in errors), proc.stderr
    assert "Traceback" not in proc.stderr
    assert snapshot(bad_files) == before, "a refused command must not write or change anything"


# Calls that would run code or shell text taken from a file, or unpickle one.
FORBIDDEN = [r"\bpickle\b", r"\beval\(", r"\bexec\(", r"yaml\.load\(", r"shell\s*=\s*True", r"\bos\.system\(",
             r"\bmarshal\b", r"__import__\(", r"\.dereference\(", r"h5py\.(Reference|RegionReference|ref_dtype)",
             r"np\.load\([^)]*allow_pickle\s*=\s*True"]


def test_analysis_never_executes_what_it_reads() -> None:
    sources = list((ROOT / "analysis").rglob("*.py")) + [ROOT / "analysis" / "clockbench-analyze"]
    hits = []
    for path in sources:
        for i, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            hits += [f"{path}:{i}: {line.strip()}" for pat in FORBIDDEN if re.search(pat, code)]
    assert not hits, "\n".join(hits)
