"""The lab notebook's observations, computed: per trial the numbers the student wrote in prose and
one sentence naming the notable one; per variant the means the comparison is made of."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .finite import diffusion
from .metrics import JumpProfile, MachineMetrics
from .run_analysis import RunAnalysis
from .theory import Prediction, adjacency, predict

# A queue is called growing when its least-squares slope adds at least this many messages over
# the run and it ends with at least this many: a stable queue drifts back, a growing one does not.
GROWING_MESSAGES = 5
# Above this many combinations of integer rates, the theory's share of unstable draws is sampled.
EXACT_DRAWS_MAX = 4096
# The mean field's lambda is solved to this fraction of the rates (theory.predict checks its
# residual to 1e-9 of the largest): lambda_i = r_i within it is rho = 1, not growing.
SOLVE_TOLERANCE = 1e-9

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
    out = []
    for i in range(pred.n):
        if pred.arrival[i] > pred.rates[i] * (1 + SOLVE_TOLERANCE):
            out.append(GROWING)
        elif abs(d.drift[i]) * duration_s <= noise[i]:
            out.append(CRITICAL)
        else:
            out.append(STABLE)
    return out


def predicted_classes(a: RunAnalysis) -> List[str]:
    """queue_classes of a run, from its achieved rates and its own length (all stable if no theory)."""
    if a.pred is None:
        return [STABLE] * a.metrics.n
    return queue_classes(a.pred, adjacency(a.metrics.topology, a.metrics.n), a.metrics.end_s)


def growing_predicted(a: RunAnalysis) -> List[int]:
    """Machines whose queue the theory says grows (rho > 1 strictly)."""
    return [i for i, c in enumerate(predicted_classes(a)) if c == GROWING]


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
    growing_predicted: float  # rho > 1 beyond the run's noise (queue_classes)
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


# "Jumps grew as the queue backed up" holds on a machine whose queue backed up when its last time
# window's mean jump exceeds its first's by more than JUMP_RISE_SE standard errors and by
# JUMP_RISE_SHARE of the first, and its jump rises with the queue at the receive by more than
# JUMP_RISE_SE standard errors of that slope.
JUMP_RISE_SE = 3.0
JUMP_RISE_SHARE = 0.1
JUMP_RULE_TEXT = (f"the claim holds on a machine when its last window's mean jump is above its first's by more "
                  f"than {JUMP_RISE_SE:g} standard errors and {JUMP_RISE_SHARE:.0%}, and its jump rises with the "
                  f"queue at the receive by more than {JUMP_RISE_SE:g} standard errors of the least-squares slope")


def jumps_grew(p: JumpProfile) -> bool:
    """Whether p's jumps grew over the run and with its queue (JUMP_RULE_TEXT)."""
    first, last = p.window_mean[0], p.window_mean[-1]
    se = float(np.hypot(p.window_se[0], p.window_se[-1]))
    if not (np.isfinite(first) and np.isfinite(last) and np.isfinite(se) and np.isfinite(p.queue_slope_se)):
        return False
    rise = last - first
    return bool(rise > JUMP_RISE_SE * se and rise > JUMP_RISE_SHARE * first
                and p.queue_slope > JUMP_RISE_SE * p.queue_slope_se)


@dataclass
class JumpCase:
    """One machine of a run where a queue backed up: its jumps, and what sets their mean."""

    label: str                # e.g. "trial 3"
    analysis: RunAnalysis
    profile: JumpProfile
    backed_up: bool           # its own queue grew (growing_measured)

    @property
    def machine(self) -> MachineMetrics:
        return self.analysis.metrics.machines[self.profile.rank]

    @property
    def slope_ratio(self) -> float:
        """The fastest sender's clock slope over the arrival rate: the clock advance between two
        successive messages, the mean jump of a machine that takes them one per tick in order."""
        p = self.profile
        return p.sender_slope / p.arrival_hz if p.arrival_hz > 0 else float("nan")


def jump_cases(runs: Sequence[Tuple[str, RunAnalysis, Optional[Sequence[JumpProfile]]]]) -> List[JumpCase]:
    """Every machine of the runs where some queue backed up (measured), or the theory says one grows."""
    out: List[JumpCase] = []
    for label, a, profiles in runs:
        grew = growing_measured(a)
        if profiles is None or not (grew or growing_predicted(a) or critical_predicted(a)):
            continue
        out.extend(JumpCase(label, a, p, p.rank in grew) for p in profiles)
    return out


def _means(values: np.ndarray) -> str:
    return ", ".join("-" if not np.isfinite(x) else f"{x:.2f}" for x in values)


