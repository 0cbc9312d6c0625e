"""The model-time invariants of docs/schema.md: the fields of docs/model.md come together, the
timing verdict agrees with its counts, and (files that record msg_arrival) arrival times, the time
order of sends and receives, and the end of the run. The queue rule is in queue_rule.py."""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import numpy as np

from clockbench.file.checks import Checker, Messages, Violation
from clockbench.file.model import EXP, UNIFORM, Latency, deadlines, parse_latency, ticks_before
from clockbench.file.queue_rule import check_queue_rule
from clockbench.file.schema import CLOCK_NAMES, OPTIONAL_NAMES, RECEIVE, TIMING_DEGRADED, TIMING_OK, Run

# Float slack of the time comparisons between measured times, in model seconds.
TIME_TOLERANCE_S = 1e-9
PHASE_MODES = ("random", "zero")
UNKNOWN = "unknown"  # the prefix of `timing` when the counts were not kept (-1)


def check_settings(c: Checker, run: Run) -> Optional[Latency]:
    """The run's model settings and timing verdict; returns its latency (None if unreadable)."""
    absent = [name for name in OPTIONAL_NAMES if name in run.missing]
    if 0 < len(absent) < len(OPTIONAL_NAMES):
        c.violations.append(Violation("model-fields", "the file has fields of docs/model.md but lacks "
                                      + ", ".join(absent) + " (they are written together)"))
    latency: Optional[Latency] = None
    try:
        latency = parse_latency(str(run.attrs["latency"]))
    except ValueError as exc:
        c.violations.append(Violation("latency", f"root attribute {exc}"))
    _check_phases(c, run)
    if not {"timing", "late_deliveries", "missed_ticks"} & set(run.missing):
        _check_timing(c, run)
    return latency


def _check_phases(c: Checker, run: Run) -> None:
    mode = str(run.attrs["phase_mode"])
    if mode not in PHASE_MODES:
        c.violations.append(Violation("phase", f"root attribute phase_mode is '{mode}', "
                                      f"expected {' or '.join(PHASE_MODES)}"))
    phase, rate = run.machines["phase_s"], run.machines["rate_hz"]
    if run.flat_out or mode == "zero":
        why = "flat out" if run.flat_out else "phase_mode zero"
        c.flag("phase", phase != 0, lambda i: f"machines/phase_s[{i}] is {phase[i]!r} s, expected 0 ({why})")
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            bad = ~((phase >= 0) & (phase <= 1.0 / rate))
        c.flag("phase", bad, lambda i: f"machines/phase_s[{i}] is {phase[i]!r} s, outside [0, 1/rate_hz] = "
               f"[0, {1.0 / rate[i]!r}] s (phase_mode random)")


def _check_timing(c: Checker, run: Run) -> None:
    """Counts total to the root attributes; paced, each machine ran every tick due before end_s
    but those it counts missed; `timing` is ok exactly when nothing went wrong."""
    m, a = run.machines, run.attrs
    late, missed, first = m["late_deliveries"], m["missed_ticks"], m["first_degraded_s"]
    root_late, root_missed, timing = int(a["late_deliveries"]), int(a["missed_ticks"]), str(a["timing"])
    counts = f"{root_late} late deliveries and {root_missed} missed ticks"
    if -1 in (root_late, root_missed) or (late == -1).any() or (missed == -1).any():
        # Not kept (a recovered file): every count -1 and the verdict unknown.
        if not ((late == -1).all() and (missed == -1).all() and root_late == root_missed == -1
                and timing.startswith(UNKNOWN)):
            c.violations.append(Violation("timing", f"timing '{timing}' with {counts} (root), machines "
                                          f"late_deliveries {late.tolist()}, missed_ticks {missed.tolist()}: "
                                          "unknown counts are -1 everywhere, with timing 'unknown ...'"))
        return
    c.flag("timing", (late < 0) | (missed < 0), lambda i: f"machines/late_deliveries[{i}] is {late[i]}, "
           f"missed_ticks[{i}] {missed[i]}: counts are >= 0 (or -1 everywhere when unknown)")
    for name, total, column in (("late_deliveries", root_late, late), ("missed_ticks", root_missed, missed)):
        if int(column.sum()) != total:
            c.violations.append(Violation("timing", f"root attribute {name} is {total}, but "
                                          f"/machines/{name} sums to {int(column.sum())}"))
    overran = _check_tick_count(c, run) if not run.flat_out and not run.recovered else np.zeros(c.n, bool)
    fine = root_late == 0 and root_missed == 0 and not overran.any()
    if (timing == TIMING_OK) != fine or (not fine and not timing.startswith(TIMING_DEGRADED)):
        more = f", {int(overran.sum())} machine(s) ran ticks due after end_s" if overran.any() else ""
        c.violations.append(Violation("timing", f"timing is '{timing}' with {counts}{more}: it is "
                                      f"'{TIMING_OK}' exactly when the loop kept up, else '{TIMING_DEGRADED}: ...'"))
    c.flag("timing", (((late + missed) > 0) != np.isfinite(first)) & ~overran, lambda i: f"machines/"
           f"first_degraded_s[{i}] is {first[i]!r} with {late[i]} late deliveries and {missed[i]} missed ticks "
           "(NaN exactly when there are none)")


