"""The lab notebook's observations, computed: per trial the numbers the student wrote in prose and
one sentence naming the notable one; per variant the means the comparison is made of. The classes
growing, critical and stable: docs/theory.md, "Growing, critical, stable"."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np

from clockbench.theory.finite import diffusion
from clockbench.theory.run_analysis import RunAnalysis, growing, growing_predicted
from clockbench.theory.mean_field import Prediction, adjacency, predict

# A queue is called growing when its least-squares slope adds at least this many messages over
# the run and it ends with at least this many: a stable queue drifts back, a growing one does not.
GROWING_MESSAGES = 5
# Above this many combinations of integer rates, the theory's share of unstable draws is sampled.
EXACT_DRAWS_MAX = 4096
GROWING, CRITICAL, STABLE = "growing", "critical", "stable"
QUEUE_RULE_TEXT = (
    "growing: the mean field's rho > 1 strictly (lambda > r); critical: not growing, but within noise of "
    "rho = 1 over the run's T model seconds, i.e. the queue's drift over the run, |mu| T (mu = lambda - r "
    "of the machine kept busy, finite.py), is no larger than its random walk's spread sqrt(v T) (v: the "
    "arrivals' variance rate), so one run may see it grow or not (rho = 1 exactly is critical); "
    "stable: the rest")


def queue_classes(pred: Prediction, adj: np.ndarray, duration_s: float) -> List[str]:
    """GROWING, CRITICAL or STABLE for every machine over a run of duration_s (QUEUE_RULE_TEXT)."""
    d = diffusion(pred, adj)
    noise = np.sqrt(d.variance * duration_s)
    grows = growing(pred)
    out = []
    for i in range(pred.n):
        if grows[i]:
            out.append(GROWING)
        elif abs(d.drift[i]) * duration_s <= noise[i]:
            out.append(CRITICAL)
        else:
            out.append(STABLE)
    return out


def predicted_classes(a: RunAnalysis) -> List[str]:
    """queue_classes of a run, from its rates and its own length (all stable if no theory)."""
    if a.pred is None:
        return [STABLE] * a.metrics.n
    return queue_classes(a.pred, adjacency(a.metrics.topology, a.metrics.n, a.metrics.seed), a.metrics.end_s)


def critical_predicted(a: RunAnalysis) -> List[int]:
    """Machines within noise of rho = 1 over the run (QUEUE_RULE_TEXT)."""
    return [i for i, c in enumerate(predicted_classes(a)) if c == CRITICAL]


def growing_measured(a: RunAnalysis) -> List[int]:
    """Machines whose queue grew during the run (see GROWING_MESSAGES)."""
    return [m.rank for m in a.metrics.machines
            if m.queue_slope * a.metrics.end_s >= GROWING_MESSAGES and m.queue_final >= GROWING_MESSAGES]


def slowest(a: RunAnalysis) -> int:
    """The slowest machine (nominal rate); among equals, the one left with the longest queue."""
    ms = a.metrics.machines
    return min(range(len(ms)), key=lambda i: (ms[i].rate_hz, -ms[i].queue_final))


def receive_jump_mean(a: RunAnalysis) -> float:
    """Mean clock jump over every receive of the run (all machines pooled)."""
    counts = np.array([m.kind_counts[3] for m in a.metrics.machines], dtype=float)
    means = np.nan_to_num(np.array([m.jump_mean for m in a.metrics.machines]))
    return float((counts * means).sum() / counts.sum()) if counts.sum() else float("nan")


def machines_text(ids: Sequence[int]) -> str:
    return ",".join(f"m{i}" for i in ids) if ids else "none"


def _count(k: int, what: str) -> str:
    return f"{k} {what}{'' if k == 1 else 's'}"


def _hz(a: RunAnalysis, i: int) -> str:
    return f"machine {i} ({a.metrics.machines[i].rate_hz:g} Hz)"


def trial_sentence(a: RunAnalysis) -> str:
    """The notable observation of one trial, stated with its numbers."""
    m = a.metrics
    ms = m.machines
    grew, classes = growing_measured(a), predicted_classes(a)
    predicted = [i for i, c in enumerate(classes) if c != STABLE]
    top = max(ms, key=lambda x: x.jump_max)
    parts: List[str] = []
    if m.degraded:
        parts.append(f"TIMING DEGRADED ({m.late_deliveries} late deliveries, {m.missed_ticks} missed ticks): "
                     "its events depart from the model's where the loop fell behind")
    focus = sorted(set(grew) | set(predicted), key=lambda i: -ms[i].queue_final)
    if focus:
        i = focus[0]
        x = ms[i]
        if a.pred is None:
            theory = "no theory"
        elif classes[i] == CRITICAL:
            theory = f"theory: critical, lambda/r = {a.pred.arrival[i] / a.pred.rates[i]:.3f}"
        elif classes[i] == STABLE:
            theory = f"theory: stable, but loaded to {a.pred.utilisation[i]:.2f} of its ticks"
        else:
            theory = f"theory {a.pred.growth[i]:.2f}"
        verb = "grew" if i in grew else "did not clearly grow"
        parts.append(f"{_hz(a, i)} received on {x.utilisation:.0%} of its ticks; its queue {verb} at "
                     f"{x.queue_slope:.2f} msg/s ({theory}) to {_count(x.queue_final, 'message')}; "
                     f"jumps up to {x.jump_max}")
        lead = max(ms, key=lambda y: y.rate_hz)
        parts.append(f"the fastest, {_hz(a, lead.rank)}, received on only {lead.utilisation:.0%} of its ticks")
        others = [j for j in focus[1:]]
        if others:
            parts.append("also growing or critical: " + ", ".join(
                f"{_hz(a, j)} at {ms[j].queue_slope:.2f} msg/s to {ms[j].queue_final}" for j in others))
    else:
        longest = max(ms, key=lambda y: y.queue_max)
        parts.append(f"every queue stayed bounded (longest {_count(longest.queue_max, 'message')}, on "
                     f"{_hz(a, longest.rank)}; theory: all stable)")
        parts.append(f"the clocks stayed within {m.drift_max:g} of each other (mean spread {m.drift_mean:.1f})")
        parts.append(f"the largest jump was {top.jump_max} on {_hz(a, top.rank)}")
    if a.pred is not None:
        failed = [c for c in a.checks if not c.ok]
        if failed:
            c = failed[0]
            parts.append(f"theory: {a.passed}/{len(a.checks)} checks pass; e.g. machine {c.machine} "
                         f"{c.quantity} measured {c.measured:.3f} vs {c.predicted:.3f} ± {c.tolerance:.3f}")
        else:
            parts.append(f"all {len(a.checks)} theory checks pass")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


@dataclass
class VariantSummary:
    """Means over one variant's trials (NaN where a variant has no trials)."""

    key: str
    runs: int
    rate_ratio: float        # max / min rate, mean over runs
    drift_mean: float
    drift_max: float
    jump_mean: float         # pooled over each run's receives, then averaged over runs
    jump_max_mean: float     # each run's largest jump, averaged
    jump_max: int            # the largest jump of all runs
    receive_share: float     # fraction of all ticks that were receives
    growing_measured: float  # fraction of machines with a growing queue
    growing_predicted: float  # rho > 1 strictly (run_analysis.growing)
    critical_predicted: float  # within noise of rho = 1
    queue_max_mean: float    # each run's longest queue, averaged
    queue_max: int
    passed: int
    checks: int
    degraded: int = 0        # runs whose real-time loop did not keep up with the model

    @property
    def pass_rate(self) -> float:
        return self.passed / self.checks if self.checks else float("nan")


