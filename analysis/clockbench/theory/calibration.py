"""The measured false-failure rates of the theory checks (compare.py), as the calibration left
them in calibration.json: written by tests/analysis/calibrate.py --full --json, which replays
hundreds of runs per configuration of a grid with the independent simulator of docs/model.md and
counts how often each check fails a run that follows the model. One source for the figures that
`summary --help`, the report's notes and the README's theory section print. The method, the grid
and the file's fields: docs/theory.md, "Calibration"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional

FIGURES = Path(__file__).with_name("calibration.json")


def load(path: Path = FIGURES) -> Optional[Dict]:
    """The figures, or None if this installation has none."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def rate_lines(data: Optional[Dict] = None) -> List[str]:
    """One line per check: its worst configuration's measured false-failure rate and how many
    configurations are above the target."""
    data = load() if data is None else data
    if not data:
        return ["measured false-failure rates: not available (no calibration.json)"]
    target, runs = data["target"], min(c["runs"] for c in data["configs"].values())
    lines = [f"measured false-failure rates (worst machine of each of {len(data['configs'])} configurations, "
             f"{runs}+ simulated runs each; target {target:.0%}):"]
    for q, d in data["quantities"].items():
        over = [name for name, c in d["configs"].items() if c["rate"] > target]
        worst = d["configs"][d["worst_config"]]
        text = (f"  {q}: at most {worst['rate']:.2%} ({d['worst_config']}, machine {worst['machine']})"
                if worst["rate"] > 0 else f"  {q}: no failure in any configuration")
        if over:
            text += f"; above {target:.0%} in {len(over)}: {', '.join(over)}"
        lines.append(text)
    return lines


def markdown_table(data: Optional[Dict] = None) -> str:
    """The README's table: per check, the worst configuration and every one above the target."""
    data = load() if data is None else data
    rows = ["| check | worst configuration | false failures | 95 % upper bound | above 1 % in |",
            "|---|---|---|---|---|"]
    for q, d in data["quantities"].items():
        name = d["worst_config"]
        c = d["configs"][name]
        over = [n for n, x in d["configs"].items() if x["rate"] > data["target"]]
        rows.append(f"| `{q}` | {name} (machine {c['machine']}) | {c['fails']}/{c['runs']} = {c['rate']:.2%} | "
                    f"{c['upper95']:.2%} | {', '.join(over) or 'none'} |")
    return "\n".join(rows)
