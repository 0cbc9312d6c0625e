"""summary and theory on synthetic files and on real clockbench runs; the (1,2,6) queue growth."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from clockbench.theory.compare import compare, theory_for
from clockbench.measure.metrics import compute
from clockbench.file.schema import open_run
from runs import run


def test_summary_of_a_synthetic_run(make_run, cli) -> None:
    path = make_run(rates=(2.0, 3.0, 8.0), duration_s=40.0)
    res = cli("summary", path)
    assert res.code == 0, res.err
    for words in ("3 machines, topology full", "[complete]", "achieved_hz", "jump_mean", "queue_slope",
                  "lag_mean", "drift: Lamport spread", "theory from the run's rates", "theory check:"):
        assert words in res.out, words
    table = re.split(r"machine +host", res.out)[1].splitlines()[1:4]
    assert [row.split()[0] for row in table] == ["0", "1", "2"]


def test_summary_marks_a_partial_run(make_run, cli) -> None:
    def stop(d):
        d.attrs["completed"] = np.int32(0)
        d.attrs["stop_reason"] = "SIGTERM on rank 1"
        d.attrs["end_s"] = 9.0
    res = cli("summary", make_run(mutate=stop))
    assert res.code == 0, res.err
    assert "PARTIAL: stopped at model t 9.000 s (SIGTERM on rank 1)" in res.out


@pytest.mark.parametrize("content", [b"not hdf5", None])
def test_summary_of_bad_files(tmp_path: Path, cli, content) -> None:
    path = tmp_path / "bad.h5"
    if content is not None:
        path.write_bytes(content)
    res = cli("summary", path)
    assert res.code == 2
    assert res.err.count("\n") == 1 and res.err.startswith(f"clockbench-analyze: error: {path}")
    assert "Traceback" not in res.err


def test_summary_of_an_empty_run(make_run, cli) -> None:
    def empty(d):
        for k in d.events:
            d.events[k] = d.events[k][:0]
    res = cli("summary", make_run(mutate=empty))
    assert res.code == 2 and "no events" in res.err


def test_summary_of_a_run_where_one_machine_never_ticked(make_run, cli) -> None:
    """A run stopped before rank 2's first tick: summary still works (and says 0 ticks)."""
    def drop(d):
        keep = d.events["rank"] != 2
        for k in d.events:
            d.events[k] = d.events[k][keep]
        d.attrs["completed"] = np.int32(0)
    res = cli("summary", make_run(mutate=drop))
    assert res.code == 0, res.err
    row = [ln.split() for ln in res.out.splitlines() if ln.split()[:1] == ["2"]][0]
    header = re.split(r"machine +host", res.out)[1].splitlines()[0].split()
    assert row[2 + header.index("ticks")] == "0"  # after machine and host


def test_metrics_of_a_synthetic_run_match_its_events(make_run) -> None:
    run_ = open_run(make_run(rates=(2.0, 3.0, 8.0), duration_s=30.0))
    m = compute(run_)
    ev = run_.events
    for i, x in enumerate(m.machines):
        mine = ev["rank"] == i
        recv = mine & (ev["kind"] == 3)
        assert x.ticks == mine.sum()
        assert x.kind_counts.sum() == x.ticks
        assert x.jump_max == ev["jump"][recv].max()
        assert math.isclose(x.jump_mean, ev["jump"][recv].mean())
        assert x.queue_max == ev["queue"][mine].max()
        # The clock on the grid never exceeds the machine's final clock and ends at it.
        assert m.clocks[i, -1] == ev["lamport"][mine][-1] or ev["t"][mine][-1] > m.grid[-1]
    # The drift recomputed from /events by walking each machine's events along the grid: a
    # machine's clock at time g is the lamport of its last event at or before g, 0 before any.
    spread = []
    for g in m.grid:
        clocks = []
        for i in range(len(m.machines)):
            value = 0
            for t, lamport in zip(ev["t"][ev["rank"] == i], ev["lamport"][ev["rank"] == i]):
                if t > g:
                    break
                value = int(lamport)
            clocks.append(value)
        spread.append(max(clocks) - min(clocks))
    assert list(m.spread) == spread
    assert m.drift_max == max(spread) and m.drift_mean == pytest.approx(sum(spread) / len(spread), rel=1e-12)
    assert m.drift_max > 0  # three machines at 2, 3 and 8 Hz do drift apart


def test_theory_cli_gives_spec_examples(cli) -> None:
    res = cli("theory", "--rates", "1,2,6")
    assert res.code == 0, res.err
    rows = {ln.split()[0]: ln.split() for ln in res.out.splitlines() if ln.split() and ln.split()[0].isdigit()}
    assert rows["0"][4] == "GROWS" and float(rows["0"][5]) == pytest.approx(1 / 3, abs=1e-4)
    assert rows["1"][4] == "stable" and rows["2"][4] == "stable"
    assert "agrees with the general solve" in res.out
    res = cli("theory", "--rates", "1,2,3")
    lam = [float(ln.split()[2]) for ln in res.out.splitlines() if ln.split() and ln.split()[0].isdigit()]
    assert lam == pytest.approx([0.8214, 0.5714, 0.3214], abs=1e-4)


@pytest.mark.parametrize("args,words", [
    (["--rates", "1,x"], "not a comma-separated list"),
    (["--rates", "1"], "at least 2 positive rates"),
    (["--rates", "1,2", "--p-internal", "2"], "--p-internal must be in [0, 1]"),
    (["--rates", "1,2", "--topology", "star"], "topology 'star' is not full, ring or random:K"),
])
def test_theory_cli_bad_input(cli, args, words) -> None:
    res = cli("theory", *args)
    assert res.code == 2 and words in res.err and res.err.count("\n") == 1


