"""The scaling study's ring drift against the independent simulator (replay.py): the hop-by-hop
lag of analysis/clockbench/ring.py must bring the predicted drift within 10 % of the simulated one,
summed over a few runs (one run's own spread is 5-20 %), with the pace predicted from the
parameters (clocks.py); and so must the drift and the slowest machine's lag with a latency, which
every hop adds to (u ell per hop, ring.py)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

import numpy as np
import pytest

from conftest import write_run
from model_sim import from_replay
from replay import replay

from clockbench.scaling import ScalingRow, scaling_row

TOLERANCE = 0.10
RUNS = ((16, 0), (16, 1), (16, 2), (16, 3), (48, 0))  # (N, seed)
DURATION_S = 120.0


def ring_rows(tmp_path: Path, latency: str = "0") -> List[ScalingRow]:
    rows = []
    for n, seed in RUNS:
        rates = np.random.default_rng(1000 * n + seed).integers(1, 7, n).astype(float)
        result = replay(list(rates), seed, DURATION_S, 0.7, "ring", "random", latency)
        rows.append(scaling_row(str(write_run(tmp_path / f"ring-{n}-{seed}.h5", from_replay(result)))))
    return rows


def test_ring_drift_within_ten_percent(tmp_path: Path) -> None:
    rows = ring_rows(tmp_path)
    pairs: List[Tuple[str, float, float]] = [
        ("drift_max", sum(r.drift_max for r in rows), sum(r.drift_max_pred for r in rows)),
        ("drift_mean", sum(r.drift_mean for r in rows), sum(r.drift_mean_pred for r in rows))]
    detail = "; ".join(f"N={r.n} seed={r.seed}: max {r.drift_max:.0f}/{r.drift_max_pred:.0f}, "
                       f"mean {r.drift_mean:.1f}/{r.drift_mean_pred:.1f}" for r in rows)
    for name, sim, pred in pairs:
        assert abs(pred / sim - 1) <= TOLERANCE, f"{name}: simulated {sim:.1f}, predicted {pred:.1f} ({detail})"


@pytest.mark.parametrize("latency", ["0.2", "exp:0.2"])
def test_ring_with_latency_within_ten_percent(tmp_path: Path, latency: str) -> None:
    rows = ring_rows(tmp_path, latency)
    detail = "; ".join(f"N={r.n} seed={r.seed}: max {r.drift_max:.0f}/{r.drift_max_pred:.0f}, "
                       f"mean {r.drift_mean:.1f}/{r.drift_mean_pred:.1f}, lag {r.lag_final:.0f}/{r.lag_final_pred:.0f}"
                       for r in rows)
    for name in ("drift_max", "drift_mean", "lag_final"):
        sim, pred = sum(getattr(r, name) for r in rows), sum(getattr(r, name + "_pred") for r in rows)
        assert abs(pred / sim - 1) <= TOLERANCE, \
            f"latency {latency}, {name}: simulated {sim:.1f}, predicted {pred:.1f} ({detail})"
