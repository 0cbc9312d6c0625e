"""A broken installation of the analysis (its copy of the file format's table gone) starts with one
line naming the problem and where the table was looked for, exit 2, for every subcommand: never a
traceback. The package is copied without the table into a folder outside the checkout, with no
clockbench program found, so no fallback can find it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "analysis" / "clockbench"


@pytest.mark.parametrize("args", [["--version"], ["verify", "x.h5"], ["summary", "--help"]])
def test_missing_format_table_is_one_line(tmp_path: Path, args) -> None:
    copy = tmp_path / "site" / "clockbench"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "clockbench-1.json"))
    env = {k: v for k, v in os.environ.items() if k != "CLOCKBENCH_BIN"}
    env["PATH"] = "/usr/bin:/bin"  # no clockbench program, whose prefix could hold share/clockbench
    code = "import sys; from clockbench.launch import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=tmp_path, env={**env, "PYTHONPATH": str(copy.parent)},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("clockbench-analyze: error: the file format's table clockbench-1.json is in none of:")
    assert str(copy / "file" / "clockbench-1.json") in lines[0] and "Traceback" not in proc.stderr
