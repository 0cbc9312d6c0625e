"""Time you can trust (docs/model.md): the events of a run are fixed by its seed, equal to an
independent simulation of the rules (tests/analysis/replay.py), and a loop that could not keep up
says so in the file, the result line and the exit code of --strict-timing, and still verifies."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Dict, List

import h5py
import numpy as np
import pytest

from runs import attrs, rank_pids, result_fields, run, start, verify, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "analysis"))
from replay import flatten, replay  # noqa: E402

# Every field the model fixes: all but t (measured) and the lateness figures.
MODEL_FIELDS = ("rank", "tick", "kind", "lamport", "jump", "queue", "peer", "msg_tick", "msg_clock", "msg_arrival")
# A run that shares two cores with the rest of the test suite keeps time at these speeds; a run that
# did not is marked degraded and then promises nothing about its events, so it is run again.
ATTEMPTS = 3


def events(path: Path) -> Dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        return {k: f["events"][k][:] for k in (*MODEL_FIELDS, "t")}


def first_difference(a: Dict[str, np.ndarray], b: Dict[str, np.ndarray]) -> str:
    """'' when the model fields are equal (NaN equal to NaN), else where they first differ."""
    for k in MODEL_FIELDS:
        x, y = np.asarray(a[k]), np.asarray(b[k])
        if x.shape != y.shape:
            return f"{k}: {x.size} events against {y.size}"
        same = (x == y) | (np.isnan(x) & np.isnan(y)) if x.dtype.kind == "f" else x == y
        if not same.all():
            i = int(np.flatnonzero(~same)[0])
            return f"{k} differs at rank {a['rank'][i]} tick {a['tick'][i]}: {x[i]!r} against {y[i]!r}"
    return ""


def timed_run(np_: int, args: List, path: Path, cwd: Path) -> Dict[str, str]:
    """Runs until the loop kept time (at most ATTEMPTS runs); returns the result line's fields."""
    for attempt in range(ATTEMPTS):
        if path.exists():
            path.unlink()
        r = run(np_, [*args, "-q", "-o", path], cwd)
        assert r.returncode == 0, r.stderr
        fields = result_fields(r.stdout)
        if fields["timing"] == "ok":
            v = verify(path)
            assert v.returncode == 0, v.stdout + v.stderr
            return fields
    pytest.fail(f"{ATTEMPTS} runs of {args} on {np_} ranks all fell behind the model: {r.stderr.strip()}")


def simulated(path: Path) -> Dict[str, np.ndarray]:
    """The independent simulation of the run's configuration, as stored in the file."""
    a = attrs(path)
    with h5py.File(path, "r") as f:
        rates = [float(r) for r in f["machines/rate_hz"][:]]
    sim = flatten(replay(rates, int(a["seed"]), float(a["end_s"]), float(a["p_internal"]), str(a["topology"]),
                         str(a["phase_mode"]), str(a["latency"])))
    return {k: np.asarray(sim[k]) for k in MODEL_FIELDS}


def run_against_simulation(args: List, tmp_path: Path) -> Path:
    """A run of 3 ranks that kept time, whose events equal the independent simulation's."""
    out = tmp_path / "run.h5"
    timed_run(3, args, out, tmp_path)
    assert first_difference(events(out), simulated(out)) == ""
    return out


def test_same_seed_same_events(tmp_path: Path) -> None:
    args = ["--duration", 30, "--speedup", 15, "--seed", 424242]
    first, second = tmp_path / "first.h5", tmp_path / "second.h5"
    timed_run(3, args, first, tmp_path)
    timed_run(3, args, second, tmp_path)
    a, b = events(first), events(second)
    assert first_difference(a, b) == ""
    assert not np.array_equal(a["t"], b["t"])  # measured, so never exactly the same twice


@pytest.mark.parametrize("phase", ["zero", "random"])
def test_integer_rates_equal_the_independent_simulation(tmp_path: Path, phase: str) -> None:
    # Integer rates with a common start put deadlines of different machines on the same instants
    # (rates 2, 4, 6 share every half second): the a < T rule decides them, not the scheduler.
    out = run_against_simulation(["--rates", "2,4,6", "--duration", 40, "--speedup", 20, "--seed", 99,
                                  "--phase", phase], tmp_path)
    with h5py.File(out, "r") as f:
        phases = f["machines/phase_s"][:]
    if phase == "zero":
        assert (phases == 0).all()
    else:
        assert ((phases > 0) & (phases < 1 / np.array([2, 4, 6]))).all()


