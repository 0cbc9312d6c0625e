"""tests/conftest.py turns a skip into a failure unless CLOCKBENCH_ALLOW_SKIP names it, and prints
a line per skip even under -q: checked on a small suite run by its own pytest."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
SUITE = '''
import pytest

def test_runs():
    assert True

def test_skips():
    pytest.skip("no widget here")
'''


def run(tmp_path: Path, allow: str = None, body: str = SUITE) -> subprocess.CompletedProcess:
    (tmp_path / "test_suite.py").write_text(body)
    env = dict(os.environ, PYTHONPATH=str(TESTS))
    env.pop("CLOCKBENCH_ALLOW_SKIP", None)
    if allow is not None:
        env["CLOCKBENCH_ALLOW_SKIP"] = allow
    return subprocess.run(["/usr/bin/python3", "-m", "pytest", "-q", "-p", "conftest", "-p", "no:cacheprovider",
                           "--rootdir", str(tmp_path), str(tmp_path / "test_suite.py")],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)


def test_a_skip_fails_the_run_and_says_so(tmp_path: Path) -> None:
    res = run(tmp_path)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "SKIPPED test_suite.py::test_skips: Skipped: no widget here [not allowed" in res.stdout, res.stdout


def test_an_allowed_skip_passes_and_still_says_so(tmp_path: Path) -> None:
    res = run(tmp_path, allow="*other*, *::test_skips")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SKIPPED test_suite.py::test_skips: Skipped: no widget here [allowed by CLOCKBENCH_ALLOW_SKIP]" in res.stdout


def test_a_pattern_for_another_test_does_not_allow_it(tmp_path: Path) -> None:
    assert run(tmp_path, allow="*::test_runs").returncode == 1


def test_no_skip_no_line(tmp_path: Path) -> None:
    res = run(tmp_path, body="def test_runs():\n    assert True\n")
    assert res.returncode == 0 and "SKIPPED" not in res.stdout, res.stdout
