"""Flat-out runs (--rates max): the file verifies, the result line reports rates, the tick cap
stops every rank at one model time, --no-output writes nothing, and the null baseline runs.
Figures are printed by bench/run, never judged here: no timed assertions."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

from runs import MPI_ENV, result_fields, run, verify


def test_flat_out_run_verifies_and_reports_rates(tmp_path: Path) -> None:
    out = tmp_path / "flat.h5"
    proc = run(2, ["--rates", "max", "--duration", 0.2, "--seed", 4, "-o", out], tmp_path)
    assert proc.returncode == 0, proc.stderr
    fields = result_fields(proc.stdout)
    assert fields["status"] == "ok" and fields["completed"] == "1" and fields["capped"] == "0"
    assert fields["rates"] == "max"
    events, sent = int(fields["events"]), int(fields["messages_sent"])
    assert float(fields["events_per_s"]) == pytest.approx(events / 0.2, rel=1e-3, abs=5)
    assert float(fields["messages_per_s"]) == pytest.approx(sent / 0.2, rel=1e-3, abs=5)
    assert float(fields["write_s"]) > 0
    assert "events_per_s" in proc.stdout.split("CLOCKBENCH_RESULT")[0]  # the per-machine table

    v = verify(out)
    assert v.returncode == 0, v.stdout + v.stderr
    with h5py.File(out, "r") as f:
        assert f.attrs["flat_out"] == 1 and f.attrs["max_ticks"] == 5_000_000
        assert f.attrs["completed"] == 1 and f.attrs["stop_reason"] == "duration reached"
        # Flat out, the nominal rate recorded is the achieved one; ticks have no deadlines.
        assert np.array_equal(f["machines/rate_hz"][:], f["machines/achieved_hz"][:])
        assert np.all(np.isnan(f["machines/lateness_p99_s"][:]))
        t, rank = f["events/t"][:], f["events/rank"][:]
        assert t.min() >= 0 and t.max() < 0.2
        assert set(np.unique(rank)) == {0, 1}
        assert '"max"' in f["config"][()].decode()


def test_tick_cap_stops_every_rank_at_one_time(tmp_path: Path) -> None:
    """A rank nearing its cap asks for a stop while it still has ticks for the stop's lead, so
    every rank ticks up to the common stop time and none runs out of ticks before it."""
    out = tmp_path / "capped.h5"
    cap = 200_000
    proc = run(3, ["--rates", "max", "--max-ticks", cap, "--duration", 60, "--seed", 2, "-o", out, "-q"],
               tmp_path)
    assert proc.returncode == 0, proc.stderr  # a cap reached is what was asked for, not a failure
    fields = result_fields(proc.stdout)
    assert fields["status"] == "ok" and fields["completed"] == "0" and fields["capped"] == "1"
    assert verify(out).returncode == 0
    with h5py.File(out, "r") as f:
        assert f.attrs["completed"] == 0 and "--max-ticks" in f.attrs["stop_reason"]
        end_s = float(f.attrs["end_s"])
        assert 0 < end_s < 60
        assert np.all(f["machines/ticks"][:] < cap)  # the stop came before any rank's cap
        assert np.all(f["events/t"][:] < end_s)  # and no rank ticked past it


def test_a_rank_at_its_cap_before_the_stop_ticks_no_more(tmp_path: Path) -> None:
    """--max-ticks 1: each rank is at its cap after its first tick, before any stop can be set
    (the stop's lead is 0.1 s); it ticks no more while the stop time comes, and the run ends there
    as a capped one: ticks equal to --max-ticks everywhere, one stop time, exit 0."""
    out = tmp_path / "cap1.h5"
    proc = run(3, ["--rates", "max", "--max-ticks", 1, "--duration", 60, "--seed", 2, "-o", out, "-q"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    fields = result_fields(proc.stdout)
    assert fields["capped"] == "1" and fields["completed"] == "0" and fields["events"] == "3"
    v = verify(out)
    assert v.returncode == 0, v.stdout + v.stderr
    with h5py.File(out, "r") as f:
        assert list(f["machines/ticks"][:]) == [1, 1, 1] and int(f.attrs["max_ticks"]) == 1
        assert "--max-ticks nearly reached on rank" in f.attrs["stop_reason"]
        assert np.all(f["events/t"][:] < float(f.attrs["end_s"]))


def test_flat_out_ring(tmp_path: Path) -> None:
    out = tmp_path / "ring.h5"
    proc = run(4, ["--rates", "max", "--topology", "ring", "--max-ticks", 500000, "--duration", 0.3, "--seed", 9,
                   "-o", out, "-q"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert result_fields(proc.stdout)["topology"] == "ring"
    v = verify(out)
    assert v.returncode == 0, v.stdout + v.stderr
    with h5py.File(out, "r") as f:
        assert int(f.attrs["flat_out"]) == 1 and f.attrs["topology"] == "ring"
        assert f["network/adjacency"][:].tolist() == [[0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0]]
        sent = f["network/sent"][:]
        peer, kind, rank = f["events/peer"][:], f["events/kind"][:], f["events/rank"][:]
    # Nothing is sent across the ring (0-2, 1-3), and every neighbour pair carried messages.
    assert sent[0, 2] == sent[2, 0] == sent[1, 3] == sent[3, 1] == 0 and np.all(np.diag(sent) == 0)
    # Each rank that had the processor long enough to send a few dozen messages sent to both of its
    # neighbours (in the suite, beside other tests, one rank once ran one tick in the 0.3 s).
    assert all(sent[i, (i + 1) % 4] > 0 and sent[i, (i - 1) % 4] > 0 for i in range(4) if sent[i].sum() >= 40), sent
    assert sum(sent[i].sum() >= 40 for i in range(4)) >= 2, sent
    one = kind == 1
    assert np.all((peer[one] - rank[one]) % 4 != 2)


def test_no_output_writes_nothing(tmp_path: Path) -> None:
    proc = run(2, ["--rates", "max", "--duration", 0.2, "--no-output", "-q"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    fields = result_fields(proc.stdout)
    assert fields["output"] == "none" and fields["write_s"] == "0" and int(fields["events"]) > 0
    assert list(tmp_path.iterdir()) == []


NULL_BASELINE = os.environ.get("CLOCKBENCH_NULL_BASELINE")


@pytest.mark.skipif(not NULL_BASELINE, reason="benchmarks not built (CLOCKBENCH_BUILD_BENCHMARKS=OFF)")
def test_null_baseline_runs(tmp_path: Path) -> None:
    proc = subprocess.run(["mpiexec", "-q", "-n", "2", str(NULL_BASELINE), "--duration", "0.2"], cwd=tmp_path,
                          env={**os.environ, **MPI_ENV}, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("CLOCKBENCH_NULL_RESULT ")]
    assert len(lines) == 1, proc.stdout
    fields = dict(kv.split("=", 1) for kv in lines[0].split()[1:])
    assert fields["machines"] == "2" and int(fields["events"]) > 0 and float(fields["events_per_s"]) > 0
