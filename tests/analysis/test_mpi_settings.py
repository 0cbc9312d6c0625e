"""The Open MPI settings have one source, scripts/mpi-env: what the Python runners and CMake read
from it is what a shell that sources it exports, and the README's table names every one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from clockbench.experiment.mpi_settings import SOURCE, mpi_env

ROOT = Path(__file__).resolve().parents[2]


def _sourced() -> dict:
    out = subprocess.run(["env", "-i", "bash", "-c", f"source {SOURCE} && env -0"], check=True,
                         capture_output=True, text=True).stdout
    return dict(kv.split("=", 1) for kv in out.split("\0") if kv.startswith("OMPI_"))


def test_python_reads_what_the_shell_exports() -> None:
    assert mpi_env() == _sourced() and len(mpi_env()) >= 4


def test_a_line_the_reader_would_miss_is_caught(tmp_path: Path) -> None:
    """Planted: two settings on one export line; the shell exports both, the reader one, and the
    comparison above would fail on such a file."""
    planted = tmp_path / "mpi-env"
    planted.write_text("export OMPI_A=1 OMPI_B=2\nexport OMPI_C=3\n")
    assert mpi_env(planted) == {"OMPI_C": "3"}


def test_missing_source_names_it(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="cannot read the Open MPI settings"):
        mpi_env(tmp_path / "absent")


def test_readme_explains_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    assert [name for name in mpi_env() if name not in readme] == []


def test_an_installation_is_found_when_there_is_no_checkout(tmp_path: Path, monkeypatch) -> None:
    """Run from an installed package: no checkout around it, the settings under the clockbench
    program's prefix (share/clockbench/scripts/mpi-env, as `cmake --install` puts them)."""
    from clockbench.experiment import mpi_settings
    from clockbench.file import share
    prefix = tmp_path / "prefix"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "bin" / "clockbench").write_text("#!/bin/sh\n")
    settings = prefix / "share" / "clockbench" / "scripts" / "mpi-env"
    settings.parent.mkdir(parents=True)
    settings.write_text("export OMPI_X=1\n")
    monkeypatch.setattr(share, "CHECKOUT", tmp_path / "no-checkout")
    monkeypatch.setenv("CLOCKBENCH_BIN", str(prefix / "bin" / "clockbench"))
    assert mpi_settings._source() == settings
    settings.unlink()  # found nowhere: the checkout's place is the one the error names
    assert mpi_settings._source() == tmp_path / "no-checkout" / "scripts" / "mpi-env"
