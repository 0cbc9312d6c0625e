"""The `--window T0:T1` of the commands that show part of a run (spacetime, export)."""

from __future__ import annotations

import math
from typing import Tuple


def parse_window(text: str) -> Tuple[float, float]:
    """'T0:T1' in model seconds; either side may be left out (the run's start or end: -inf, inf).
    ValueError, with a one-line message, for anything else or for T0 >= T1."""
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        lo = float(parts[0]) if parts[0].strip() else -math.inf
        hi = float(parts[1]) if parts[1].strip() else math.inf
    except ValueError:
        raise ValueError(f"--window takes T0:T1 in model seconds (either may be left out), got '{text}'") from None
    if math.isnan(lo) or math.isnan(hi) or not lo < hi:
        raise ValueError(f"--window {text}: T0 must be below T1")
    return lo, hi
