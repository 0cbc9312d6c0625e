"""The lab notebook's answer to the seed's claim that a slow machine's jumps "grew as the queue
backed up": per machine whose queue backed up, its mean jump per time window and per queue length,
the rule that decides whether the claim holds, and what sets the jump's mean instead (docs/theory.md,
"Why a backed-up machine's jumps do not grow")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from clockbench.measure.metrics import JumpProfile, MachineMetrics
from clockbench.documents.observations import critical_predicted, growing_measured
from clockbench.theory.run_analysis import RunAnalysis, growing_predicted

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
