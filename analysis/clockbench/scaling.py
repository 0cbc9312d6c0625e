"""The scaling study: how drift, the slowest machine's lag and queue growth change with the number
of machines N and the topology, each measured beside the theory's prediction (from the achieved
rates). `clockbench-analyze scaling FILE... -o DIR` writes DIR/scaling.md and DIR/scaling.html.

Lag of an unstable machine i (lambda_i > r_i). Its queue never empties, so it receives on every
tick and takes messages in arrival order: at time t it has taken the r_i t messages that had
arrived by the time t' with lambda_i t' = r_i t. Each receive sets L_i = max(L_i, m) + 1 with m
the sender's clock at t', so L_i(t) follows its senders' clocks at t' = (r_i / lambda_i) t. Its
senders are stable (an unstable machine never sends); where they keep pace with the fastest
clock, of slope s*, L_i(t) ~ s* (r_i / lambda_i) t, and its lag behind the fastest clock grows at

    g_i = s* (1 - r_i / lambda_i)     (clock units per model second)

A stable machine takes every message soon after it arrives, so its clock keeps pace with the
fastest clock among its senders: in the full topology every stable machine hears from the fastest
machine, its lag stays bounded, and g_i = 0. In a ring, unstable machines cut it into stretches
that do not hear from each other (they never send), and a stretch runs at the pace of its own
fastest machine. So in general a machine's clock pace sigma_i is the fixed point of clocks.py
(clocks.paces, from the parameters alone: rates, p_internal, topology, phases, latency):

    sigma_i = max(r_i + e_i, max_j sigma_j)              i stable,   j its stable senders
    sigma_i = max(r_i, (r_i / lambda_i) max_j sigma_j)   i unstable,

e_i the excess of a pace setter over its own rate (its receive jumps), s* = max_k sigma_k, and
g_i = s* - sigma_i, which is the formula above in the full topology. The spread of the clocks
(drift) is the largest lag, so it grows at max_i g_i: after T model seconds the drift is ~ T max_i g_i and its mean over the run ~ half that.
Near rho_i = 1 (lambda_i close to r_i) the queue's random walk, not its drift, sets the lag over
a finite run, and the mean-field theory underestimates it. So the predictions (_th) are taken at
the run's length from the queue itself: machine i takes at t the message that arrived Q_i(t) /
lambda0_i ago (FIFO, lambda0_i its arrival rate while busy), and cannot fall behind its own ticks,
so its clock is L_i(t) ~ max(r_i t, u_i (t - Q_i(t) / lambda0_i)), u_i = the largest sigma of its
stable senders, and its lag is s* t - L_i(t). With E[Q_i(T)] of finite.py this is
s* E[Q_i(T)] / lambda0_i in the full topology, and T g_i for a clearly unstable queue. The drift
is the largest lag, and the largest of N random lags has a larger mean than the largest mean:
with the queues taken as independent, E[max_i lag_i] = integral over y of
1 - prod_i P(lag_i <= y), each P from the reflected walk's distribution of Q_i. The mean-field
values (_mf) are kept beside them.

In a ring the fastest clock reaches a machine through a chain of neighbours, each hop adding the
wait for the next send, the latency, the receiver's tick and the queues on the way: ring.py
derives that hop lag, and it is added to each machine's wait as a delay (hop lag / incoming pace).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
from matplotlib.figure import Figure

from .clocks import ClockPaces, paces
from .compare import SIGMAS, theory_for
from .document import Document
from .finite import QueueDiffusion, diffusion, ls_slope, queue_tail, time_mean
from .metrics import compute, slope
from .model import parse_latency
from .ring import hop_lags, mean_latency
from .schema import SchemaError, open_run
from .tables import Table, num, render_text

# Exit codes, as the rest of clockbench-analyze: 0 done, 2 a file could not be read or analysed.
EXIT_OK, EXIT_ERROR = 0, 2

GROWING_TEXT = (f"a queue is measured as growing when its least-squares slope exceeds {SIGMAS:g} sigma "
                "of the arrivals' noise, sigma = sqrt(lambda / T) with lambda its measured arrival rate "
                "and T the run's length (the tolerance idea of the theory checks)")


@dataclass
class ScalingRow:
    """One run of the study: the measurements and, beside each, the theory's prediction."""

    path: str
    topology: str
    n: int
    seed: int
    end_s: float
    completed: bool
    fastest_slope: float      # s*: slope of the fastest clock, clock units per model second, measured
    fastest_slope_pred: float  # s* predicted from the parameters (clocks.paces)
    drift_max: float
    drift_mean: float
    drift_growth: float       # mean-field growth of the drift, max_i g_i (0: bounded)
    drift_max_pred: float     # finite-T: E[max_i lag_i(T)]
    drift_mean_pred: float    # finite-T: mean over [0, T] of E[max_i lag_i(t)]
    slowest: int              # the machine of lowest achieved rate
    slowest_rate: float
    lag_final: float
    lag_slope: float          # measured: least-squares slope of its lag on the grid
    lag_slope_mf: float       # mean-field g_i (0: bounded)
    lag_final_pred: float     # finite-T: E[lag_i(T)]
    lag_slope_pred: float     # finite-T: least-squares slope of E[lag_i(t)] on [0, T]
    growing: int              # machines whose queue grows, measured
    growing_pred: int
    growth_mean: float        # queue growth, messages per model second, mean over machines
    growth_mean_pred: float
    growth_max: float
    growth_max_pred: float

    @property
    def drift_max_mf(self) -> float:
        return self.drift_growth * self.end_s

    @property
    def drift_mean_mf(self) -> float:
        return self.drift_growth * self.end_s / 2

    @property
    def lag_final_mf(self) -> float:
        return self.lag_slope_mf * self.end_s


