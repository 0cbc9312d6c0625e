"""The lab notebook's plots: the variants compared (a bar per variant mean, a dot per trial), and
per variant, each trial's drift and its slowest machine's queue against the theory."""

from __future__ import annotations

from typing import Callable, Dict, List, Sequence

import numpy as np
from matplotlib.figure import Figure

from clockbench.documents.observations import GROWING, growing_measured, predicted_classes, receive_jump_mean, slowest
from clockbench.documents.plots import PALETTE
from clockbench.theory.run_analysis import RunAnalysis, growing_predicted, rates_text

VARIANT_COLOURS = ["#4a78c2", "#2e9e5b", "#e07b24", "#9467bd", "#8c564b"]
Groups = Dict[str, List[RunAnalysis]]

# (panel title, y label, value of one trial)
PANELS: List[tuple] = [
    ("Mean drift", "mean spread of the clocks", lambda a: a.metrics.drift_mean),
    ("Max drift", "max spread of the clocks", lambda a: a.metrics.drift_max),
    ("Mean jump on receive", "clock values", receive_jump_mean),
    ("Largest jump", "clock values", lambda a: max(m.jump_max for m in a.metrics.machines)),
    ("Machines with a growing queue", "fraction of machines",
     lambda a: len(growing_measured(a)) / a.metrics.n),
    ("Longest queue", "messages", lambda a: max(m.queue_max for m in a.metrics.machines)),
]


def _trial_label(a: RunAnalysis, index: int) -> str:
    return f"trial {index} ({rates_text(a.rates)} Hz)"


def comparison_figure(groups: Groups, labels: Dict[str, str]) -> Figure:
    """Six panels; in each, a bar per variant at its mean and a dot per trial."""
    fig = Figure(figsize=(11, 6.4), layout="constrained")
    fig.suptitle("The variants compared: bars are means over each variant's runs, dots single runs",
                 fontsize=12, fontweight="bold")
    axes = fig.subplots(2, 3)
    keys = list(groups)
    x = np.arange(len(keys))
    rng = np.random.default_rng(0)  # a fixed jitter, so dots of equal value stay visible
    for ax, (title, ylabel, value) in zip(axes.flat, PANELS):
        for k, key in enumerate(keys):
            vals = np.array([value(a) for a in groups[key]], dtype=float)
            colour = VARIANT_COLOURS[k % len(VARIANT_COLOURS)]
            ax.bar(k, np.nanmean(vals) if vals.size else 0, 0.6, color=colour, alpha=0.35, edgecolor=colour)
            ax.plot(k + rng.uniform(-0.15, 0.15, vals.size), vals, "o", color=colour, ms=5, zorder=3)
            if title.startswith("Machines with"):
                pred = [len(growing_predicted(a)) / a.metrics.n for a in groups[key]]
                ax.plot([k - 0.3, k + 0.3], [np.mean(pred)] * 2, color="black", lw=2, ls="--",
                        label="theory (mean)" if k == 0 else None, zorder=4)
        if title.startswith("Machines with"):
            ax.legend(fontsize=8, loc="upper left")
            ax.set_ylim(0, 1)
        ax.set_xticks(x, [f"{key}\n" + labels[key].replace(", ", "\n") for key in keys], fontsize=8)
        ax.set_title(title, fontsize=10.5)
        ax.set_ylabel(ylabel)
        ax.grid(True, axis="y", alpha=0.3)
    return fig


def _panels(groups: Groups, title: str, ylabel: str,
            draw: Callable[[object, RunAnalysis, str, str], None],
            numbers: Dict[int, int]) -> Figure:
    keys = list(groups)
    fig = Figure(figsize=(11, 3.9), layout="constrained")
    fig.suptitle(title, fontsize=12, fontweight="bold")
    axes = np.atleast_1d(fig.subplots(1, len(keys), sharey=True))
    for ax, key in zip(axes, keys):
        for j, a in enumerate(groups[key]):
            draw(ax, a, PALETTE[j % len(PALETTE)], _trial_label(a, numbers[id(a)]))
        ax.set_title(f"variant {key}", fontsize=10.5)
        ax.set_xlabel("god's-eye time (model s)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7.5, loc="upper left")
    axes[0].set_ylabel(ylabel)
    return fig


def spread_figure(groups: Groups, numbers: Dict[int, int]) -> Figure:
    """Drift over time: the spread of the clocks (max - min) of every trial."""
    def draw(ax, a: RunAnalysis, colour: str, label: str) -> None:
        ax.plot(a.metrics.grid, a.metrics.spread, color=colour, lw=1.4, label=label, drawstyle="steps-post")
    return _panels(groups, "Drift: spread of the Lamport clocks (max - min) over time", "clock values",
                   draw, numbers)


def queue_figure(groups: Groups, numbers: Dict[int, int]) -> Figure:
    """The slowest machine's queue in every trial, and dashed, the theory's growth line for it."""
    def draw(ax, a: RunAnalysis, colour: str, label: str) -> None:
        i = slowest(a)
        m = a.metrics
        ax.plot(m.grid, m.queues[i], color=colour, lw=1.4, drawstyle="steps-post",
                label=f"{label}: m{i}")
        if a.pred is not None and predicted_classes(a)[i] == GROWING:
            ax.plot([0, m.end_s], [0, a.pred.growth[i] * m.end_s], color=colour, lw=1.2, ls="--")
    return _panels(groups, "Queue of each trial's slowest machine; dashed: the theory's growth where it "
                   "predicts one", "messages in queue", draw, numbers)


def numbering(order: Sequence[RunAnalysis]) -> Dict[int, int]:
    """Trial number (1-based, in run order) of each analysis, by identity."""
    return {id(a): k for k, a in enumerate(order, 1)}


def jump_figure(cases: Sequence) -> Figure:
    """Mean receive jump of each machine whose queue backed up (jump_growth.JumpCase), against
    the time window and against the queue at the receive; dotted: its s / lambda."""
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    fig.suptitle("Did the jumps grow as the queue backed up? Mean jump per time window and per queue length; "
                 "dotted: s / lambda", fontsize=11.5, fontweight="bold")
    by_time, by_queue = fig.subplots(1, 2, sharey=True)
    for k, c in enumerate(cases):
        p, colour = c.profile, PALETTE[k % len(PALETTE)]
        label = f"{c.label} m{p.rank} ({c.machine.rate_hz:g} Hz)"
        mid_t = (p.window_edges[:-1] + p.window_edges[1:]) / 2
        shown = np.isfinite(p.window_mean)  # a window without receives has no mean
        by_time.errorbar(mid_t[shown], p.window_mean[shown], yerr=np.nan_to_num(p.window_se[shown]), color=colour,
                         marker="o", lw=1.4, capsize=3, label=label)
        e = p.queue_edges
        mid_q = (e[:-1] + e[1:]) / 2 if e.size > 1 else e
        by_queue.plot(mid_q, p.queue_mean, color=colour, marker="o", lw=1.4, label=label)
        for ax in (by_time, by_queue):
            ax.axhline(c.slope_ratio, color=colour, ls=":", lw=1.2)
    by_time.set_xlabel("god's-eye time, middle of the window (model s)")
    by_queue.set_xlabel("messages in the queue at the receive, middle of the bin")
    by_time.set_ylabel("mean jump on receive (clock values)")
    for ax in (by_time, by_queue):
        ax.grid(True, alpha=0.3)
        ax.set_ylim(bottom=0)
    by_time.legend(fontsize=7.5, loc="lower right")
    return fig