def _check_tick_count(c: Checker, run: Run) -> np.ndarray:
    """A paced machine runs the ticks due before end_s, less those it counts missed. A stop heard
    too late lets it run some due after (the engine's verdict calls them "ticks after the stop
    time"): those only in a degraded run. Returns which machines ran such ticks."""
    m = run.machines
    end_s = float(run.attrs["end_s"])
    rank = run.events["rank"]
    ran = np.bincount(rank[(rank >= 0) & (rank < c.n)], minlength=c.n)
    due = np.array([ticks_before(end_s, float(m["phase_s"][i]), float(m["rate_hz"][i])) for i in range(c.n)])
    missed = m["missed_ticks"]
    c.flag("tick-count", missed != np.maximum(due - ran, 0), lambda i: f"rank {i}: {ran[i]} ticks recorded and "
           f"{missed[i]} missed, but {due[i]} deadlines fall before end_s {end_s!r} s (phase_s "
           f"{m['phase_s'][i]!r} s, rate_hz {m['rate_hz'][i]!r})")
    return ran > due


def clock_bounds(run: Run) -> Tuple[np.ndarray, np.ndarray]:
    """Per machine, wall seconds: U, the bound on its clock offset's error anywhere in the run (the
    larger of the start and end estimates' uncertainties; the start one's without an end estimate),
    and the most the placement on the offset's line moved a t from where the loop stamped it
    (|end - start offset|; 0 without an end estimate). docs/model.md, "God's-eye time"."""
    m = run.machines
    start, u_start = m["clock_offset_s"], m["clock_offset_uncertainty_s"]
    end, u_end = m["clock_offset_end_s"], m["clock_offset_end_uncertainty_s"]
    has_end = np.isfinite(end)
    u = np.where(has_end, np.maximum(u_start, np.where(np.isfinite(u_end), u_end, np.inf)), u_start)
    return u, np.where(has_end, np.abs(end - start), 0.0)


