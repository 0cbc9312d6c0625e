"""The scaling study's ring drift and lag against the independent simulator (replay.py): the ring's
reduced model (analysis/clockbench/theory/ring_sample.py) must bring the predicted drift within 10 % of the
simulated one, summed over a few runs (one run's own spread is 5-20 %); so must the drift and the
slowest machine's lag with a latency, which every hop adds to; and with rare messages (p_internal
0.8 and 0.9, 48 machines), where stretches bounded by machines near rho = 1 run at their own pace
between rare messages, the drift and every machine's lag at the end (summed: one machine's lag
alone spreads by 20-30 % between runs there). The chain-of-means model this replaced
over-predicted the lag sum at p_internal 0.8 by 24 % and under-predicted the largest spread at 0.9 by
21 % (these cases, these seeds); the reduced model is within 5 %."""

from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

import numpy as np
import pytest

from conftest import write_run
from model_sim import from_replay
from replay import replay

from clockbench.theory.clocks import paces
from clockbench.theory.compare import theory_for
from clockbench.measure.metrics import compute
from clockbench.documents.scaling import ScalingRow, scaling_row
from clockbench.theory.lag import lag_model, pace_inputs
from clockbench.file.schema import open_run

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


# (N, seed of the rates, p_internal): rates drawn from 1-6 Hz; both have machines near rho = 1.
RARE = ((48, 11, 0.8), (48, 14, 0.9))
RARE_SEEDS = 4


@pytest.mark.parametrize("n,rates_seed,p", RARE)
def test_ring_with_rare_messages_within_ten_percent(tmp_path: Path, n: int, rates_seed: int, p: float) -> None:
    rates = [float(x) for x in np.random.default_rng(rates_seed).integers(1, 7, n)]
    sim = {"drift_max": 0.0, "drift_mean": 0.0, "lag_sum": 0.0}
    pred = dict.fromkeys(sim, 0.0)
    for seed in range(RARE_SEEDS):
        path = str(write_run(tmp_path / f"rare-{seed}.h5", from_replay(replay(rates, seed, DURATION_S, p, "ring"))))
        m = compute(open_run(path))
        adj = open_run(path).network["adjacency"]
        theory = theory_for(m, adj)
        phases, latency = pace_inputs(m)
        lags = lag_model(theory, adj, paces(theory, adj, phases, latency), m.latency, m.end_s, phases)
        sim["drift_max"] += m.drift_max
        sim["drift_mean"] += m.drift_mean
        sim["lag_sum"] += float((m.clocks.max(axis=0)[-1] - m.clocks[:, -1]).sum())
        pred["drift_max"] += lags.drift_max(m.end_s)
        pred["drift_mean"] += lags.drift_mean(m.end_s)
        pred["lag_sum"] += float(lags.lag(m.end_s).sum())
    for name in sim:
        assert abs(pred[name] / sim[name] - 1) <= TOLERANCE, \
            f"N={n} p={p}, {name}: simulated {sim[name]:.1f}, predicted {pred[name]:.1f}"
