"""The /config text of a clockbench/1 file, rendered in Python: the one renderer of the analysis
(recover, the synthetic files of bench/analysis.py and the tests' files).

It is the text src/core/config_text.cpp renders, key for key and digit for digit (numbers as
std::to_chars writes them: the shortest text that reads back as the same double, fixed or
scientific, whichever is shorter); tests/analysis/test_config_text.py renders the same
configurations with both and compares, and reruns each stored text with `clockbench --config`.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Optional, Sequence


def format_number(x: float) -> str:
    """As std::to_chars(double) without a format: the shortest round-trip digits, in fixed or
    scientific notation, whichever is shorter (fixed on a tie), exponent sign and two digits."""
    x = float(x)
    if math.isnan(x):
        return "-nan" if math.copysign(1.0, x) < 0 else "nan"
    sign = "-" if math.copysign(1.0, x) < 0 else ""
    if math.isinf(x):
        return sign + "inf"
    if x == 0:
        return sign + "0"
    digits_t, exponent = Decimal(repr(abs(x))).normalize().as_tuple()[1:]
    digits, e = "".join(map(str, digits_t)), int(exponent)  # value = digits x 10^e
    n = len(digits)
    if e >= 0:
        fixed = digits + "0" * e
    elif -e < n:
        fixed = digits[:n + e] + "." + digits[n + e:]
    else:
        fixed = "0." + "0" * (-e - n) + digits
    power = e + n - 1
    scientific = (digits[0] + ("." + digits[1:] if n > 1 else "") + "e" + ("-" if power < 0 else "+")
                  + f"{abs(power):02d}")
    return sign + (fixed if len(fixed) <= len(scientific) else scientific)


def render(*, header: str, duration_s: float, rates: Optional[Sequence[float]], p_internal: float, seed: int,
           topology: str, speedup: float, phase: str, latency: str, grace_s: Optional[float],
           max_ticks: Optional[int] = None) -> str:
    """The text `clockbench --config` reads back (CLI11 config file, keys as the options).

    rates None: flat out (`rates=["max"]`, with `max_ticks`). grace_s None: no `grace` key (a run
    recovered from a CBJRNL01 journal had none; the rerun takes clockbench's default)."""
    lines = [f"# {header}", f"duration={format_number(duration_s)}"]
    if rates is None:
        if max_ticks is None:
            raise ValueError("a flat-out configuration needs its max_ticks")
        lines += ['rates=["max"]', f"max-ticks={int(max_ticks)}"]
    else:
        lines.append("rates=[" + ",".join(format_number(r) for r in rates) + "]")
    lines += [f"p-internal={format_number(p_internal)}", f"seed={int(seed)}", f'topology="{topology}"',
              f"speedup={format_number(speedup)}", f'phase="{phase}"', f'latency="{latency}"']
    if grace_s is not None:
        lines.append(f"grace={format_number(grace_s)}")
    return "\n".join(lines) + "\n"
