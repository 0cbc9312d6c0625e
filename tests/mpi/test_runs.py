"""Short sped-up runs on 2, 3, 8 and 64 ranks: the file verifies, follows the schema, ticks every
tick the model says (or counts it missed), its rates agree with its own events, and its stored
/config reruns the same experiment. How close to the nominal rate the loop runs is a figure of
bench/run (timing fidelity), not a threshold here: a loaded machine must not fail these."""

from __future__ import annotations

import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

from runs import ANALYZE, result_fields, run, ticks_before, verify

DURATION, SPEEDUP = 20.0, 20.0

# Names from docs/schema.md, written out here rather than imported from its table
# (schema/clockbench-1.json), so the writer is checked against the document and not against itself.
ROOT_ATTRS = ["schema", "clockbench_version", "git_sha", "created_utc", "command_line",
              "mpi_library_version", "hdf5_version", "n_machines", "duration_s", "speedup", "seed",
              "p_internal", "topology", "completed", "stop_reason"]
MACHINE_FIELDS = ["rank", "hostname", "pid", "rate_hz", "achieved_hz", "ticks", "sent", "received",
                  "left_in_queue", "clock_offset_s", "lateness_p50_s", "lateness_p99_s",
                  "lateness_max_s"]
EVENT_FIELDS = {"rank": "i4", "tick": "i8", "t": "f8", "kind": "u1", "lamport": "i8", "jump": "i8",
                "queue": "i4", "peer": "i4", "msg_tick": "i8", "msg_clock": "i8"}


@pytest.mark.parametrize("np_", [2, 3, 8, 64], ids=["np2", "np3", "np8", "np64"])
def test_run_verifies_and_keeps_time(np_: int, tmp_path: Path) -> None:
    out = tmp_path / "run.h5"
    seed = 1000 + np_
    io = "collective" if np_ in (3, 64) else "independent"  # both ways of writing, small and large N
    proc = run(np_, ["--duration", DURATION, "--speedup", SPEEDUP, "--seed", seed, "--hdf5-io", io, "-o", out],
               tmp_path)
    assert proc.returncode == 0, proc.stderr
    fields = result_fields(proc.stdout)
    assert fields["status"] == "ok" and fields["completed"] == "1"
    assert fields["machines"] == str(np_) and fields["seed"] == str(seed)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.h5"], "no partial file may be left"

    v = verify(out)
    assert v.returncode == 0, v.stdout + v.stderr
    assert v.stdout.startswith(f"OK {out}: {np_} machines")

    with h5py.File(out, "r") as f:
        for name in ROOT_ATTRS:
            assert name in f.attrs, f"root attribute {name} missing"
        assert f.attrs["schema"] == "clockbench/1"
        assert f.attrs["n_machines"] == np_ and f.attrs["completed"] == 1
        assert f.attrs["stop_reason"] == "duration reached"
        assert f.attrs["events_io_mode"] == io  # what HDF5 reports it did
        for name in MACHINE_FIELDS:
            d = f["machines"][name]
            assert d.shape == (np_,)
            assert d.attrs["units"] and d.attrs["description"]
        for name, dtype in EVENT_FIELDS.items():
            d = f["events"][name]
            assert d.dtype == np.dtype(dtype), f"{name}: {d.dtype}"
            assert d.attrs["units"] and d.attrs["description"]
        assert f["config"].attrs["description"]

        rates = f["machines/rate_hz"][:]
        phases = f["machines/phase_s"][:]
        ticks = f["machines/ticks"][:]
        missed = f["machines/missed_ticks"][:]
        achieved = f["machines/achieved_hz"][:]
        rank, tick, t = f["events/rank"][:], f["events/tick"][:], f["events/t"][:]
        assert list(f["machines/rank"][:]) == list(range(np_))
        # Every rank ran the ticks due in the duration, none extra, or counted those it could not
        # run as missed (a loaded machine may); a run that kept time missed none.
        due = [ticks_before(DURATION, r, ph) for r, ph in zip(rates, phases)]
        assert list(ticks + missed) == due
        if fields["timing"] == "ok":
            assert list(ticks) == due and not missed.any()
        assert int(fields["events"]) == int(ticks.sum()) == len(rank)
        assert int(fields["missed_ticks"]) == int(missed.sum())
        # The achieved rate, recomputed from the events: (ticks - 1) over the span of t.
        for r in range(np_):
            mine = t[rank == r]
            assert np.count_nonzero(rank == r) == ticks[r]
            assert achieved[r] == pytest.approx((ticks[r] - 1) / (mine.max() - mine.min()), rel=1e-12), r
        # No tick decided before it was due (tick k of machine i at phase_i + k / rate_i).
        assert np.all(t >= phases[rank] + tick / rates[rank]), "a tick ran before its deadline"
        assert fields["max_rate_error"] == "0" or float(fields["max_rate_error"]) == pytest.approx(
            float(np.max(np.abs(achieved / rates - 1))), rel=1e-9)
        assert set(np.unique(f["machines/hostname"][:])) == {f["machines/hostname"][0]}
        assert np.all(f["machines/clock_offset_s"][:] == 0.0)  # one host: one monotonic clock
        config_text = f["config"][()].decode()
        rates_first = list(rates)

    # The stored /config, as `clockbench-analyze config` prints it, reruns the same experiment.
    shown = subprocess.run(["/usr/bin/python3", str(ANALYZE), "config", str(out)], capture_output=True,
                           text=True, check=True).stdout
    assert shown == config_text
    cfg = tmp_path / "rerun.toml"
    cfg.write_text(shown)
    again = run(np_, ["--config", cfg, "-o", tmp_path / "rerun.h5", "-q"], tmp_path)
    assert again.returncode == 0, again.stderr
    with h5py.File(tmp_path / "rerun.h5", "r") as f:
        assert f["config"][()].decode() == config_text
        assert list(f["machines/rate_hz"][:]) == rates_first
        assert f.attrs["seed"] == seed


@pytest.mark.parametrize("np_", [3], ids=["np3"])
def test_ring_topology_and_fractional_rates(np_: int, tmp_path: Path) -> None:
    out = tmp_path / "ring.h5"
    proc = run(4, ["--duration", 10, "--speedup", 20, "--topology", "ring", "--rate-min", 0.5,
                   "--rate-max", 5.5, "--fractional-rates", "--seed", 3, "-o", out, "-q"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert verify(out).returncode == 0
    with h5py.File(out, "r") as f:
        adj = f["network/adjacency"][:]
        assert adj.sum(axis=1).tolist() == [2, 2, 2, 2]
        assert adj[0, 2] == 0 and adj[0, 1] == 1 and adj[0, 3] == 1
        rates = f["machines/rate_hz"][:]
        assert np.all((rates >= 0.5) & (rates <= 5.5)) and np.any(rates != np.round(rates))


@pytest.mark.parametrize("np_", [2], ids=["np2"])
def test_clock_offset_estimate_is_small_on_one_host(np_: int, tmp_path: Path) -> None:
    """Forces the cross-host ping-pong estimate on one host, where the true offset is 0."""
    out = tmp_path / "offset.h5"
    proc = run(np_, ["--duration", 2, "--speedup", 20, "--seed", 1, "--clock-estimate", "force", "-o", out, "-q"],
               tmp_path)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out, "r") as f:
        offset = f["machines/clock_offset_s"][:]
        unc = f["machines/clock_offset_uncertainty_s"][:]
    assert offset[0] == 0.0 and unc[0] == 0.0
    assert 0 < unc[1] < 1e-3
    assert abs(offset[1]) <= unc[1] + 1e-5
