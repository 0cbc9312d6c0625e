"""Per-machine distributions the report draws (receive jumps, tick lateness), reduced from a run's
events to small histograms once, so that plotting never touches millions of points."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List

import numpy as np

from clockbench.measure.metrics import lateness_s, machine_slices
from clockbench.file.schema import RECEIVE, Run

# Integer jump bins up to this size; above it, bins grow geometrically.
LINEAR_JUMPS = 40
JUMP_BINS = 48
# Lateness is drawn on a log axis from 0.1 us of wall time; earlier ticks count as on time.
LATENESS_FLOOR_MS = 1e-4
LATENESS_BINS = 240


@dataclass
class Histogram:
    """Counts between consecutive edges: edges has one more entry than counts."""

    edges: np.ndarray
    counts: np.ndarray

    @property
    def total(self) -> int:
        return int(self.counts.sum())


@dataclass
class Distributions:
    """One histogram per machine, in machine order."""

    jumps: List[Histogram]      # jumps of receive events (L after - L before)
    lateness_ms: List[Histogram]  # tick start minus its deadline, wall milliseconds


def jump_edges(max_jump: int) -> np.ndarray:
    """Bin edges for jump sizes 1..max_jump: one per integer while that stays legible."""
    top = max(2, int(max_jump) + 1)
    if top <= LINEAR_JUMPS + 1:
        return np.arange(1, top + 1, dtype=float) - 0.5
    edges = np.unique(np.round(np.geomspace(1, top, JUMP_BINS)))
    return np.concatenate(([0.5], edges[1:] - 0.5, [top + 0.5]))


def lateness_edges(max_ms: float) -> np.ndarray:
    """Log-spaced bin edges (ms) from the floor to just above the largest lateness."""
    top = max(float(max_ms), 10 * LATENESS_FLOOR_MS) * 1.001
    return np.geomspace(LATENESS_FLOOR_MS, top, LATENESS_BINS + 1)


def compute_distributions(run: Run) -> Distributions:
    """The histograms of every machine; one shared set of bins per kind, so machines compare."""
    ev = run.events
    slices = machine_slices(run)
    recv = [ev["jump"][s][ev["kind"][s] == RECEIVE] for s in slices]
    max_jump = max((int(r.max()) for r in recv if r.size), default=1)
    edges = jump_edges(max_jump)
    jumps = [Histogram(edges, _counts(r, edges)) for r in recv]

    late = [lateness_s(run, i, s) * 1e3 for i, s in enumerate(slices)]
    top = max((float(x.max()) for x in late if x.size), default=1.0)
    ledges = lateness_edges(top)
    lateness = [Histogram(ledges, _log_counts(x, ledges)) for x in late]
    return Distributions(jumps, lateness)


def _counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    if edges.size - 1 == int(edges[-1] - edges[0]):  # one bin per integer: a bincount
        lo = int(edges[0] + 0.5)
        return np.bincount(values - lo, minlength=edges.size - 1)[:edges.size - 1]
    return np.histogram(values, edges)[0]


def _log_counts(values_ms: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Histogram on log-spaced edges through uniform bins of log10 (numpy's fast path)."""
    logs = np.log10(np.clip(values_ms, edges[0], edges[-1]))
    return np.histogram(logs, bins=edges.size - 1, range=(np.log10(edges[0]), np.log10(edges[-1])))[0]