def lag_growth(fastest_slope: float, sigma: np.ndarray) -> np.ndarray:
    """g_i = s* (1 - sigma_i / max sigma), sigma the paces of clocks.paces and s* their largest
    (then g_i = s* - sigma_i): 0 for machines that keep pace with the fastest clock."""
    return fastest_slope * (1.0 - sigma / sigma.max())


@dataclass
class LagModel:
    """What the finite-T lags need: s*, the clock paces sigma (clocks.paces, clock units per model
    second), each machine's incoming pace u_i (the largest sigma of its stable senders, 0 if none),
    its queue's diffusion and the hop delay of the clock it hears (ring.py: model seconds, added to
    its queue wait)."""

    fastest_slope: float
    sigma: np.ndarray
    incoming: np.ndarray
    queues: QueueDiffusion
    hop_delay: np.ndarray

    def _clock(self, t: float, queue: np.ndarray) -> np.ndarray:
        """L_i(t) for a queue of `queue` messages (module docstring), clock units."""
        lam = self.queues.busy_arrival
        with np.errstate(divide="ignore", invalid="ignore"):
            wait = np.where(lam > 0, queue / lam, 0.0) + self.hop_delay
        return np.maximum(self.queues.rates * t, self.incoming * np.maximum(t - wait, 0.0))

    def lag(self, t: float) -> np.ndarray:
        """E[lag_i(t)], every machine: the clock taken at the expected queue."""
        return self.fastest_slope * t - self._clock(t, self.queues.queue(t))

    def drift(self, t: float, points: int = 1500) -> float:
        """E[max_i lag_i(t)] with independent queues: the integral of P(max > y) over y."""
        q = self.queues
        top = np.maximum(q.drift, 0.0) * t + 10 * np.sqrt(q.variance * t) + 10
        queue = np.linspace(0.0, 1.0, points)[:, None] * top  # per machine, Q from 0 to far in the tail
        lag = self.fastest_slope * t - self._clock(t, queue)
        y = np.linspace(0.0, float(lag.max()), points)
        below = np.ones_like(y)
        for i in range(q.rates.size):
            # lag_i is nondecreasing in Q_i: P(lag_i <= y) = P(Q_i <= the queue where lag_i reaches y).
            at = np.interp(y, lag[:, i], queue[:, i], left=-1.0, right=np.inf)
            recorded = at + float(q.lattice[i])
            tail = np.where(at < 0, 1.0, queue_tail(np.maximum(recorded, 0.0), q.drift[i], q.variance[i], t))
            below *= np.where(np.isinf(at), 1.0, 1.0 - tail)
        return float(np.trapz(1.0 - below, y))

    def drift_mean(self, t: float) -> float:
        return float(time_mean(lambda s: np.array(self.drift(s)) if s > 0 else np.array(0.0), t))

    def lag_slope(self, t: float) -> np.ndarray:
        return ls_slope(self.lag, t)


