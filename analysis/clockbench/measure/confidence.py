"""A statistic over repeated runs: its mean and the half-width of its 95 % confidence interval
(Student t on the runs' sample standard deviation; docs/measurements.md, "Repetitions").

No scipy: the t quantiles are a table (computed to 6 digits with mpmath's regularised incomplete
beta), between its entries linear in 1/df, the usual interpolation of printed t tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Optional

CONFIDENCE = 0.95

# The 0.975 quantile of Student's t with df degrees of freedom: the two-sided 95 % interval.
T_975 = {
    1: 12.706205, 2: 4.302653, 3: 3.182446, 4: 2.776445, 5: 2.570582, 6: 2.446912, 7: 2.364624,
    8: 2.306004, 9: 2.262157, 10: 2.228139, 11: 2.200985, 12: 2.178813, 13: 2.160369, 14: 2.144787,
    15: 2.131450, 16: 2.119905, 17: 2.109816, 18: 2.100922, 19: 2.093024, 20: 2.085963, 21: 2.079614,
    22: 2.073873, 23: 2.068658, 24: 2.063899, 25: 2.059539, 26: 2.055529, 27: 2.051831, 28: 2.048407,
    29: 2.045230, 30: 2.042272, 40: 2.021075, 60: 2.000298, 120: 1.979930, 240: 1.969898,
}
Z_975 = 1.959964  # df -> infinity: the normal quantile


def t_quantile(df: int) -> float:
    """t_{0.975, df}, for df >= 1 (ValueError below)."""
    if df < 1:
        raise ValueError(f"no t quantile for {df} degrees of freedom")
    if df in T_975:
        return T_975[df]
    known = sorted(T_975) + [math.inf]
    hi = next(k for k in known if k > df)
    lo = max(k for k in known if k < df)
    t_lo, t_hi = T_975[lo], T_975.get(hi, Z_975)
    w = (1 / lo - 1 / df) / (1 / lo - (0 if hi == math.inf else 1 / hi))
    return t_lo + w * (t_hi - t_lo)


@dataclass(frozen=True)
class Interval:
    """The mean of `n` values and the half-width of its 95 % interval: None with one value (the
    interval is undefined, not 0), or when a value is missing (NaN: e.g. a machine with no receive)."""

    mean: float
    half_width: Optional[float]
    n: int

    @property
    def low(self) -> Optional[float]:
        return None if self.half_width is None else self.mean - self.half_width

    @property
    def high(self) -> Optional[float]:
        return None if self.half_width is None else self.mean + self.half_width


def interval(values: Iterable[float]) -> Interval:
    """Mean and 95 % half-width t_{0.975, n-1} s / sqrt(n) of the values (s: sample standard
    deviation, n - 1 in the denominator). A NaN or None among them makes both NaN/None."""
    xs = [math.nan if v is None else float(v) for v in values]
    n = len(xs)
    if n == 0:
        raise ValueError("no values to average")
    if any(math.isnan(x) for x in xs):
        return Interval(math.nan, None, n)
    mean = math.fsum(xs) / n
    if n == 1:
        return Interval(mean, None, 1)
    s = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1))
    return Interval(mean, t_quantile(n - 1) * s / math.sqrt(n), n)


def format_interval(iv: Interval, digits: int = 2) -> str:
    """'12.35 ± 0.41'; one run: '12.35 (1 run)'; a missing value: '-'."""
    if math.isnan(iv.mean):
        return "-"
    if iv.half_width is None:
        return f"{iv.mean:.{digits}f} (1 run)"
    return f"{iv.mean:.{digits}f} ± {iv.half_width:.{digits}f}"