@pytest.mark.parametrize("latency", ["0.05", "uniform:0.01,0.4", "exp:0.2"])
def test_each_latency_form_arrives_at_deadline_plus_latency(tmp_path: Path, latency: str) -> None:
    # The simulation draws every latency from the sender's stream itself: equal arrival times are
    # a = deadline + latency, message for message.
    out = run_against_simulation(["--rates", "3,5,6", "--duration", 30, "--speedup", 15, "--seed", 7,
                                  "--latency", latency], tmp_path)
    got = events(out)
    assert attrs(out)["latency"] == latency
    with h5py.File(out, "r") as f:
        rate, phase = f["machines/rate_hz"][:], f["machines/phase_s"][:]
    recv = got["kind"] == 3
    sender, stick = got["peer"][recv], got["msg_tick"][recv]
    send_deadline = phase[sender] + stick / rate[sender]
    delay = got["msg_arrival"][recv] - send_deadline
    if latency == "0.05":
        assert np.allclose(delay, 0.05, rtol=0, atol=1e-12)
    elif latency.startswith("uniform"):
        assert delay.min() >= 0.01 - 1e-12 and delay.max() <= 0.4 + 1e-12 and delay.std() > 0.05
    else:
        assert delay.min() >= 0 and 0.1 < delay.mean() < 0.4


def test_receives_follow_their_sends_at_64_ranks(tmp_path: Path) -> None:
    out = tmp_path / "run.h5"
    r = run(64, ["--duration", 4, "--speedup", 40, "--seed", 3, "-q", "-o", out], tmp_path, timeout=240)
    assert r.returncode == 0, r.stderr
    v = verify(out)
    assert v.returncode == 0, v.stdout + v.stderr
    ev = events(out)
    with h5py.File(out, "r") as f:
        ticks = f["machines/ticks"][:]
    first_row = np.concatenate(([0], np.cumsum(ticks)[:-1]))
    recv = np.flatnonzero(ev["kind"] == 3)
    assert recv.size > 100
    send_row = first_row[ev["peer"][recv]] + ev["msg_tick"][recv]
    assert (ev["tick"][send_row] == ev["msg_tick"][recv]).all()
    # One host, one monotonic clock: no receive is stamped before its send, not by a nanosecond.
    early = ev["t"][recv] - ev["t"][send_row]
    assert early.min() >= 0, f"a receive {-early.min()} model s before its send"


def test_a_stalled_rank_degrades_the_run_and_the_file_says_so(tmp_path: Path) -> None:
    out = tmp_path / "stalled.h5"
    # 6 s of wall time. Rank 1 stops for 1.5 s mid-run (on waking it runs its late ticks, whose
    # messages reach ranks 0 and 2 after their deadlines: late deliveries), then from 5 s until
    # after the end (its last ticks cannot run by then: missed ticks).
    proc = start(3, ["--rates", "6,6,6", "--p-internal", "0.1", "--duration", 60, "--speedup", 10, "--seed", 11,
                     "--strict-timing", "-o", out], tmp_path)
    pids = rank_pids(proc.pid, 3)
    header = []
    for line in proc.stdout:  # printed once every rank is set up: model time 0 is moments away
        header.append(line)
        if line.startswith("  output:"):
            break
    began = time.monotonic()
    try:
        for stop_at, resume_at in ((1.5, 3.0), (5.0, 7.5)):
            time.sleep(max(0.0, began + stop_at - time.monotonic()))
            os.kill(pids[1], signal.SIGSTOP)
            time.sleep(max(0.0, began + resume_at - time.monotonic()))
            os.kill(pids[1], signal.SIGCONT)
    finally:
        for pid in pids.values():
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
    code = wait_for(proc, timeout=60)
    stdout, stderr = proc.communicate()
    stdout = "".join(header) + stdout
    assert code == 1, f"--strict-timing must exit 1 on a degraded run; got {code}\n{stdout}\n{stderr}"
    fields = result_fields(stdout)
    assert fields["status"] == "ok" and fields["completed"] == "1" and fields["timing"] == "degraded"
    assert "warning: the loop did not keep up with the model" in stderr
    a = attrs(out)  # written, whole, in place
    assert str(a["timing"]).startswith("degraded: ") and "worst machine 1" in str(a["timing"])
    with h5py.File(out, "r") as f:
        late, missed = f["machines/late_deliveries"][:], f["machines/missed_ticks"][:]
        first = f["machines/first_degraded_s"][:]
    assert late[[0, 2]].sum() > 0, late  # rank 1's catch-up sends came after their deadlines
    assert missed[1] > 0 and missed[0] == 0 and missed[2] == 0, missed
    # The stalls began about 15 and 50 model s into the run: the late deliveries date from the
    # first, rank 1's missed ticks from the second.
    assert all(10 <= first[r] <= 30 for r in (0, 2) if late[r] > 0), first
    assert 45 <= first[1] <= 60, first
    assert int(a["late_deliveries"]) == late.sum() and int(a["missed_ticks"]) == missed.sum()
    assert int(fields["late_deliveries"]) == late.sum() and int(fields["missed_ticks"]) == missed.sum()
    v = verify(out)
    assert v.returncode == 0, v.stdout + v.stderr
    ev = events(out)
    assert ev["t"].max() <= float(a["end_s"]) + float(a["grace_s"]) * float(a["speedup"])