def test_rate_one_queue_grows_at_the_predicted_slope(tmp_path: Path, cli) -> None:
    """A real clockbench run at rates (1, 2, 6): the rate-1 machine's queue grows at 1/3 msg/s.

    Tolerance: the queue is arrivals minus receives; receives are one per tick (r T, fixed) and
    arrivals are a sum of Bernoulli sends with variance at most their mean lambda T, so the
    slope over T model seconds has a standard deviation of about sqrt(lambda / T) =
    sqrt(1.333 / 1200) = 0.033 msg/s. We allow 3 of those plus 5% of the prediction for the
    mean-field transient: +-0.117 around 0.333, which still tells growth from a stable queue (0)
    and from the rates' other plausible slopes (e.g. 0.2 of (1,1,6)) apart.
    """
    out = tmp_path / "r126.h5"
    proc = run(3, ["--rates", "1,2,6", "--duration", 1200, "--speedup", 200, "--seed", 126, "-o", out, "-q"],
               tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    run_ = open_run(out)
    m = compute(run_)
    pred = theory_for(m, run_.network["adjacency"])
    assert not pred.stable[0] and pred.stable[1] and pred.stable[2]
    sd = math.sqrt(pred.arrival[0] / m.end_s)
    assert abs(m.machines[0].queue_slope - pred.growth[0]) <= 3 * sd + 0.05 * pred.growth[0], \
        (m.machines[0].queue_slope, pred.growth[0])
    assert abs(pred.growth[0] - 1 / 3) < 0.01  # achieved rates are the nominal ones, closely
    checks = compare(m, pred)
    assert sum(c.ok for c in checks) >= len(checks) - 1  # 3-sigma checks: one miss is chance
    res = cli("summary", out)
    assert res.code == 0 and "growing queues: machine 0 at 0.33" in res.out


def test_summary_names_the_model_settings_and_the_timing_verdict(tmp_path: Path, cli) -> None:
    from conftest import write_run
    from model_sim import simulate_model
    path = write_run(tmp_path / "model.h5", simulate_model(latency="uniform:0.01,0.4", duration_s=20.0))
    res = cli("summary", path)
    assert res.code == 0, res.err
    assert "model: phase random, latency uniform:0.01,0.4 model s, grace 0.002 s; timing ok" in res.out
    assert "The mean-field theory already covers phases and latency" in res.out
    header = re.split(r"machine +host", res.out)[1].splitlines()[0].split()
    assert header[-3:] == ["phase_s", "late_deliveries", "missed_ticks"]


def test_summary_of_a_degraded_run_says_so_with_its_counts(tmp_path: Path, cli) -> None:
    from conftest import write_run
    from model_sim import Faults, simulate_model
    data = simulate_model(faults=Faults(missed={1: 2}))
    res = cli("summary", write_run(tmp_path / "degraded.h5", data))
    assert res.code == 0, res.err
    assert "; TIMING degraded: 0 late deliveries, 2 missed ticks; worst machine 1" in res.out
    row = [ln.split() for ln in res.out.splitlines() if ln.split()[:1] == ["1"]][0]
    assert row[-2:] == ["0", "2"]


def test_summary_of_a_file_without_timing_counts(make_run, cli) -> None:
    res = cli("summary", make_run())
    assert res.code == 0, res.err
    assert "model: phase zero, latency 0 model s, grace 0 s; timing unknown (the file has no timing counts)" \
        in res.out
    row = [ln.split() for ln in res.out.splitlines() if ln.split()[:1] == ["0"]][0]
    assert row[-3:] == ["0.0000", "-", "-"]


# Ring (1,2,3,4) at p = 0.7: a machine sends each neighbour 2 (1 - p) / 3 = 0.2 messages per free
# tick. Machine 0 is swamped and sends nothing, so with a = lambda_1 = lambda_3 (both hear only
# machine 2 besides 0) and b = lambda_2 = lambda_0 (both hear 1 and 3): a = 0.2 (3 - b),
# b = 0.2 (2 - a + 4 - a), hence b = 0.96 / 0.92 = 1.0435 and a = 0.3913; machine 0's queue grows
# at b - 1 = 0.0435 per s.
RING_1234 = {0: ("1.0435", "GROWS", "0.0435"), 1: ("0.3913", "stable", "0.0000"), 2: ("1.0435", "stable", "0.0000"),
             3: ("0.3913", "stable", "0.0000")}


def theory_rows(out: str) -> dict:
    return {int(ln.split()[0]): ln.split() for ln in out.splitlines() if ln.split() and ln.split()[0].isdigit()}


def test_theory_of_a_ring_from_its_rates(cli) -> None:
    res = cli("theory", "--rates", "1,2,3,4", "--topology", "ring")
    assert res.code == 0, res.err
    assert "4 machines, topology ring, p_internal 0.7" in res.out
    rows = theory_rows(res.out)
    assert {i: (r[2], r[4], r[5]) for i, r in rows.items()} == RING_1234


def test_theory_of_a_run_file_takes_its_rates_topology_and_p(make_run, cli) -> None:
    path = make_run(rates=(1.0, 2.0, 3.0, 4.0), topology="ring", p_internal=0.7, duration_s=5.0)
    res = cli("theory", path)
    assert res.code == 0, res.err
    assert f"from the rates of {path}" in res.out and "4 machines, topology ring, p_internal 0.7" in res.out
    rows = theory_rows(res.out)
    assert {i: (r[2], r[4], r[5]) for i, r in rows.items()} == RING_1234
