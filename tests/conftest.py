"""Shared by every pytest suite under tests/: makes tests/runs.py importable, and turns skips into
failures. A skipped test fails the run unless CLOCKBENCH_ALLOW_SKIP names it (comma-separated
fnmatch patterns over test ids, e.g. "*test_slurm.py::*" on a machine without Slurm); every skip
prints one line, allowed or not, even under -q."""

import fnmatch
import os
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

ALLOW_SKIP = "CLOCKBENCH_ALLOW_SKIP"
_skips: List[Tuple[str, str]] = []  # (test id, reason)


def allowed_patterns() -> List[str]:
    return [p.strip() for p in os.environ.get(ALLOW_SKIP, "").split(",") if p.strip()]


def is_allowed(nodeid: str, patterns: List[str]) -> bool:
    return any(fnmatch.fnmatchcase(nodeid, p) for p in patterns)


def pytest_runtest_logreport(report) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skips.append((report.nodeid, reason))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session, exitstatus) -> None:
    patterns = allowed_patterns()
    if any(not is_allowed(nodeid, patterns) for nodeid, _ in _skips) and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter) -> None:
    patterns = allowed_patterns()
    for nodeid, reason in _skips:
        verdict = f"allowed by {ALLOW_SKIP}" if is_allowed(nodeid, patterns) else f"not allowed: a failure (set {ALLOW_SKIP} to allow it)"
        terminalreporter.write_line(f"SKIPPED {nodeid}: {reason} [{verdict}]")