def check_clock(c: Checker, run: Run, ev: Dict[str, np.ndarray]) -> None:
    """The clock offset fields: the start estimate finite, rank 0 the reference (offset 0 exactly);
    the end estimate finite in a written file and NaN in a recovered one, its uncertainty >= 0,
    the rate consistent with the two offsets and the interval, and every event between the two
    estimates (t is interpolated on the line, not extrapolated)."""
    m, n = run.machines, c.n
    start, u_start = m["clock_offset_s"], m["clock_offset_uncertainty_s"]
    c.flag("clock-offset", ~np.isfinite(start) | ~(u_start >= 0), lambda i: f"machines/clock_offset_s[{i}] is "
           f"{start[i]!r} s with clock_offset_uncertainty_s {u_start[i]!r} s (the start estimate is finite, its "
           "uncertainty >= 0)")
    absent = [name for name in CLOCK_NAMES if name in run.missing]
    if 0 < len(absent) < len(CLOCK_NAMES):
        c.violations.append(Violation("clock-offset", "the file has end-of-run clock fields but lacks "
                                      + ", ".join(absent) + " (they are written together)"))
        return
    end, u_end, ppm = m["clock_offset_end_s"], m["clock_offset_end_uncertainty_s"], m["clock_rate_ppm"]
    interval, start_t = m["clock_offset_interval_s"], m["clock_offset_start_t_s"]
    end_not_0 = bool(np.isfinite(end[0]) and (end[0] != 0 or u_end[0] != 0))  # NaN where absent
    if start[0] != 0 or u_start[0] != 0 or end_not_0:
        c.violations.append(Violation("clock-offset", f"rank 0's clock offsets are {start[0]!r} s (start) and "
                                      f"{end[0]!r} s (end), uncertainties {u_start[0]!r} s and {u_end[0]!r} s: "
                                      "rank 0's clock is the reference, its offsets 0 exactly"))
    if absent:  # a file from before the end estimate: t on the start offset throughout
        return
    fields = np.stack([end, u_end, ppm, interval])
    finite, nan = np.isfinite(fields).all(axis=0), np.isnan(fields).all(axis=0)
    want = "NaN (a recovered file has no end estimate)" if run.recovered else "finite (the end estimate)"
    c.flag("clock-offset", ~(nan if run.recovered else finite) | (finite & ~((u_end >= 0) & (interval > 0))),
           lambda i: f"machines/clock_offset_end_s[{i}] {end[i]!r} s, clock_offset_end_uncertainty_s {u_end[i]!r} s, "
           f"clock_rate_ppm {ppm[i]!r}, clock_offset_interval_s {interval[i]!r} s: expected {want}, with the "
           "uncertainty >= 0 and the interval > 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        implied = (end - start) / interval * 1e6
    c.flag("clock-rate", finite & ~(np.abs(ppm - implied) <= 1e-9 * np.maximum(1.0, np.abs(implied))),
           lambda i: f"machines/clock_rate_ppm[{i}] is {ppm[i]!r}, but (clock_offset_end_s - clock_offset_s) / "
           f"clock_offset_interval_s x 1e6 = ({end[i]!r} - {start[i]!r}) / {interval[i]!r} x 1e6 = {implied[i]!r}")
    if not ev["rank"].size:
        return
    # Each rank's first and last t (events are in rank order here) against the two estimates.
    bounds = np.searchsorted(ev["rank"], np.arange(n + 1))
    has = bounds[1:] > bounds[:-1]
    first = np.full(n, np.nan)
    last = np.full(n, np.nan)
    first[has] = np.minimum.reduceat(ev["t"], bounds[:-1][has])
    last[has] = np.maximum.reduceat(ev["t"], bounds[:-1][has])
    speedup = float(run.attrs["speedup"])
    end_t = start_t + interval * speedup
    tol = TIME_TOLERANCE_S
    outside = has & np.isfinite(start_t) & (~(first >= start_t - tol) | (finite & ~(last <= end_t + tol)))
    c.flag("clock-interval", outside, lambda i: f"rank {i}: its events span t {first[i]!r} to {last[i]!r} s, "
           f"outside its clock offset estimates at t {start_t[i]!r} s (clock_offset_start_t_s) and "
           f"{end_t[i]!r} s (+ clock_offset_interval_s x speedup): the estimates bracket the tick loop")


def check_model_time(c: Checker, run: Run, ev: Dict[str, np.ndarray], msgs: Messages,
                     latency: Optional[Latency], structural_ok: bool
                     ) -> Tuple[bool, Dict[int, Tuple[int, int]]]:
    """The time invariants, if the file records arrival times; returns whether they were checked
    and the machines whose departures from the queue rule its late deliveries excuse."""
    if "msg_arrival" not in ev:
        return False, {}
    arrival, recv = ev["msg_arrival"], ev["kind"] == RECEIVE
    if run.recovered and recv.any() and np.isnan(arrival[recv]).all():
        # Recovered from a CBJRNL01 journal, which has no arrival times (recover.py): all NaN.
        return False, {}
    at = lambda i: f"rank {ev['rank'][i]} tick {ev['tick'][i]}"  # noqa: E731
    c.flag("arrival-field", recv != np.isfinite(arrival), lambda i: f"{at(i)}: msg_arrival "
           f"{arrival[i]!r} on a {'receive' if recv[i] else 'non-receive'} event (a finite arrival time on "
           "a receive, NaN otherwise)")
    m = run.machines
    paced = not run.flat_out
    # Flat out, a tick's deadline is the time it ran (docs/model.md).
    deadline = (deadlines(m["phase_s"][ev["rank"]], ev["tick"], m["rate_hz"][ev["rank"]]) if paced
                else ev["t"])
    got = np.flatnonzero(msgs.receive_row >= 0)
    got = got[np.argsort(msgs.receive_row[got], kind="stable")]  # in event order
    if latency is not None:
        # Flat out, a message's arrival is its send's t as the loop stamped it + the latency; the
        # file's t of the send may have moved since, onto the offset's line (by at most `shift`).
        moved = float(run.attrs["speedup"]) * clock_bounds(run)[1] if not paced else np.zeros(c.n)
        _check_arrivals(c, ev, msgs, got, deadline, latency, moved)
    _check_send_before_receive(c, run, ev, msgs, got)
    _check_achieved_rate(c, run, ev)
    if paced:
        _check_not_before_deadline(c, run, ev, deadline)
        r = msgs.receive_row[got]
        late = ~(deadline[r] > arrival[r]) & np.isfinite(arrival[r])  # a NaN is an arrival-field violation
        c.flag("receive-deadline", late, lambda k: f"{_message(ev, msgs, got[k])}: taken by the tick with "
               f"deadline {deadline[r[k]]!r} s, not after its arrival time {arrival[r[k]]!r} s (a tick takes "
               "only messages with a < its deadline)")
    _check_end(c, run, ev, deadline, paced)
    excused: Dict[int, Tuple[int, int]] = {}
    if paced and structural_ok and latency is not None and not c.failed(frozenset(("arrival-field",))):
        excused = check_queue_rule(c, run, ev, msgs, deadline, latency)
    return True, excused


def _check_not_before_deadline(c: Checker, run: Run, ev: Dict[str, np.ndarray], deadline: np.ndarray) -> None:
    """A paced tick decides at or after its deadline (the loop sleeps until it): t >= deadline, less
    what placing t on the offset's line may have moved it (clock_bounds) and rounding."""
    speedup = float(run.attrs["speedup"])
    moved = speedup * clock_bounds(run)[1][ev["rank"]]
    t = ev["t"]
    # Rounding: of the model times, and of the wall clock's seconds (about 1e-11 s at a day of
    # uptime), which the speed-up multiplies: 1 ns of wall time covers it.
    early = t < deadline - moved - 1e-9 * (np.maximum(1.0, np.abs(deadline)) + speedup)
    c.flag("tick-before-deadline", early, lambda i: f"rank {ev['rank'][i]} tick {ev['tick'][i]}: t {t[i]!r} s is "
           f"before its deadline {deadline[i]!r} s (a tick decides at or after its deadline"
           + (f"; the offset's line moved t by at most {moved[i]!r} s)" if moved[i] > 0 else ")"))


def _check_achieved_rate(c: Checker, run: Run, ev: Dict[str, np.ndarray]) -> None:
    """/machines/achieved_hz is (ticks - 1) / (t of the last tick - t of the first), from the file's
    own events (NaN for fewer than two ticks); events are in (rank, tick) order here."""
    rank, t = ev["rank"], ev["t"]
    got = run.machines["achieved_hz"]
    n = got.shape[0]
    count = np.bincount(rank, minlength=n)[:n]
    first = np.searchsorted(rank, np.arange(n), side="left")
    last = np.searchsorted(rank, np.arange(n), side="right") - 1
    want = np.full(n, np.nan)
    two = count >= 2
    with np.errstate(divide="ignore", invalid="ignore"):
        want[two] = (count[two] - 1) / (t[last[two]] - t[first[two]])
    same = (got == want) | (np.isnan(got) & np.isnan(want)) | np.isclose(got, want, rtol=1e-9, atol=0.0)
    c.flag("achieved-rate", ~same, lambda i: f"machines/achieved_hz[{i}] is {got[i]!r} Hz, but its {count[i]} "
           f"events give {want[i]!r} Hz ((ticks - 1) / (t of the last - t of the first))")


def _message(ev: Dict[str, np.ndarray], msgs: Messages, k: int) -> str:
    """Message k as a violation names it: where it was received, and its send."""
    r, s = msgs.receive_row[k], msgs.send_row[k]
    where = f"rank {ev['rank'][r]} tick {ev['tick'][r]}: " if r >= 0 else f"to rank {msgs.receiver[k]}: "
    return f"{where}message from rank {ev['rank'][s]} tick {ev['tick'][s]}"


def _check_arrivals(c: Checker, ev: Dict[str, np.ndarray], msgs: Messages, got: np.ndarray,
                    deadline: np.ndarray, latency: Latency, moved: np.ndarray) -> None:
    """msg_arrival = the send's deadline + the latency: exactly for a constant, within the range
    of a random form (IEEE addition is monotonic, so the bounds are exact too; the uniform's
    upper bound gets a few ulps for LO + u (HI - LO) rounding above HI). Up to moved[sender]:
    flat out, how far the send's t may have moved onto its rank's offset line."""
    got = got[np.isfinite(ev["msg_arrival"][msgs.receive_row[got]])]  # a NaN is an arrival-field violation
    a = ev["msg_arrival"][msgs.receive_row[got]]
    send = deadline[msgs.send_row[got]]
    slack = moved[msgs.sender[got]]
    lo = send + latency.least
    within = lambda k: (f" (within {slack[k]:.3g} s: the send's t as the loop stamped it, before it "  # noqa: E731
                        "was placed on its rank's clock offset line)" if slack[k] > 0 else "")
    if latency.constant:
        bad = np.where(slack > 0, ~(np.abs(a - lo) <= slack), a != lo)
        rule = lambda k: (f"= the send's deadline {send[k]!r} s + {latency.least!r} s = {lo[k]!r} s"  # noqa: E731
                          + within(k))
    elif latency.form == UNIFORM:
        hi = send + latency.most
        bad = ~((a >= lo - slack) & (a <= hi + 4 * np.spacing(np.abs(hi)) + slack))
        rule = lambda k: (f"in [{lo[k]!r}, {hi[k]!r}] s (the send's deadline {send[k]!r} s + "  # noqa: E731
                          f"latency {latency.text})" + within(k))
    else:
        assert latency.form == EXP
        bad = ~(a >= lo - slack)
        rule = lambda k: f">= the send's deadline {send[k]!r} s (latency {latency.text})" + within(k)  # noqa: E731
    c.flag("arrival", bad, lambda k: f"{_message(ev, msgs, got[k])}: msg_arrival {a[k]!r} s, expected "
           + rule(k))


def _check_send_before_receive(c: Checker, run: Run, ev: Dict[str, np.ndarray], msgs: Messages,
                               got: np.ndarray) -> None:
    """A receive decides after its send, up to the two ranks' clock offset uncertainties: t is on
    rank 0's clock through each rank's offset, whose error is at most U (clock_bounds) wall
    seconds, speedup x U model seconds. Across hosts this is the only slack."""
    u = clock_bounds(run)[0]
    speedup = float(run.attrs["speedup"])
    t_recv, t_send = ev["t"][msgs.receive_row[got]], ev["t"][msgs.send_row[got]]
    u_send, u_recv = u[msgs.sender[got]], u[msgs.receiver[got]]
    slack = speedup * (u_send + u_recv)
    c.flag("receive-after-send", ~(t_recv >= t_send - slack - TIME_TOLERANCE_S), lambda k: (
           f"{_message(ev, msgs, got[k])}: received at t {t_recv[k]!r} s, {t_send[k] - t_recv[k]:.3g} s before it "
           f"was sent at t {t_send[k]!r} s, more than the clock offset uncertainty {slack[k]:.3g} s allows "
           f"(receive-after-send: a receive's t is not earlier than its send's by more than speedup x "
           f"(U sender + U receiver) = {speedup:g} x ({u_send[k]:.3g} + {u_recv[k]:.3g}) s, U the larger of a "
           "rank's start and end clock_offset uncertainties)"))


def _check_end(c: Checker, run: Run, ev: Dict[str, np.ndarray], deadline: np.ndarray, paced: bool) -> None:
    """Every deadline before end_s, and no t after end_s + grace x speedup. A degraded run may
    have ticks due after end_s (a stop heard too late: see _check_tick_count); a recovered file's
    end_s is its cut, so its deadlines are bounded by the configured duration instead."""
    a = run.attrs
    end_s = float(a["end_s"])
    rank, t = ev["rank"], ev["t"]
    at = lambda i: f"rank {rank[i]} tick {ev['tick'][i]}"  # noqa: E731
    overrun = np.zeros(rank.size, dtype=bool)
    if paced:
        bound, name = (float(a["duration_s"]), "duration_s") if run.recovered else (end_s, "end_s")
        overrun = ~(deadline < bound)
        c.flag("end", overrun & ~run.degraded, lambda i: f"{at(i)}: deadline {deadline[i]!r} s is not before "
               f"{name} {bound!r} s (a tick runs only if its deadline is before the end)")
    last = end_s + float(a["grace_s"]) * float(a["speedup"])
    # A rank stops on its own clock through its start offset; its t may have moved since, onto
    # the offset's line.
    u, moved = clock_bounds(run)
    slack = float(a["speedup"]) * (u + moved)[rank] + TIME_TOLERANCE_S
    c.flag("end", ~(t <= last + slack) & ~overrun, lambda i: f"{at(i)}: t {t[i]!r} s after end_s + grace_s x "
           f"speedup = {last!r} s (no event is recorded after it)")
