"""The scaling study with repetitions (`scaling --repetitions R`): the runs of one topology and N,
each with its own seed, make one point; every column of the per-run table becomes the mean of the
point's runs with its 95 % confidence interval (measure/confidence.py; docs/plans.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Sequence, Tuple

import numpy as np

from clockbench.documents.formats import plain
from clockbench.documents.tables import Table
from clockbench.measure.confidence import Interval, format_interval, interval


class RepetitionError(ValueError):
    """The runs do not make R repetitions of every point; one line naming the point."""


@dataclass
class ScalingPoint:
    """The runs of one topology and N."""

    topology: str
    n: int
    rows: List[Any]  # ScalingRow of documents/scaling.py, by seed

    @property
    def seeds(self) -> List[int]:
        return [r.seed for r in self.rows]


def points(rows: Sequence[Any], repetitions: int) -> List[ScalingPoint]:
    """The rows grouped by topology and N; raises RepetitionError unless each group holds
    `repetitions` runs with as many different seeds."""
    groups: Dict[Tuple[str, int], List[Any]] = {}
    for r in rows:
        groups.setdefault((r.topology, r.n), []).append(r)
    out = []
    for (topology, n), mine in sorted(groups.items()):
        mine.sort(key=lambda r: (r.seed, r.path))
        seeds = [r.seed for r in mine]
        if len(mine) != repetitions or len(set(seeds)) != len(seeds):
            raise RepetitionError(
                f"topology {topology}, N={n}: {len(mine)} run(s) with seeds {', '.join(map(str, seeds))}; "
                f"--repetitions {repetitions} needs {repetitions} runs of different seeds at every point")
        out.append(ScalingPoint(topology, n, mine))
    return out


# Columns of the per-run table (scaling_table) that are not figures to average.
_KEYS = ("topology", "N")
# Digits the text shows per column (as the per-run table).
_DIGITS = {"T_s": 1, "s*": 2, "s*_th": 2, "drift_max": 0, "drift_max_th": 0, "drift_max_mf": 0, "drift_mean": 1,
           "drift_mean_th": 1, "drift_mean_mf": 1, "slowest_hz": 3, "lag_final": 0, "lag_final_th": 0,
           "lag_final_mf": 0}
_GROWTH_MF = ("drift_max_mf", "drift_mean_mf", "lag_final_mf", "lag_slope_mf")


def _columns(records: Sequence[Dict[str, Any]]) -> List[str]:
    return [h for h in records[0] if h not in _KEYS + ("file", "seed", "completed")]


def point_intervals(point: ScalingPoint, records_of: Callable[[Sequence[Any]], List[Dict[str, Any]]]
                    ) -> Dict[str, Interval]:
    """Column -> interval over the point's runs; `records_of` is scaling_records (every digit)."""
    records = records_of(point.rows)
    return {h: interval([r[h] for r in records]) for h in _columns(records)}


def points_table(pts: Sequence[ScalingPoint], records_of) -> Table:
    """One row per point: its runs, then every column of the per-run table as mean ± 95 % interval
    ('bounded' where the mean field predicts no growth in every run)."""
    headers: List[str] = []
    rows = []
    for p in pts:
        ivs = point_intervals(p, records_of)
        headers = ["topology", "N", "runs"] + list(ivs)
        cells = [p.topology, str(p.n), str(len(p.rows))]
        for h, iv in ivs.items():
            if h in _GROWTH_MF and iv.half_width is not None and abs(iv.mean) < 1e-9 and iv.half_width < 1e-9:
                cells.append("bounded")
            else:
                cells.append(format_interval(iv, _DIGITS.get(h, 3)))
        rows.append(cells)
    return Table(headers, rows)


def points_records(pts: Sequence[ScalingPoint], records_of) -> List[Dict[str, Any]]:
    """`scaling --repetitions R --format json|csv`: per point its topology, N, runs, seeds and files,
    then per column its mean (the column's name) and the half-width of its 95 % interval
    (<name>_ci95; null with one run)."""
    out = []
    for p in pts:
        rec: Dict[str, Any] = {"topology": p.topology, "N": p.n, "runs": len(p.rows), "seeds": p.seeds,
                               "files": [r.path for r in p.rows]}
        for h, iv in point_intervals(p, records_of).items():
            rec[h] = iv.mean
            rec[f"{h}_ci95"] = iv.half_width
        out.append(plain(rec))
    return out


def flat(records: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The records with their lists as blank-separated text, for CSV."""
    return [{k: " ".join(map(str, v)) if isinstance(v, list) else v for k, v in r.items()} for r in records]


def series(rows: Sequence[Any], topology: str, value: Callable[[Any], float]
           ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, mean, 95 % half-width: NaN with one run) of value over the runs at each N of a topology."""
    ns = sorted({r.n for r in rows if r.topology == topology})
    ivs = [interval([value(r) for r in rows if r.topology == topology and r.n == n]) for n in ns]
    half = [math.nan if iv.half_width is None else iv.half_width for iv in ivs]
    return np.array(ns, dtype=float), np.array([iv.mean for iv in ivs]), np.array(half)