def queue_bins_text(p: JumpProfile) -> str:
    """Each queue bin's range and mean jump, e.g. '1-9: 3.07' (queues are whole numbers; a bin holds
    its lower edge, the last one its upper edge too)."""
    e = p.queue_edges
    parts = []
    for k, mean in enumerate(p.queue_mean):
        lo = e[k]
        hi = lo if e.size == 1 else e[k + 1] if k + 2 == e.size else np.ceil(e[k + 1]) - 1
        span = f"{lo:g}" if hi <= lo else f"{np.ceil(lo):g}-{hi:g}"
        parts.append(f"{span}: {'-' if not np.isfinite(mean) else f'{mean:.2f}'}")
    return "; ".join(parts)


def jump_table_rows(cases: Sequence[JumpCase]) -> List[List[str]]:
    rows = []
    for c in cases:
        m, p = c.machine, c.profile
        verdict = ("holds" if jumps_grew(p) else "does not hold") if c.backed_up else "- (queue did not back up)"
        rows.append([c.label, f"m{p.rank}", f"{m.rate_hz:g}", f"{m.queue_final}", str(p.receives),
                     _means(p.window_mean), queue_bins_text(p) if p.receives else "-",
                     f"{p.queue_slope:+.3f} ± {p.queue_slope_se:.3f}" if np.isfinite(p.queue_slope_se) else "-",
                     f"{p.sender_slope:.2f} / {p.arrival_hz:.2f} = {c.slope_ratio:.2f}",
                     f"{m.jump_mean:.2f}" if p.receives else "-", verdict])
    return rows


def _case_name(c: JumpCase) -> str:
    m = c.machine
    return f"{c.label}, machine {m.rank} ({m.rate_hz:g} Hz, queue to {m.queue_final})"


def jump_answer(cases: Sequence[JumpCase]) -> List[str]:
    """Paragraphs answering the seed notebook's 'jumps grew as the queue backed up', from the numbers."""
    backed = [c for c in cases if c.backed_up and c.profile.receives]
    if not backed:
        return ["No machine's queue backed up in these runs, so the claim cannot be tested here."]
    held = [c for c in backed if jumps_grew(c.profile)]
    flat = [c for c in backed if not jumps_grew(c.profile)]
    out = []
    if held:
        out.append("The claim holds on " + "; ".join(
            f"{_case_name(c)}: mean jump by window {_means(c.profile.window_mean)}, "
            f"{c.profile.queue_slope:+.3f} ± {c.profile.queue_slope_se:.3f} per message of queue" for c in held)
            + f" ({len(held)} of {len(backed)} machines whose queue backed up).")
    if flat:
        c = max(flat, key=lambda x: x.machine.queue_final)
        p, m = c.profile, c.machine
        out.append(f"The claim does not hold on {len(flat)} of {len(backed)} machines whose queue backed up: "
                   "their mean jump did not rise beyond its noise while the queue grew. E.g. "
                   f"{_case_name(c)}: mean jump by time window {_means(p.window_mean)}; by queue at the receive "
                   f"{queue_bins_text(p)}; "
                   f"{p.queue_slope:+.3f} ± {p.queue_slope_se:.3f} per message of queue.")
        errors = [abs(x.machine.jump_mean / x.slope_ratio - 1) for x in flat if np.isfinite(x.slope_ratio)]
        worst = max(errors, default=float("nan"))
        out.append(
            "Why: a machine whose queue backed up receives on every tick and takes its messages in arrival "
            "order, so after a receive its clock is (nearly always) the message's clock + 1, and its jump is "
            "the step between the clocks of two successive messages. Those arrived on average 1/lambda apart, "
            "and meanwhile the fastest sender's clock advanced s/lambda: the mean jump is s/lambda, a ratio of "
            "two slopes that stay fixed while the queue grows. The queue's length sets how old each message is "
            "(about Q/lambda seconds) and so how far the clock lags the fastest one (about Q x jump), not the "
            f"step. From the data of {_case_name(c)}: the fastest sender's clock gained s = {p.sender_slope:.2f} "
            f"per s, lambda = {p.arrival_hz:.2f} messages arrived per s, s/lambda = {c.slope_ratio:.2f} against "
            f"a measured mean jump of {m.jump_mean:.2f}; its lag behind the fastest clock at the end was "
            f"{m.lag_final:.0f}, against queue x mean jump = {m.queue_final} x {m.jump_mean:.2f} = "
            f"{m.queue_final * m.jump_mean:.0f}. Over all {len(flat)} such machines s/lambda is within "
            f"{worst:.0%} of the mean jump. So in the model what grows as a queue backs up is the lag, not "
            "the jumps.")
    return out
