"""verify's clock offset rules (docs/schema.md, "Invariants"; docs/model.md, "God's-eye time"): the
start and end estimates, the rate between them and the interval they bracket; a receive's t
against its send's with each rank's larger uncertainty times the speedup as the only slack; flat
out, a send's t moved onto its rank's offset line. Each rule passes on consistent fields and fails
on one planted fault, naming the rule and the numbers."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import pytest

from conftest import RunData, run_cli, write_run
from model_sim import simulate_model

from clockbench.file.schema import open_run
from clockbench.file.verify import VerifyResult, verify


def verified(tmp_path: Path, data: RunData) -> VerifyResult:
    return verify(open_run(write_run(tmp_path / "run.h5", data)))


def flagged(result: VerifyResult) -> Dict[str, str]:
    return {v.check: str(v) for v in result.violations}


def with_clock(d: RunData, start: Optional[np.ndarray] = None, u_start: float = 2e-6, end: Optional[np.ndarray] = None,
               u_end: float = 3e-6, start_t: float = -0.05) -> RunData:
    """The five end-of-run clock fields, consistent: rank 0 the reference (0, 0), the others the
    offsets given (default 0.5 s, 1.5 s, ... at the start, 20 ppm more at the end)."""
    n = len(d.machines["rank"])
    m, speedup = d.machines, float(d.attrs["speedup"])
    interval = (float(d.attrs["end_s"]) - start_t) / speedup + 0.01  # the end estimate after the last event
    start = np.concatenate(([0.0], 0.5 + np.arange(n - 1))) if start is None else start
    end = start + np.concatenate(([0.0], np.full(n - 1, 20e-6 * interval))) if end is None else end
    m["clock_offset_s"] = start
    m["clock_offset_uncertainty_s"] = np.concatenate(([0.0], np.full(n - 1, u_start)))
    m["clock_offset_end_s"] = end
    m["clock_offset_end_uncertainty_s"] = np.concatenate(([0.0], np.full(n - 1, u_end)))
    m["clock_offset_interval_s"] = np.full(n, interval)
    m["clock_rate_ppm"] = (end - start) / interval * 1e6
    m["clock_offset_start_t_s"] = np.full(n, start_t)
    return d


def send_row(d: RunData, r: int) -> int:
    ev = d.events
    return int(np.flatnonzero((ev["rank"] == ev["peer"][r]) & (ev["tick"] == ev["msg_tick"][r]))[0])


def test_consistent_clock_fields_verify_and_summary_shows_host_and_offset(tmp_path: Path) -> None:
    d = with_clock(simulate_model())
    d.machines["hostname"] = np.array(["h1", "h2", "h3"], dtype=object)
    path = write_run(tmp_path / "run.h5", d)
    result = verify(open_run(path))
    assert result.ok, result.violations
    out = run_cli("summary", path).out
    header = next(ln.split() for ln in out.splitlines() if ln.split()[:2] == ["machine", "host"])
    row = next(ln.split() for ln in out.splitlines() if ln.split()[:1] == ["2"])
    assert header[:5] == ["machine", "host", "offset_s", "offset_unc_us", "clock_ppm"]
    assert row[1:5] == ["h3", "1.500000", "3.0", "20.000"]  # the larger uncertainty: the end's 3 us


FAULTS: Dict[str, tuple] = {
    "rate not the offsets' growth": (lambda m: m["clock_rate_ppm"].__setitem__(1, 21.0), "clock-rate",
                                     "machines/clock_rate_ppm[1] is 21.0, but (clock_offset_end_s - clock_offset_s)"),
    "negative end uncertainty": (lambda m: m["clock_offset_end_uncertainty_s"].__setitem__(2, -1e-6), "clock-offset",
                                 "clock_offset_end_uncertainty_s -1e-06 s"),
    "no end estimate in a written file": (
        lambda m: [m[k].__setitem__(1, math.nan) for k in ("clock_offset_end_s", "clock_offset_end_uncertainty_s",
                                                           "clock_rate_ppm", "clock_offset_interval_s")],
        "clock-offset", "expected finite (the end estimate)"),
    "rank 0 not the reference": (lambda m: m["clock_offset_s"].__setitem__(0, 1e-3), "clock-offset",
                                 "rank 0's clock offsets are 0.001 s (start)"),
    "start estimate not finite": (lambda m: m["clock_offset_s"].__setitem__(2, math.nan), "clock-offset",
                                  "machines/clock_offset_s[2] is nan s"),
    "start estimate after the first events": (lambda m: m["clock_offset_start_t_s"].__setitem__(1, 0.5),
                                              "clock-interval", "rank 1: its events span t"),
    "one field of five": (lambda m: m.pop("clock_rate_ppm"), "clock-offset",
                          "lacks machines/clock_rate_ppm (they are written together)"),
}


@pytest.mark.parametrize("name", list(FAULTS))
def test_each_clock_field_rule_fails_on_its_fault(tmp_path: Path, name: str) -> None:
    plant, check, words = FAULTS[name]
    d = with_clock(simulate_model())
    plant(d.machines)
    text = flagged(verified(tmp_path, d))
    assert check in text and words in text[check], text


def test_an_interval_that_ends_before_the_last_event(tmp_path: Path) -> None:
    d = with_clock(simulate_model())
    m = d.machines
    m["clock_offset_interval_s"][:] = 5.0  # the end estimate at t 4.95, the run lasts 10 s
    m["clock_rate_ppm"] = (m["clock_offset_end_s"] - m["clock_offset_s"]) / 5.0 * 1e6
    assert "outside its clock offset estimates" in flagged(verified(tmp_path, d))["clock-interval"]


def _movable_receive(d: RunData, room: float, from_rank_0: bool = True) -> int:
    """A receive whose send (a send-one) can move `room` later without passing its rank's next tick."""
    ev = d.events
    return next(r for r in np.flatnonzero(ev["kind"] == 3) if ev["kind"][send_row(d, r)] == 1
                and (from_rank_0 or ev["peer"][r] != 0)
                and ev["rank"][send_row(d, r) + 1] == ev["peer"][r]
                and ev["t"][send_row(d, r) + 1] > ev["t"][r] + room)


