"""clockbench-analyze starts without the plotting library: matplotlib costs about a third of a
second per call (the Slurm sweep calls the tool twice per task, the tests hundreds of times) and
only the commands that draw need it. A module count, not a timing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ANALYSIS = Path(__file__).resolve().parents[2] / "analysis"


def loaded_after(statement: str) -> set:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ANALYSIS, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.split())


def test_the_command_line_does_not_load_matplotlib() -> None:
    mods = loaded_after("import clockbench.cli")
    assert "clockbench.documents.scaling" in mods  # the subcommands are registered ...
    assert not any(m == "matplotlib" or m.startswith("matplotlib.") for m in mods)  # ... without plotting


def test_drawing_the_scaling_plot_loads_it() -> None:
    mods = loaded_after("import clockbench.documents.scaling as s; s.scaling_figure([])")
    assert "matplotlib.figure" in mods