def summarise_variant(key: str, runs: Sequence[RunAnalysis]) -> VariantSummary:
    def mean(values: Sequence[float]) -> float:
        return float(np.mean(values)) if len(values) else float("nan")

    machines = sum(a.metrics.n for a in runs)
    ticks = sum(m.ticks for a in runs for m in a.metrics.machines)
    return VariantSummary(
        key=key, runs=len(runs),
        rate_ratio=mean([a.rates.max() / a.rates.min() for a in runs]),
        drift_mean=mean([a.metrics.drift_mean for a in runs]),
        drift_max=mean([a.metrics.drift_max for a in runs]),
        jump_mean=mean([receive_jump_mean(a) for a in runs]),
        jump_max_mean=mean([max(m.jump_max for m in a.metrics.machines) for a in runs]),
        jump_max=max((m.jump_max for a in runs for m in a.metrics.machines), default=0),
        receive_share=sum(m.kind_counts[3] for a in runs for m in a.metrics.machines) / max(1, ticks),
        growing_measured=sum(len(growing_measured(a)) for a in runs) / max(1, machines),
        growing_predicted=sum(len(growing_predicted(a)) for a in runs) / max(1, machines),
        critical_predicted=sum(len(critical_predicted(a)) for a in runs) / max(1, machines),
        queue_max_mean=mean([max(m.queue_max for m in a.metrics.machines) for a in runs]),
        queue_max=max((m.queue_max for a in runs for m in a.metrics.machines), default=0),
        passed=sum(a.passed for a in runs), checks=sum(len(a.checks) for a in runs),
        degraded=sum(a.metrics.degraded for a in runs))