def test_a_receive_before_its_send_within_the_larger_uncertainty_times_the_speedup(tmp_path: Path) -> None:
    d = with_clock(simulate_model(), u_start=1e-3, u_end=0.01)
    ev = d.events
    r = _movable_receive(d, 0.05)
    s = send_row(d, r)
    ev["t"][s] = ev["t"][r] + 0.015  # within 1 x (0.01 + 0.01) s (0 if one of them is rank 0)
    if 0 in (ev["rank"][r], ev["peer"][r]):
        ev["t"][s] = ev["t"][r] + 0.008
    assert verified(tmp_path, d).ok
    ev["t"][s] = ev["t"][r] + 0.03
    text = flagged(verified(tmp_path, d))["receive-after-send"]
    assert f"rank {ev['rank'][r]} tick {ev['tick'][r]}: message from rank {ev['peer'][r]}" in text
    assert "0.03 s before it was sent" in text and "(receive-after-send: a receive's t is not earlier" in text
    u = lambda i: "0" if i == 0 else "0.01"  # noqa: E731
    assert f"= 1 x ({u(ev['peer'][r])} + {u(ev['rank'][r])}) s" in text, text
    # At speedup 4 the same wall uncertainties are four times the model seconds.
    d.attrs["speedup"] = 4.0
    with_clock(d, u_start=1e-3, u_end=0.01)
    assert verified(tmp_path, d).ok


def test_flat_out_a_sends_t_may_move_onto_its_offset_line_as_far_as_the_line_moves(tmp_path: Path) -> None:
    d = simulate_model(flat_out=True, latency="0")
    n = len(d.machines["rank"])
    start = np.array([0.0] + [0.25] * (n - 1))
    with_clock(d, start=start, end=start + np.array([0.0] + [1e-4] * (n - 1)), u_start=1e-6, u_end=1e-6)
    ev = d.events
    r = _movable_receive(d, 0.01, from_rank_0=False)
    s = send_row(d, r)
    assert ev["t"][r] - ev["t"][s] > 1e-3
    ev["t"][s] += 5e-5  # the loop's arrival stays: within the sender's 1e-4 s
    assert verified(tmp_path, d).ok
    ev["t"][s] += 1e-4
    text = flagged(verified(tmp_path, d))["arrival"]
    assert "within 0.0001 s: the send's t as the loop stamped it" in text, text


def test_a_file_from_before_the_end_estimate_verifies_on_its_start_offsets(tmp_path: Path) -> None:
    d = simulate_model()
    d.machines["clock_offset_uncertainty_s"][1:] = 1e-6
    run = open_run(write_run(tmp_path / "old.h5", d))
    assert "machines/clock_rate_ppm" in run.missing and np.isnan(run.machines["clock_rate_ppm"]).all()
    assert verify(run).ok

