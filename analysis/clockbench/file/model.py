"""The model's rules in model time that the analysis applies (docs/model.md): tick deadlines and
the latency setting."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CONSTANT, UNIFORM, EXP = "constant", "uniform", "exp"


@dataclass(frozen=True)
class Latency:
    """A `--latency` setting: every message's latency lies in [least, most] model seconds."""

    text: str
    form: str      # CONSTANT, UNIFORM or EXP
    least: float   # D, LO or 0: what the real-time loop waits for
    most: float    # D, HI or infinity

    @property
    def constant(self) -> bool:
        return self.form == CONSTANT


def parse_latency(text: str) -> Latency:
    """`D`, `uniform:LO,HI` or `exp:MEAN` (docs/model.md, "Delivery in model time"); ValueError
    naming the text when it is none of them or a value is negative or not finite."""
    body = text.strip()
    try:
        if body.startswith("uniform:"):
            lo_text, hi_text = body[len("uniform:"):].split(",")
            lo, hi = float(lo_text), float(hi_text)
            form, least, most = UNIFORM, lo, hi
        elif body.startswith("exp:"):
            mean = float(body[len("exp:"):])
            form, least, most = EXP, 0.0, math.inf
            lo = hi = mean
        else:
            lo = hi = float(body)
            form, least, most = CONSTANT, lo, lo
    except ValueError:
        raise ValueError(f"latency '{text}' is not D, uniform:LO,HI or exp:MEAN") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo <= hi):
        raise ValueError(f"latency '{text}': values must be finite and >= 0"
                         + (", LO <= HI" if form == UNIFORM else ""))
    return Latency(text, form, least, most)


def deadlines(phase_s: np.ndarray, tick: np.ndarray, rate_hz: np.ndarray) -> np.ndarray:
    """T_ik = phase_i + (double)k / r_i, elementwise, in the IEEE operations docs/model.md names."""
    return phase_s + tick.astype(np.float64) / rate_hz


def ticks_before(end_s: float, phase_s: float, rate_hz: float) -> int:
    """How many ticks k = 0, 1, ... have a deadline before end_s: the ticks a machine runs."""
    if not end_s > phase_s or not rate_hz > 0:
        return 0
    k = max(0, math.ceil((end_s - phase_s) * rate_hz) - 1)
    # The estimate is off by at most one either way; settle it with the deadline itself.
    while k > 0 and phase_s + float(k - 1) / rate_hz >= end_s:
        k -= 1
    while phase_s + float(k) / rate_hz < end_s:
        k += 1
    return k