def draw_shares(n: int, rate_min: float, rate_max: float, p_internal: float,
                duration_s: float) -> Tuple[float, float]:
    """The theory's shares of machines with a growing and with a critical queue (queue_classes,
    full topology, runs of duration_s) over integer rate draws in the range: every combination
    when there are few, else 2000 seeded samples."""
    values = np.arange(int(np.ceil(rate_min)), int(np.floor(rate_max)) + 1, dtype=float)
    if values.size == 0:
        return float("nan"), float("nan")
    if values.size ** n <= EXACT_DRAWS_MAX:
        draws = np.array(list(itertools.product(values, repeat=n)))
    else:
        draws = np.random.default_rng(0).choice(values, size=(2000, n))
    adj = adjacency("full", n)
    classes = [c for r in draws for c in queue_classes(predict(r, p_internal), adj, duration_s)]
    return classes.count(GROWING) / len(classes), classes.count(CRITICAL) / len(classes)


def compare_sentence(v: VariantSummary, base: VariantSummary, what: str) -> str:
    """How variant v differs from the baseline, metric by metric, with the ratio where it helps."""
    def ratio(x: float, y: float) -> str:
        return f" ({x / y:.2f}x)" if y and np.isfinite(x) and np.isfinite(y) and y != 0 else ""

    return (f"{v.key} vs {base.key} ({what}): mean drift {v.drift_mean:.1f} vs {base.drift_mean:.1f}"
            f"{ratio(v.drift_mean, base.drift_mean)}, max drift {v.drift_max:.0f} vs {base.drift_max:.0f}; "
            f"mean jump {v.jump_mean:.2f} vs {base.jump_mean:.2f}, largest jump per run {v.jump_max_mean:.1f} "
            f"vs {base.jump_max_mean:.1f}; receives {v.receive_share:.0%} vs {base.receive_share:.0%} of ticks; "
            f"growing queues on {v.growing_measured:.0%} vs {base.growing_measured:.0%} of machines (theory "
            f"{v.growing_predicted:.0%} vs {base.growing_predicted:.0%} growing, {v.critical_predicted:.0%} vs "
            f"{base.critical_predicted:.0%} critical); longest queue per run "
            f"{v.queue_max_mean:.1f} vs {base.queue_max_mean:.1f}; theory checks pass {v.pass_rate:.0%} vs "
            f"{base.pass_rate:.0%}.")
