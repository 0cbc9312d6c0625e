"""The /config text, rendered in C++ (src/core/config_text.cpp, as clockbench stores it) and in Python
(analysis/clockbench/file/config_text.py: recover, the synthetic files), is one text: the same
configurations rendered by both compare equal, character for character. And every /config a file
stores, written by a run (paced, ring, fractional rates, flat out) or by recover (paced, flat out),
reruns with `clockbench --config` as the same experiment."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

import h5py
import numpy as np
import pytest

from conftest import ROOT, run_cli
from model_sim import simulate_model
from runs import run
from test_recover import write_journal

from clockbench.file import config_text
from clockbench.file.schema import read_config_text

# tests/app/print_config_text.cpp, built beside the tests (ctest says where).
PRINTER = Path(os.environ.get("CLOCKBENCH_CONFIG_TEXT", ROOT / "build" / "tests" / "clockbench_config_text"))
VERSION = re.search(r"project\(clockbench VERSION (\S+)", (ROOT / "CMakeLists.txt").read_text()).group(1)


@dataclass
class Setting:
    """One configuration, as a command line and as the renderer's arguments."""

    n: int
    rates: Optional[List[float]]  # None: flat out
    seed: int
    max_ticks: int = 5000000
    duration_s: float = 60.0
    p_internal: float = 0.7
    topology: str = "full"
    speedup: float = 1.0
    phase: str = "random"
    latency: Tuple = ("0",)  # a constant, ("uniform", lo, hi) or ("exp", mean), numbers as typed
    grace_s: float = 0.01
    extra: List[str] = field(default_factory=list)

    def argv(self) -> List[str]:
        rates = ["--rates", "max", "--max-ticks", str(self.max_ticks)] if self.rates is None else \
            ["--rates", ",".join(repr(r) for r in self.rates)]
        form = self.latency[0] if len(self.latency) > 1 else None
        latency = (f"{form}:" + ",".join(repr(x) for x in self.latency[1:])) if form else str(self.latency[0])
        return [*rates, "--seed", str(self.seed), "--duration", repr(self.duration_s), "--p-internal",
                repr(self.p_internal), "--topology", self.topology, "--speedup", repr(self.speedup), "--phase",
                self.phase, "--latency", latency, "--grace", repr(self.grace_s), *self.extra]

    def python_text(self) -> str:
        form = self.latency[0] if len(self.latency) > 1 else None
        latency = (f"{form}:" + ",".join(config_text.format_number(x) for x in self.latency[1:]) if form
                   else config_text.format_number(float(self.latency[0])))
        return config_text.render(
            header=f"clockbench {VERSION} configuration; rerun with: mpirun -np {self.n} clockbench --config FILE",
            duration_s=self.duration_s, rates=self.rates, p_internal=self.p_internal, seed=self.seed,
            topology=self.topology, speedup=self.speedup, phase=self.phase, latency=latency, grace_s=self.grace_s,
            max_ticks=self.max_ticks if self.rates is None else None)


def cpp_text(s: Setting) -> str:
    assert PRINTER.is_file(), f"{PRINTER} not built (scripts/build builds it)"
    res = subprocess.run([str(PRINTER), str(s.n), *s.argv()], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return res.stdout


_rng = np.random.default_rng(12)
SETTINGS = {
    "classic": Setting(3, [1.0, 2.0, 6.0], seed=1),
    "every-option": Setting(4, [1.0, 2.25, 6.0, 0.1], seed=1234567890123, duration_s=12.5, p_internal=0.3,
                            topology="ring", speedup=20.0, phase="zero", latency=("uniform", 0.125, 0.5),
                            grace_s=0.004),
    "fractional": Setting(3, [1 / 3, 2 / 3, 5.05], seed=2 ** 64 - 1, duration_s=1000.0, p_internal=0.0001,
                          speedup=100000.0, latency=("exp", 0.2), grace_s=0.0),
    "flat-out": Setting(3, None, seed=7, max_ticks=123456, duration_s=2.0, latency=("0.05",)),
    "random-topology": Setting(8, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 1.5, 2.5], seed=8, topology="random:4"),
    # Numbers across magnitudes, where fixed and scientific notation trade places (to_chars: shorter wins).
    "magnitudes": Setting(64, [float(10 ** x) for x in _rng.uniform(-3, 6, 64)], seed=3, duration_s=0.001,
                          p_internal=1e-05, latency=("uniform", 1e-07, 123456.0), grace_s=0.001),
    "round-numbers": Setting(8, [1e-3, 0.01, 1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0], seed=4,
                             duration_s=0.0001, latency=("1e-09",), speedup=1000.0),
}


