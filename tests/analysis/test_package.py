"""The analysis as a Python package: installed with pip into a virtual environment that sees Debian's
packages (offline: --no-build-isolation --no-index), clockbench-analyze runs outside the checkout
from the installed copy, with the file format's table and the calibration figures as package data;
the API of clockbench/__init__.py gives what the command line prints; the README's pandas and
xarray example runs; both programs' --version name the project's version."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest

import clockbench
from clockbench.file.run_file import write_run
from clockbench.file.schema import GROUPS
from model_sim import simulate_model

ROOT = Path(__file__).resolve().parents[2]
README_EXAMPLE = "<!-- the API example: tests/analysis/test_package.py runs it -->"


def clean_env() -> Dict[str, str]:
    """The environment without anything that would make Python find the checkout's package."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def sh(args: List[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=clean_env(), capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A virtual environment with system site packages and the package installed from a copy of the
    checkout's analysis/ and schema/ (setuptools builds beside pyproject.toml: not in the shared
    checkout). The copy keeps the tracked link analysis/clockbench/file/clockbench-1.json ->
    schema/clockbench-1.json, so the build follows the link as it would in the checkout."""
    base = tmp_path_factory.mktemp("package")
    src = base / "src"
    shutil.copytree(ROOT / "analysis", src / "analysis", symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    shutil.copytree(ROOT / "schema", src / "schema")
    assert (src / "analysis" / "clockbench" / "file" / "clockbench-1.json").is_symlink()
    made = sh(["/usr/bin/python3", "-m", "venv", "--system-site-packages", base / "venv"], base)
    assert made.returncode == 0, made.stdout + made.stderr + "\n(python3-venv: scripts/install-deps)"
    # --no-deps: Debian's h5py is the distribution h5py._debian_h5py_serial, which pip does not take for h5py.
    pip = sh([base / "venv" / "bin" / "pip", "install", "--no-build-isolation", "--no-index", "--no-deps",
              "--no-cache-dir", src / "analysis"], base, timeout=600)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    return base / "venv"


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory) -> Path:
    """A folder outside the checkout holding a small run file."""
    folder = tmp_path_factory.mktemp("elsewhere")
    write_run(folder / "trial5.h5", simulate_model(rates=(1.0, 2.0, 6.0), duration_s=20.0, seed=5))
    return folder


def installed(venv: Path, code: str, cwd: Path) -> str:
    res = sh([venv / "bin" / "python", "-c", code], cwd)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_the_installed_package_carries_its_data(venv: Path, elsewhere: Path) -> None:
    out = installed(venv, "import clockbench, clockbench.file.schema as s, clockbench.theory.calibration as c\n"
                    "print(clockbench.__file__); print(s.TABLE_PATH); print(c.FIGURES); print(clockbench.__version__)",
                    elsewhere).splitlines()
    site = venv / "lib"
    package, table, figures, version = map(str.strip, out)
    for path in (package, table, figures):
        assert Path(path).is_relative_to(site), f"{path} is not the installed copy under {site}"
    assert Path(table) == Path(package).parent / "file" / "clockbench-1.json"
    assert not Path(table).is_symlink(), "the installed table must be the file, not a link back to a checkout"
    assert Path(table).read_bytes() == (ROOT / "schema" / "clockbench-1.json").read_bytes()
    assert Path(figures).read_bytes() == (ROOT / "analysis" / "clockbench" / "theory" / "calibration.json").read_bytes()
    assert version == clockbench.__version__
    # Declared: what Debian gives, nothing else; each imported from the system site packages.
    out = installed(venv, "import importlib.metadata as m, numpy, h5py, matplotlib\n"
                    "print(sorted(r for r in m.requires('clockbench') if 'extra' not in r))\n"
                    "print(numpy.__file__, h5py.__file__, matplotlib.__file__)", elsewhere).splitlines()
    assert out[0] == str(["h5py", "matplotlib", "numpy"])
    assert all(p.startswith("/usr/lib/python3/dist-packages/") for p in out[1].split()), out[1]


def test_the_entry_point_runs_outside_the_checkout(venv: Path, elsewhere: Path, cli) -> None:
    exe = venv / "bin" / "clockbench-analyze"
    assert exe.read_text().splitlines()[0].startswith(f"#!{venv / 'bin' / 'python'}")  # the venv's, not /usr/bin's
    res = sh([exe, "--version"], elsewhere)
    assert (res.returncode, res.stdout, res.stderr) == (0, f"clockbench-analyze {clockbench.__version__}\n", "")
    res = sh([exe, "verify", "trial5.h5"], elsewhere)
    assert res.returncode == 0 and res.stdout.startswith("OK trial5.h5: 3 machines"), res.stdout + res.stderr
    res = sh([exe, "summary", "--help"], elsewhere)
    assert res.returncode == 0 and "measured false-failure rates (worst machine" in res.stdout, res.stdout
    # The installed program says what the checkout's says, to the digit.
    res = sh([exe, "summary", "--format", "json", "trial5.h5"], elsewhere)
    assert res.returncode == 0, res.stderr
    here = cli("summary", "--format", "json", elsewhere / "trial5.h5")
    ours = json.loads(here.out)
    ours["runs"][0]["file"] = "trial5.h5"
    assert json.loads(res.stdout) == ours
    res = sh([exe, "theory", "--rates", "1,2,6", "--format", "csv"], elsewhere)
    assert res.returncode == 0 and res.stdout == cli("theory", "--rates", "1,2,6", "--format", "csv").out
    res = sh([exe, "summary", "missing.h5"], elsewhere)
    assert res.returncode == 2 and res.stderr.startswith("clockbench-analyze: error: missing.h5") \
        and res.stderr.count("\n") == 1
    assert sorted(p.name for p in elsewhere.iterdir()) == ["trial5.h5"]


def test_the_api_gives_what_the_command_line_prints(elsewhere: Path, cli) -> None:
    path = elsewhere / "trial5.h5"
    run = clockbench.open_run(path)
    events = clockbench.columns(run)
    assert set(events) == set(GROUPS["events"]) and {v.shape for v in events.values()} == {(run.n_events,)}
    assert all(isinstance(v, np.ndarray) for v in events.values())
    machines = clockbench.columns(str(path), "machines")
    assert {v.shape for v in machines.values()} == {(3,)} and list(machines["rate_hz"]) == [1.0, 2.0, 6.0]
    assert clockbench.columns(run, "network")["sent"].shape == (3, 3)
    with pytest.raises(ValueError, match="unknown group"):
        clockbench.columns(run, "config")
    summary = clockbench.summary(run)
    json.dumps(summary, allow_nan=False)  # plain data
    assert summary == json.loads(cli("summary", "--format", "json", path).out)["runs"][0]
    assert clockbench.summary(str(path)) == summary
    theory = clockbench.prediction([1, 2, 6])
    printed = json.loads(cli("theory", "--rates", "1,2,6", "--format", "json").out)
    assert theory == {k: v for k, v in printed.items() if k not in ("format", "source", "closed_form")}
    printed = json.loads(cli("theory", path, "--format", "json").out)
    assert clockbench.prediction(run=path) == {k: v for k, v in printed.items()
                                           if k not in ("format", "source", "closed_form")}
    assert clockbench.prediction(run=run)["rows"] == summary["theory"]["rows"]
    with pytest.raises(ValueError):
        clockbench.prediction()
    (elsewhere.parent / "not.h5").write_bytes(b"not hdf5")
    with pytest.raises(clockbench.SchemaError, match="not.h5"):
        clockbench.open_run(elsewhere.parent / "not.h5")
    assert clockbench.KIND_NAMES == ("internal", "send-one", "send-all", "receive")
    assert clockbench.scaling([path]) == json.loads(cli("scaling", path, "--format", "json").out)["runs"]
    for name in clockbench.__all__:
        assert getattr(clockbench, name) is not None, name
        if callable(getattr(clockbench, name)) and not isinstance(getattr(clockbench, name), type):
            assert getattr(clockbench, name).__doc__, f"{name} has no docstring"


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    assert README_EXAMPLE in text, "the README's API example lost its marker"
    block = re.search(r"```python\n(.*?)```", text[text.index(README_EXAMPLE):], re.S)
    return block.group(1)


def test_the_readme_example_runs(venv: Path, elsewhere: Path) -> None:
    """The README's example, as written, on trial5.h5 with the installed package (pandas and xarray
    are Debian's python3-pandas and python3-xarray, which scripts/install-deps installs)."""
    missing = [m for m in ("pandas", "xarray") if sh([sys.executable, "-c", f"import {m}"], elsewhere).returncode]
    assert not missing, f"{', '.join(missing)} not installed: run scripts/install-deps (python3-pandas, python3-xarray)"
    (elsewhere.parent / "example.py").write_text(readme_example())
    res = sh([venv / "bin" / "python", elsewhere.parent / "example.py"], elsewhere)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "achieved_hz" in res.stdout and "lamport" in res.stdout, res.stdout


def test_the_versions_are_the_projects() -> None:
    """One version: CMakeLists.txt's project(VERSION), which clockbench --version prints (tested in
    test_json_output.py); clockbench-analyze in a checkout adds the commit as clockbench does."""
    cmake = (ROOT / "CMakeLists.txt").read_text()
    assert re.search(r"project\(clockbench VERSION (\S+)", cmake).group(1) == clockbench.__version__
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    res = subprocess.run(["/usr/bin/python3", str(ROOT / "analysis" / "clockbench-analyze"), "--version"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert re.fullmatch(rf"clockbench-analyze {re.escape(clockbench.__version__)} \(git {sha}(-dirty)?\)\n",
                        res.stdout), res.stdout
