"""The plots of one run, drawn from the metrics' time grid and the per-machine histograms (never
from raw events): clocks, lag behind the fastest, queues with the theory's growth, receive jumps,
event mix measured vs predicted, and tick lateness. One colour per machine in every plot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np
from matplotlib import cm, colormaps, colors
from matplotlib.figure import Figure

from clockbench.measure.distributions import Distributions
from clockbench.measure.metrics import RunMetrics
from clockbench.file.schema import KIND_NAMES
from clockbench.theory.mean_field import Prediction

# Up to this many machines every machine has a legend entry; above it, colour shows the rate
# (a colour bar) and only the slowest and the fastest machine are named and drawn bold.
LEGEND_MAX = 12
# Above this many machines the event mix is drawn against the rate instead of as bars.
MIX_BARS_MAX = 12
SIZE = (9.6, 4.3)
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf", "#393b79", "#8c6d31"]
KIND_COLOURS = ["#b0b7c3", "#4a78c2", "#2e9e5b", "#e07b24"]  # internal, send-one, send-all, receive
RATE_MAP = colormaps["viridis"]


@dataclass
class Style:
    colour: str
    width: float
    alpha: float
    label: Optional[str]  # None: not in the legend
    z: int


def hz(rate_hz: float) -> str:
    """A rate as a legend shows it: 1, 2.5, 5898 (no exponents)."""
    return f"{rate_hz:.6g}" if rate_hz >= 1000 else f"{rate_hz:.3g}"


def machine_label(i: int, rate_hz: float) -> str:
    return f"machine {i} ({hz(rate_hz)} Hz)"


def machine_styles(rates: Sequence[float]) -> List[Style]:
    """How each machine is drawn, the same in every plot of a run."""
    r = np.asarray(rates, dtype=float)
    if r.size <= LEGEND_MAX:
        return [Style(PALETTE[i], 1.8, 1.0, machine_label(i, x), 3) for i, x in enumerate(r)]
    slow, fast = int(np.argmin(r)), int(np.argmax(r))
    norm = _rate_norm(r)
    styles = []
    for i, x in enumerate(r):
        colour = colors.to_hex(RATE_MAP(0.9 * norm(x)))
        if i in (slow, fast):
            which = "slowest" if i == slow else "fastest"
            styles.append(Style(colour, 2.4, 1.0, f"{which}: {machine_label(i, x)}", 4))
        else:
            styles.append(Style(colour, 0.8, 0.5, None, 2))
    return styles


def _rate_norm(r: np.ndarray) -> colors.Normalize:
    lo, hi = float(r.min()), float(r.max())
    return colors.Normalize(lo, hi if hi > lo else lo + 1)


def _figure(title: str) -> Figure:
    fig = Figure(figsize=SIZE, layout="constrained")
    fig.suptitle(title, fontsize=12, fontweight="bold")
    return fig


def _finish(fig: Figure, ax, rates: np.ndarray, extra_legend: bool = False) -> None:
    """Legend (machines named by rate) and, for many machines, the colour bar of the rates."""
    ax.grid(True, alpha=0.3)
    if rates.size > LEGEND_MAX:
        norm = _rate_norm(rates)
        sm = cm.ScalarMappable(norm=colors.Normalize(norm.vmin, norm.vmin + (norm.vmax - norm.vmin) / 0.9),
                               cmap=RATE_MAP)
        fig.colorbar(sm, ax=ax, label="machine rate (Hz)", pad=0.01)
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        outside = len(handles) > 6
        ax.legend(fontsize=8.5, loc="upper left", bbox_to_anchor=(1.01, 1) if outside else None,
                  framealpha=0.9)


def _lines(ax, x: np.ndarray, ys: np.ndarray, styles: List[Style], steps: bool = False) -> None:
    for y, s in zip(ys, styles):
        ax.plot(x, y, color=s.colour, lw=s.width, alpha=s.alpha, label=s.label, zorder=s.z,
                drawstyle="steps-post" if steps else "default")


def clock_figure(m: RunMetrics) -> Figure:
    rates = np.array([x.rate_hz for x in m.machines])
    fig = _figure("Lamport clock of each machine")
    ax = fig.add_subplot()
    _lines(ax, m.grid, m.clocks, machine_styles(rates), steps=True)
    ax.set(xlabel="god's-eye time (model s)", ylabel="Lamport clock L", xlim=(0, m.end_s))
    _finish(fig, ax, rates)
    return fig


def lag_figure(m: RunMetrics) -> Figure:
    rates = np.array([x.rate_hz for x in m.machines])
    fig = _figure("Lag behind the fastest clock (max over machines of L, minus L)")
    ax = fig.add_subplot()
    _lines(ax, m.grid, m.clocks.max(axis=0) - m.clocks, machine_styles(rates), steps=True)
    ax.plot(m.grid, m.spread, color="#9aa3b0", lw=5, alpha=0.45, label=f"spread max - min (max {m.drift_max:g})",
            zorder=1, drawstyle="steps-post")
    ax.set(xlabel="god's-eye time (model s)", ylabel="clock values behind the leader", xlim=(0, m.end_s))
    ax.set_ylim(bottom=0)
    _finish(fig, ax, rates)
    return fig


def queue_figure(m: RunMetrics, pred: Optional[Prediction]) -> Figure:
    """Measured queue lengths; dashed, the theory: growth g_i t for unstable machines, 0 for stable."""
    rates = np.array([x.rate_hz for x in m.machines])
    styles = machine_styles(rates)
    fig = _figure("Queue length (messages waiting); dashed: the theory's growth")
    ax = fig.add_subplot()
    _lines(ax, m.grid, m.queues, styles, steps=True)
    if pred is not None:
        t = np.array([0.0, m.end_s])
        others = False
        for i in np.flatnonzero(~pred.stable):
            s = styles[i]
            label = None
            if s.label is not None:
                label = f"theory, machine {i}: grows {pred.growth[i]:.3f} msg/s"
            elif not others:
                label, others = "theory: growth of the other unstable machines", True
            ax.plot(t, pred.growth[i] * t, color=s.colour, lw=1.6, ls="--", alpha=0.9, label=label, zorder=6)
        if pred.stable.any():
            ax.plot(t, [0, 0], color="#444", lw=1.2, ls="--", zorder=6,
                    label=f"theory: {int(pred.stable.sum())} stable queue(s), no growth")
    ax.set(xlabel="god's-eye time (model s)", ylabel="messages in queue", xlim=(0, m.end_s))
    ax.set_ylim(bottom=-0.5)
    _finish(fig, ax, rates)
    return fig


def jump_figure(m: RunMetrics, dists: Distributions) -> Figure:
    rates = np.array([x.rate_hz for x in m.machines])
    styles = machine_styles(rates)
    fig = _figure("Clock jumps on receive (L after - L before)")
    ax = fig.add_subplot()
    geometric = False
    for h, s, mm in zip(dists.jumps, styles, m.machines):
        if h.total == 0:
            continue
        geometric = geometric or h.edges.size - 1 != int(h.edges[-1] - h.edges[0])
        label = None if s.label is None else f"{s.label}: {h.total} receives, mean {mm.jump_mean:.2f}"
        ax.stairs(h.counts / h.total, h.edges, color=s.colour, lw=s.width, alpha=s.alpha, label=label,
                  zorder=s.z)
    ax.set_yscale("log")
    if geometric:
        ax.set_xscale("log")
    ax.set(xlabel="jump size (clock values)" + (", log bins" if geometric else ""),
           ylabel="fraction of the machine's receives")
    _finish(fig, ax, rates)
    return fig


def mix_figure(m: RunMetrics, pred: Optional[Prediction]) -> Figure:
    """Fractions of ticks per kind: measured (solid) beside the theory's (hatched)."""
    rates = np.array([x.rate_hz for x in m.machines])
    measured = np.array([x.mix for x in m.machines])
    fig = _figure("Event mix: measured vs predicted from the run's rates")
    ax = fig.add_subplot()
    if m.n <= MIX_BARS_MAX:
        x = np.arange(m.n)
        width = 0.38 if pred is not None else 0.6
        for k, name in enumerate(KIND_NAMES):
            ax.bar(x - (width / 2 if pred is not None else 0), measured[:, k], width,
                   bottom=measured[:, :k].sum(axis=1), color=KIND_COLOURS[k], label=name, edgecolor="white")
            if pred is not None:
                ax.bar(x + width / 2, pred.mix[:, k], width, bottom=pred.mix[:, :k].sum(axis=1),
                       color=KIND_COLOURS[k], alpha=0.55, hatch="//", edgecolor="white")
        ax.set_xticks(x, [f"m{i}\n{hz(r)} Hz" for i, r in enumerate(rates)], fontsize=8.5)
        ax.set(ylabel="fraction of ticks", ylim=(0, 1.0),
               xlabel="machine (left bar measured, right hatched bar theory)" if pred is not None else "machine")
    else:
        order = np.argsort(m.achieved)
        for k, name in enumerate(KIND_NAMES):
            ax.plot(m.achieved, measured[:, k], "o", ms=3.5, color=KIND_COLOURS[k], label=f"{name} measured")
            if pred is not None:
                ax.plot(m.achieved[order], pred.mix[order, k], "-", color=KIND_COLOURS[k], lw=1.5)
        ax.set(xlabel="achieved rate (Hz); lines: theory", ylabel="fraction of ticks", ylim=(0, 1.0))
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8.5, loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


def lateness_figure(m: RunMetrics, dists: Distributions) -> Figure:
    rates = np.array([x.rate_hz for x in m.machines])
    fig = _figure("Tick lateness: tick start minus its deadline (cumulative)")
    ax = fig.add_subplot()
    for h, s, mm in zip(dists.lateness_ms, machine_styles(rates), m.machines):
        if h.total == 0:
            continue
        cdf = np.concatenate(([0.0], np.cumsum(h.counts) / h.total))
        label = None if s.label is None else f"{s.label}: p99 {1e3 * mm.lateness_p99_s:.3f} ms"
        ax.plot(h.edges, cdf, color=s.colour, lw=s.width, alpha=s.alpha, label=label, zorder=s.z,
                drawstyle="steps-post")
    ax.set_xscale("log")
    firsts = [h.edges[np.flatnonzero(h.counts)[0]] for h in dists.lateness_ms if h.total]
    if firsts:
        ax.set_xlim(left=min(firsts) / 1.5)
    ax.set(xlabel="lateness (wall ms, log scale; below 0.1 us counted at 0.1 us)",
           ylabel="fraction of ticks at most this late", ylim=(0, 1.02))
    _finish(fig, ax, rates)
    return fig