@pytest.mark.parametrize("name", SETTINGS)
def test_cpp_and_python_render_the_same_text(name: str) -> None:
    s = SETTINGS[name]
    assert s.python_text() == cpp_text(s)


def test_the_comparison_finds_a_number_written_otherwise() -> None:
    """A renderer that wrote 0.0001 as 0.0001 (to_chars: 1e-04) would be caught."""
    s = SETTINGS["fractional"]
    assert "p-internal=1e-04\n" in cpp_text(s)
    assert s.python_text().replace("p-internal=1e-04", "p-internal=0.0001") != cpp_text(s)


@pytest.mark.parametrize("x, text", [(0.0001, "1e-04"), (0.001, "0.001"), (100000.0, "1e+05"), (10000.0, "10000"),
                                     (0.1, "0.1"), (1 / 3, "0.3333333333333333"), (123456.0, "123456"),
                                     (1e21, "1e+21"), (2.5e-300, "2.5e-300"), (-0.5, "-0.5"), (0.0, "0")])
def test_format_number_is_to_chars(x: float, text: str) -> None:
    assert config_text.format_number(x) == text


# ------------------------------------------------------------------ every stored /config reruns

def _body(text: str) -> str:
    """The configuration without its header comment (which says who wrote it)."""
    return "".join(line for line in text.splitlines(True) if not line.startswith("#"))


def _rerun(folder: Path, text: str, n: int) -> str:
    """Reruns `text` with clockbench --config on `n` ranks; returns the /config the rerun stored."""
    cfg = folder / "rerun.toml"
    cfg.write_text(text)
    out = folder / "rerun.h5"
    res = run(n, ["--config", cfg, "-o", out, "-q"], folder)
    assert res.returncode == 0, f"clockbench --config refused or failed:\n{text}\n{res.stderr}"
    return read_config_text(out)


@pytest.mark.parametrize("argv", [
    ["--rates", "2,3,5", "--duration", "1", "--speedup", "10", "--seed", "5"],
    ["--rates", "4,1.5,2,3", "--topology", "ring", "--duration", "1", "--speedup", "8", "--seed", "6",
     "--latency", "uniform:0.01,0.2", "--phase", "zero"],
    ["--fractional-rates", "--rate-min", "1", "--rate-max", "6", "--duration", "1", "--speedup", "10", "--seed", "8",
     "--p-internal", "0.55"],
    ["--rates", "max", "--max-ticks", "20000", "--duration", "0.3", "--seed", "9"],
], ids=["paced", "ring", "fractional", "flat-out"])
def test_a_written_files_config_reruns_the_same_experiment(tmp_path: Path, argv: List[str]) -> None:
    n = 4 if "ring" in argv else 3
    out = tmp_path / "run.h5"
    res = run(n, [*argv, "-o", out, "-q"], tmp_path)
    assert res.returncode == 0, res.stderr
    stored = read_config_text(out)
    assert _body(_rerun(tmp_path, stored, n)) == _body(stored)


@pytest.mark.parametrize("kwargs", [{"latency": "0.05"}, {"flat_out": True, "latency": "0"}],
                         ids=["paced", "flat-out"])
def test_a_recovered_files_config_reruns_the_same_experiment(tmp_path: Path, kwargs: dict) -> None:
    """The known bug of a recovered flat-out run (rates=[inf,...], no max-ticks) would fail here."""
    d = simulate_model(rates=(3.0, 4.0, 5.0, 8.0), duration_s=2.0, **kwargs)
    journal = write_journal(tmp_path / "run.h5.5.journal", d, 3, flushed=(1.5, 1.9, 1.7, 1.8))
    out = tmp_path / "recovered.h5"
    assert run_cli("recover", journal, "-o", out).code == 0
    stored = read_config_text(out)
    assert _body(_rerun(tmp_path, stored, 4)) == _body(stored)
    assert ('rates=["max"]\nmax-ticks=100000\n' in stored) == bool(kwargs.get("flat_out")) and "inf" not in stored
    with h5py.File(out, "r") as f:
        assert int(f.attrs["recovered"]) == 1