def lag_model(pred, adj: np.ndarray, clocks: ClockPaces, latency_s: float = 0.0) -> LagModel:
    """The finite-T lag model of a prediction (theory.Prediction) on peers adj, with the clock
    paces of clocks.paces, messages taking latency_s model seconds on average."""
    sigma = clocks.slope
    s_star = float(sigma.max())
    queues = diffusion(pred, adj)
    hops = hop_lags(pred, adj, clocks, queues, latency_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        delay = np.where(clocks.incoming > 0, hops / clocks.incoming, 0.0)
    return LagModel(s_star, sigma, clocks.incoming, queues, delay)


def pace_inputs(m) -> Tuple[Optional[List[float]], float]:
    """(phases, latency) for clocks.paces from a run's metrics. A constant latency D with the run's
    own phases: whether two equal-rate setters leapfrog depends on their tick offset against D
    (clocks.py), which the phases fix. A random latency has no one offset that decides it: the
    phases as random (None) and the latency's mean (ring.mean_latency)."""
    lat = parse_latency(m.latency)
    if lat.constant:
        return [x.phase_s for x in m.machines], lat.least
    return None, mean_latency(m.latency)


def scaling_row(path: str) -> ScalingRow:
    """Measures one run file and predicts the same quantities. Raises SchemaError or ValueError."""
    run = open_run(path)
    m = compute(run)
    adj = run.network["adjacency"]
    pred = theory_for(m, adj)
    t = m.end_s
    clocks = paces(pred, adj, *pace_inputs(m))
    s_star = float(clocks.slope.max())
    g = lag_growth(s_star, clocks.slope)
    lags = lag_model(pred, adj, clocks, mean_latency(m.latency))
    fastest = m.clocks.max(axis=0)
    slow = int(np.argmin(pred.rates))
    lag = fastest - m.clocks[slow]
    q_slope = np.array([x.queue_slope for x in m.machines])
    noise = np.array([math.sqrt(max(x.arrival_hz, 0.0) / t) if t > 0 else math.inf for x in m.machines])
    return ScalingRow(
        path=path, topology=m.topology, n=m.n, seed=m.seed, end_s=t, completed=m.completed,
        fastest_slope=slope(m.grid, fastest), fastest_slope_pred=s_star,
        drift_max=m.drift_max, drift_mean=m.drift_mean, drift_growth=float(g.max()),
        drift_max_pred=lags.drift(t), drift_mean_pred=lags.drift_mean(t),
        slowest=slow, slowest_rate=float(pred.rates[slow]), lag_final=float(lag[-1]),
        lag_slope=slope(m.grid, lag), lag_slope_mf=float(g[slow]),
        lag_final_pred=float(lags.lag(t)[slow]), lag_slope_pred=float(lags.lag_slope(t)[slow]),
        growing=int(np.count_nonzero(q_slope > SIGMAS * noise)), growing_pred=int(np.count_nonzero(~pred.stable)),
        growth_mean=float(q_slope.mean()), growth_mean_pred=float(pred.growth.mean()),
        growth_max=float(q_slope.max()), growth_max_pred=float(pred.growth.max()))


def _bounded(x: float, digits: int = 1) -> str:
    """A predicted growing quantity, or 'bounded' where the theory predicts no growth."""
    return "bounded" if abs(x) < 1e-9 else num(x, digits)


def scaling_table(rows: Sequence[ScalingRow]) -> Table:
    """One row per run, by topology then N; every measured column has the theory's (_th) beside it."""
    headers = ["topology", "N", "T_s", "s*", "s*_th", "drift_max", "drift_max_th", "drift_max_mf", "drift_mean",
               "drift_mean_th", "drift_mean_mf", "slowest_hz", "lag_final", "lag_final_th", "lag_final_mf",
               "lag_slope", "lag_slope_th", "lag_slope_mf", "growing", "growing_th", "dQdt_mean",
               "dQdt_mean_th", "dQdt_max", "dQdt_max_th"]
    out = []
    for r in rows:
        out.append([r.topology, str(r.n), num(r.end_s, 1), num(r.fastest_slope, 2), num(r.fastest_slope_pred, 2),
                    num(r.drift_max, 0), num(r.drift_max_pred, 0), _bounded(r.drift_max_mf, 0),
                    num(r.drift_mean, 1), num(r.drift_mean_pred, 1), _bounded(r.drift_mean_mf),
                    f"{r.slowest_rate:.3f}", num(r.lag_final, 0), num(r.lag_final_pred, 0),
                    _bounded(r.lag_final_mf, 0), f"{r.lag_slope:.3f}", f"{r.lag_slope_pred:.3f}",
                    _bounded(r.lag_slope_mf, 3), f"{r.growing / r.n:.2f}", f"{r.growing_pred / r.n:.2f}",
                    f"{r.growth_mean:.3f}",
                    f"{r.growth_mean_pred:.3f}", f"{r.growth_max:.3f}", f"{r.growth_max_pred:.3f}"])
    return Table(headers, out)


def _series(rows: Sequence[ScalingRow], topology: str, value) -> Tuple[np.ndarray, np.ndarray]:
    """(N, mean of value over the runs at that N) for one topology."""
    ns = sorted({r.n for r in rows if r.topology == topology})
    ys = [float(np.mean([value(r) for r in rows if r.topology == topology and r.n == n])) for n in ns]
    return np.array(ns, dtype=float), np.array(ys)


def scaling_figure(rows: Sequence[ScalingRow]) -> Figure:
    """Drift, the slowest machine's lag growth and the growing fraction against N: measured
    (solid, dots) and predicted (dashed), one colour per topology."""
    fig = Figure(figsize=(13.5, 4.2), layout="constrained")
    panels = [("max drift (Lamport spread)", lambda r: r.drift_max, lambda r: r.drift_max_pred),
              ("lag growth of the slowest machine, per s", lambda r: r.lag_slope, lambda r: r.lag_slope_pred),
              ("fraction of machines with growing queues", lambda r: r.growing / r.n,
               lambda r: r.growing_pred / r.n)]
    topologies = sorted({r.topology for r in rows})
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    all_n = sorted({r.n for r in rows})
    for k, (title, measured, predicted) in enumerate(panels):
        ax = fig.add_subplot(1, 3, k + 1)
        for j, topo in enumerate(topologies):
            colour = colours[j % len(colours)]
            x, y = _series(rows, topo, measured)
            ax.plot(x, y, "o-", color=colour, label=f"{topo}, measured")
            x, y = _series(rows, topo, predicted)
            ax.plot(x, y, "s--", color=colour, alpha=0.7, mfc="none", label=f"{topo}, theory")
        ax.set_xscale("log", base=2)
        ax.set_xticks(all_n)
        ax.set_xticklabels([str(n) for n in all_n])
        ax.set_xlabel("machines N")
        ax.set_title(title, fontsize=11)
        ax.grid(alpha=0.3)
        if k == 0:
            ax.legend(fontsize=8)
    return fig


def build_document(rows: Sequence[ScalingRow], skipped: Sequence[str]) -> Document:
    ns = sorted({r.n for r in rows})
    doc = Document("clockbench scaling study",
                   f"{len(rows)} runs, N = {', '.join(map(str, ns))}, topologies "
                   f"{', '.join(sorted({r.topology for r in rows}))}")
    if skipped:
        doc.para(f"Not included (could not be read or analysed): {', '.join(skipped)}", "banner")
    partial = [os.path.basename(r.path) for r in rows if not r.completed]
    if partial:
        doc.para(f"Stopped early (completed=0): {', '.join(partial)}", "banner")
    doc.heading("Drift, lag and queue growth against N")
    doc.table(scaling_table(rows))
    doc.bullets([
        "_th: the theory's prediction at the run's length T, solved from each run's achieved rates: "
        "queues as reflected random walks (analysis/clockbench/finite.py), so near rho = 1 lag and "
        "drift grow like sqrt(T); the drift is the expected largest of the machines' random lags. "
        "_mf: the mean-field (T -> infinity) prediction; 'bounded': it predicts no growth.",
        "s*: least-squares slope of the fastest Lamport clock (clock units per model second); s*_th: "
        "the fastest pace predicted from the parameters (analysis/clockbench/clocks.py), which every _th "
        "and _mf column uses.",
        "drift: spread max - min of the Lamport clocks on the god's-eye grid; mean-field: "
        "T max_i g_i (max) and half that (mean), g_i the lag growth below.",
        "slowest: the machine of lowest achieved rate. lag_final: its lag behind the fastest clock "
        "at the end; lag_slope: least-squares slope of that lag. Theory: g_i = s* (1 - r_i / lambda_i) "
        "when its queue grows (it takes at t the messages that arrived by (r_i / lambda_i) t), else "
        "bounded; in a ring, a stretch cut off by machines that never send runs at its own fastest "
        "pace sigma, and g_i = s* - sigma_i (analysis/clockbench/scaling.py derives it).",
        "Near rho = 1 (arrivals close to the rate) a queue's random walk, not its drift, sets the lag "
        "over a finite run: there the mean-field theory underestimates lag and drift, and _th does not.",
        f"growing: fraction of machines whose queue grows; {GROWING_TEXT}. A slower growth cannot "
        "be told from noise in one run (about 1 message/s for lambda = 3/s over T = 30 s; the floor "
        "falls as 1/sqrt(T)), so short runs count fewer growing queues than the theory.",
        "dQdt_mean, dQdt_max: the machines' queue growth rates (least-squares slopes), messages per "
        "model second, mean and max over the machines; theory (mean-field): lambda_i - r_i for "
        "unstable machines, 0 else.",
    ])
    doc.figure(scaling_figure(rows), "scaling", "Measured (solid) and predicted (dashed) against N, per topology.")
    doc.heading("Runs")
    doc.table(Table(["topology", "N", "seed", "completed", "file"],
                    [[r.topology, str(r.n), str(r.seed), "yes" if r.completed else "no", r.path] for r in rows]))
    return doc


def cmd_scaling(args: argparse.Namespace) -> int:
    """`scaling FILE... -o DIR`: the table on stdout, the report in DIR."""
    rows: List[ScalingRow] = []
    skipped: List[str] = []
    for path in args.files:
        try:
            rows.append(scaling_row(path))
        except SchemaError as exc:
            print(f"clockbench-analyze: error: {exc}", file=sys.stderr, flush=True)
            skipped.append(path)
        except (ValueError, IndexError, KeyError, ArithmeticError) as exc:
            print(f"clockbench-analyze: error: {path}: cannot analyse ({exc})", file=sys.stderr, flush=True)
            skipped.append(path)
    if not rows:
        print("clockbench-analyze: error: no scaling report written: no file could be analysed",
              file=sys.stderr, flush=True)
        return EXIT_ERROR
    rows.sort(key=lambda r: (r.topology, r.n, r.seed, r.path))
    try:
        html_path, md_path = build_document(rows, skipped).write(args.output, "scaling")
    except OSError as exc:
        print(f"clockbench-analyze: error: {args.output}: cannot write the report ({exc.strerror or exc})",
              file=sys.stderr, flush=True)
        return EXIT_ERROR
    print(render_text(scaling_table(rows)))
    print(f"scaling report of {len(rows)} run(s) written to {html_path} and {md_path}"
          + (f"; skipped {len(skipped)}: {', '.join(skipped)}" if skipped else ""), flush=True)
    return EXIT_ERROR if skipped else EXIT_OK


def register(subparsers) -> None:
    """Adds the `scaling` subcommand to clockbench-analyze's subparsers."""
    p = subparsers.add_parser(
        "scaling", help="aggregate runs at several N and topologies into the scaling report",
        description="Per run (N x topology): max and mean drift, the slowest machine's lag and its "
        "growth, the fraction of machines with growing queues and the queue growth rates, each "
        "beside the theory's prediction. Writes DIR/scaling.md and DIR/scaling.html (with plots "
        "against N) and prints the table.")
    p.add_argument("files", nargs="+", metavar="FILE", help="clockbench .h5 file")
    p.add_argument("-o", "--output", metavar="DIR", required=True, help="folder to write the report into")
    p.set_defaults(func=cmd_scaling)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """`python3 -m clockbench.scaling FILE... -o DIR`, the same as the subcommand."""
    parser = argparse.ArgumentParser(prog="clockbench-analyze")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["scaling", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
