"""`recover` on synthetic crash journals, written here from docs/schema.md ("Crash journal"): the
CBJRNL03 format (each rank's running count of late deliveries and their earliest arrival), the
older CBJRNL02 (phases, latency, msg_arrival) and CBJRNL01; the recovered file carries the fields of
docs/model.md as docs/schema.md says ("Recovered files") and verifies."""

from __future__ import annotations

import math
import re
import struct
from pathlib import Path
from typing import Dict, Sequence, Tuple

import h5py
import numpy as np
import pytest

from conftest import RunData, run_cli, simulate
from model_sim import Faults, simulate_model

from clockbench.file.schema import open_run
from clockbench.file.verify import verify

# The layout of docs/schema.md, spelled out field by field.
HEADER = [("magic", "8s"), ("header_bytes", "I"), ("record_bytes", "I"), ("rank", "i"), ("n_machines", "i"),
          ("seed", "Q"), ("duration_s", "d"), ("speedup", "d"), ("p_internal", "d"), ("flush_interval_s", "d"),
          ("clock_offset_s", "d"), ("clock_offset_uncertainty_s", "d"), ("topology", "i"), ("flat_out", "i"),
          ("max_ticks", "q"), ("pid", "q"), ("clockbench_version", "32s"), ("git_sha", "48s"),
          ("hostname", "256s"), ("n_peers", "i")]
MODEL_TAIL = [("phase_s", "d"), ("grace_s", "d"), ("phase_mode", "i"), ("latency", "64s")]
RECORD_V2 = [("tick", "<i8", 0), ("t", "<f8", 8), ("lamport", "<i8", 16), ("jump", "<i8", 24),
             ("msg_tick", "<i8", 32), ("msg_clock", "<i8", 40), ("msg_arrival", "<f8", 48), ("queue", "<i4", 56),
             ("peer", "<i4", 60), ("kind", "u1", 64)]
RECORD_V3 = RECORD_V2 + [("late_deliveries", "<u4", 68)]
RECORD_V1 = [("tick", "<i8", 0), ("t", "<f8", 8), ("lamport", "<i8", 16), ("jump", "<i8", 24),
             ("msg_tick", "<i8", 32), ("msg_clock", "<i8", 40), ("queue", "<i4", 48), ("peer", "<i4", 52),
             ("kind", "u1", 56)]
FLUSHED_UP_TO = (5.0, 6.3, 5.6, 7.1)  # model s: each rank's last flush before the crash


def write_journal(folder: Path, d: RunData, version: int, flushed: Sequence[float] = FLUSHED_UP_TO,
                  clock: Sequence[Tuple[float, float]] = ()) -> Path:
    """One rank-<r>.bin per machine holding its events up to its flush time; `clock`: each rank's
    start estimate of its clock offset and its uncertainty (0 and 0 if not given). CBJRNL03: each
    rank's late deliveries (d's /machines/late_deliveries) are counted from their first arrival
    (first_degraded_s) on, in the records and the header, as the engine's flusher writes them."""
    folder.mkdir()
    n = len(d.machines["rank"])
    rates = np.full(n, math.inf) if int(d.attrs["flat_out"]) else d.machines["rate_hz"]
    record = {3: RECORD_V3, 2: RECORD_V2, 1: RECORD_V1}[version]
    dtype = np.dtype({"names": [f for f, _, _ in record], "formats": [t for _, t, _ in record],
                      "offsets": [o for _, _, o in record], "itemsize": 64 if version == 1 else 72})
    for r in range(n):
        peers = np.flatnonzero(d.network["adjacency"][r])
        fields = {"magic": f"CBJRNL0{version}".encode(), "record_bytes": dtype.itemsize, "rank": r, "n_machines": n,
                  "seed": int(d.attrs["seed"]), "duration_s": d.attrs["duration_s"], "speedup": d.attrs["speedup"],
                  "p_internal": d.attrs["p_internal"], "flush_interval_s": 1.0,
                  "clock_offset_s": clock[r][0] if clock else 0.0,
                  "clock_offset_uncertainty_s": clock[r][1] if clock else 0.0,
                  "topology": ("full", "ring").index(d.attrs["topology"]),
                  "flat_out": int(d.attrs["flat_out"]), "max_ticks": int(d.attrs["max_ticks"]), "pid": 4000 + r,
                  "clockbench_version": b"0.2.0", "git_sha": b"abc123", "hostname": b"node7", "n_peers": peers.size}
        tail = b""
        if version >= 2:
            tail = struct.pack("<" + "".join(f for _, f in MODEL_TAIL), float(d.machines["phase_s"][r]),
                               float(d.attrs["grace_s"]), ("random", "zero").index(d.attrs["phase_mode"]),
                               d.attrs["latency"].encode())
        if version == 3:
            late, first = int(d.machines["late_deliveries"][r]), float(d.machines["first_degraded_s"][r])
            tail += struct.pack("<d", first if late else math.nan)  # the header's last field
        body = rates.astype("<f8").tobytes() + peers.astype("<i4").tobytes() + tail
        fields["header_bytes"] = struct.calcsize("<" + "".join(f for _, f in HEADER)) + len(body)
        head = struct.pack("<" + "".join(f for _, f in HEADER), *(fields[k] for k, _ in HEADER))
        mine = (d.events["rank"] == r) & (d.events["t"] <= flushed[r])
        records = np.zeros(int(mine.sum()), dtype)
        for name in dtype.names:
            if name == "late_deliveries":
                records[name] = np.where(d.events["t"][mine] >= first, late, 0) if late else 0
            else:
                records[name] = d.events[name][mine]
        (folder / f"rank-{r}.bin").write_bytes(head + body + records.tobytes())
    return folder


def recovered(tmp_path: Path, d: RunData, version: int) -> Path:
    journal = write_journal(tmp_path / "run.h5.123.journal", d, version)
    out = tmp_path / "recovered.h5"
    res = run_cli("recover", journal, "-o", out)
    assert res.code == 0, res.err
    assert res.out.startswith(f"recovered {out}: 4 machines")
    return out


def kept(d: RunData, cut: float) -> Dict[str, np.ndarray]:
    keep = d.events["t"] <= cut
    return {k: v[keep] for k, v in d.events.items()}


@pytest.mark.parametrize("kwargs", [{"latency": "0.05"}, {"latency": "uniform:0.01,0.4", "phase": "zero"},
                                    {"flat_out": True, "latency": "0"}],
                         ids=["constant", "uniform-zero", "flat-out"])
def test_a_cbjrnl02_journal_recovers_with_the_model_fields(tmp_path: Path, kwargs: dict) -> None:
    d = simulate_model(rates=(3.0, 4.0, 5.0, 8.0), **kwargs)
    out = recovered(tmp_path, d, 2)
    with h5py.File(out, "r") as f:
        a = dict(f.attrs)
        cut = float(a["end_s"])
        assert a["timing"] == "unknown (recovered)" and a["late_deliveries"] == -1 and a["missed_ticks"] == -1
        assert (a["phase_mode"], a["latency"], a["grace_s"]) == (d.attrs["phase_mode"], d.attrs["latency"], 0.002)
        assert (f["machines/late_deliveries"][:] == -1).all() and (f["machines/missed_ticks"][:] == -1).all()
        assert np.isnan(f["machines/first_degraded_s"][:]).all()
        assert f["machines/phase_s"][:].tolist() == d.machines["phase_s"].tolist()
        want = kept(d, cut)
        for name in ("rank", "tick", "t", "kind", "lamport", "queue", "peer", "msg_tick", "msg_arrival"):
            np.testing.assert_array_equal(f[f"events/{name}"][:], want[name], err_msg=name)
        assert f["events/msg_arrival"].attrs["units"] == "s"
        if kwargs.get("flat_out"):
            rank, t = want["rank"], want["t"]
            achieved = [(np.sum(rank == i) - 1) / (t[rank == i][-1] - t[rank == i][0]) for i in range(4)]
            assert f["machines/rate_hz"][:] == pytest.approx(achieved)
    ev = d.events
    assert cut == min(ev["t"][(ev["rank"] == r) & (ev["t"] <= FLUSHED_UP_TO[r])].max() for r in range(4))
    config = run_cli("config", out).out
    assert f'phase="{d.attrs["phase_mode"]}"\n' in config and f'latency="{d.attrs["latency"]}"\n' in config
    assert "\ngrace=0.002\n" in config
    assert ('rates=["max"]\nmax-ticks=100000\n' in config) == bool(kwargs.get("flat_out"))
    result = verify(open_run(out))
    assert result.ok, result.violations
    assert result.model_time_checked and not result.completed


def test_the_start_clock_estimate_carries_over_and_there_is_no_end_one(tmp_path: Path) -> None:
    """docs/schema.md, "Recovered files": the header's start estimate; the end fields NaN, t as the
    loop stamped it (on the start offset)."""
    d = simulate_model(rates=(3.0, 4.0, 5.0, 8.0))
    clock = [(0.0, 0.0), (-3.25, 2e-6), (86400.5, 4e-6), (0.0, 0.0)]  # rank 3 on rank 0's host
    journal = write_journal(tmp_path / "run.h5.9.journal", d, 2, clock=clock)
    out = tmp_path / "recovered.h5"
    assert run_cli("recover", journal, "-o", out).code == 0
    run = open_run(out)
    m = run.machines
    assert m["clock_offset_s"].tolist() == [c[0] for c in clock]
    assert m["clock_offset_uncertainty_s"].tolist() == [c[1] for c in clock]
    for name in ("clock_offset_end_s", "clock_offset_end_uncertainty_s", "clock_rate_ppm", "clock_offset_interval_s",
                 "clock_offset_start_t_s"):
        assert np.isnan(m[name]).all() and f"machines/{name}" not in run.missing, name
    np.testing.assert_array_equal(run.events["t"], kept(d, float(run.attrs["end_s"]))["t"])
    result = verify(run)
    assert result.ok, result.violations
    # An end estimate in a recovered file is one the journal could not have had.
    with h5py.File(out, "r+") as f:
        f["machines/clock_offset_end_s"][1] = -3.25
    text = "\n".join(str(v) for v in verify(open_run(out)).violations)
    assert "expected NaN (a recovered file has no end estimate)" in text, text


def test_a_cbjrnl01_journal_still_recovers(tmp_path: Path) -> None:
    d = simulate(rates=(3.0, 4.0, 5.0, 8.0))
    d.attrs.update(flat_out=np.int32(0), max_ticks=np.int64(0))
    d.events["msg_arrival"] = np.full(d.events["rank"].size, math.nan)
    out = recovered(tmp_path, d, 1)
    run = open_run(out)
    a = run.attrs
    assert (a["phase_mode"], a["latency"], a["grace_s"], a["timing"]) == ("zero", "0", 0.0, "unknown (recovered)")
    assert a["late_deliveries"] == a["missed_ticks"] == -1 and not run.missing
    assert np.isnan(run.events["msg_arrival"]).all() and (run.machines["phase_s"] == 0).all()
    np.testing.assert_array_equal(run.events["lamport"], kept(d, float(a["end_s"]))["lamport"])
    config = run_cli("config", out).out
    assert 'phase="zero"\nlatency="0"\n' in config and "grace=" not in config
    res = run_cli("verify", out)
    assert res.code == 0 and "(no arrival times recorded: the model-time rules were not checked)" in res.out


@pytest.mark.parametrize("version, record_bytes, words", [
    (3, 64, "records of 64 bytes, this reader knows 72 for CBJRNL03"),
    (2, 64, "records of 64 bytes, this reader knows 72 for CBJRNL02"),
    (1, 72, "records of 72 bytes, this reader knows 64 for CBJRNL01")])
def test_a_record_size_that_does_not_fit_its_magic(tmp_path: Path, version: int, record_bytes: int,
                                                   words: str) -> None:
    journal = write_journal(tmp_path / "j", simulate_model(rates=(3.0, 4.0, 5.0, 8.0)), version)
    data = bytearray((journal / "rank-1.bin").read_bytes())
    data[12:16] = struct.pack("<I", record_bytes)
    (journal / "rank-1.bin").write_bytes(bytes(data))
    res = run_cli("recover", journal, "-o", tmp_path / "r.h5")
    assert res.code == 2 and re.search(f"rank-1.bin: {words}", res.err), res.err


def test_journals_of_two_latencies_are_not_one_run(tmp_path: Path) -> None:
    journal = write_journal(tmp_path / "j", simulate_model(rates=(3.0, 4.0, 5.0, 8.0)), 2)
    data = (journal / "rank-2.bin").read_bytes()
    (journal / "rank-2.bin").write_bytes(data.replace(b"0.05\0", b"0.06\0", 1))
    res = run_cli("recover", journal, "-o", tmp_path / "r.h5")
    assert res.code == 2 and "rank 2's journal belongs to another run than rank 0's" in res.err, res.err


# ---------------------------------------------------------------- CBJRNL03: the late deliveries journaled

def late_run(latency: str = "0.05") -> Tuple[RunData, int]:
    """A run in which one message reaches its receiver 0.6 s late, well before every rank's last
    flush (FLUSHED_UP_TO); its receiver's queue departs from the model's there."""
    clean = simulate_model(rates=(3.0, 4.0, 5.0, 8.0), latency=latency)
    recv = np.flatnonzero((clean.events["kind"] == 3) & (clean.events["t"] > 1.0))[0]
    message = (int(clean.events["peer"][recv]), int(clean.events["msg_tick"][recv]), int(clean.events["rank"][recv]))
    d = simulate_model(rates=(3.0, 4.0, 5.0, 8.0), latency=latency, faults=Faults(late={message: 0.6}))
    receiver = message[2]
    assert d.machines["late_deliveries"][receiver] >= 1 and d.machines["first_degraded_s"][receiver] < 4.0
    return d, receiver


@pytest.mark.parametrize("latency", ["0.05", "uniform:0.01,0.4"])
def test_a_cbjrnl03_journal_carries_the_late_deliveries_that_verify_excuses(tmp_path: Path, latency: str) -> None:
    d, receiver = late_run(latency)
    count = int(d.machines["late_deliveries"][receiver])
    # Without the counts (CBJRNL02) the same events fail: nothing is excused.
    old = tmp_path / "v2"
    old.mkdir()
    texts = [str(v) for v in verify(open_run(recovered(old, d, 2))).violations]
    assert texts and all("a recovered file: late deliveries were not journaled, none is excused" in t
                         for t in texts), texts

    journal = write_journal(tmp_path / "run.h5.77.journal", d, 3)
    out = tmp_path / "recovered.h5"
    res = run_cli("recover", journal, "-o", out)
    assert res.code == 0 and res.out.rstrip().endswith(f"; {count} late deliveries journaled"), res.out + res.err
    run = open_run(out)
    m, a = run.machines, run.attrs
    assert m["late_deliveries"].tolist() == d.machines["late_deliveries"].tolist()
    assert m["missed_ticks"].tolist() == [0, 0, 0, 0]
    assert a["late_deliveries"] == count and a["missed_ticks"] == 0
    np.testing.assert_array_equal(m["first_degraded_s"], d.machines["first_degraded_s"])
    # The engine's verdict (tests/analysis/model_sim.py forms it as src/core/timing_verdict.cpp does),
    # then what a recovered one's counts are.
    assert a["timing"] == d.attrs["timing"] + (" (recovered: late deliveries as counted by each rank's last journal "
                                               "flush; missed ticks are counted only when a run ends)")
    assert float(a["end_s"]) > float(m["first_degraded_s"][receiver])  # the late delivery is before the cut
    result = verify(run)
    assert result.ok, result.violations
    involved = result.excused[receiver][0]
    assert result.excused == {receiver: (involved, count)} and 1 <= involved <= count
    cli = run_cli("verify", out)
    assert cli.code == 0 and (f"; timing degraded ({count} late deliveries, 0 missed ticks), queue rule departures "
                              f"within the late deliveries of machine {receiver} ({involved} messages, {count} late "
                              "deliveries)") in cli.out, cli.out
    with h5py.File(out, "r") as f:
        assert "last journal flush" in f["machines/late_deliveries"].attrs["description"]


def test_a_cbjrnl03_journal_of_fewer_late_deliveries_than_the_departures_fails(tmp_path: Path) -> None:
    """The counts excuse exactly as in a whole file: no more departures than the journal counted."""
    d, receiver = late_run()
    d.machines["late_deliveries"][receiver] = 0  # the journal says none
    d.machines["first_degraded_s"][receiver] = math.nan
    out = recovered(tmp_path, d, 3)
    run = open_run(out)
    assert run.attrs["timing"] == "ok" and int(run.attrs["late_deliveries"]) == 0
    texts = [str(v) for v in verify(run).violations]
    assert texts and not any("were not journaled" in t for t in texts), texts


@pytest.mark.parametrize("kwargs", [{}, {"flat_out": True, "latency": "0"}], ids=["paced", "flat-out"])
def test_a_cbjrnl03_journal_without_late_deliveries_says_ok(tmp_path: Path, kwargs: dict) -> None:
    d = simulate_model(rates=(3.0, 4.0, 5.0, 8.0), **kwargs)
    assert d.attrs["timing"] == "ok"
    run = open_run(recovered(tmp_path, d, 3))
    assert run.attrs["timing"] == "ok" and run.attrs["late_deliveries"] == run.attrs["missed_ticks"] == 0
    assert (run.machines["late_deliveries"] == 0).all() and np.isnan(run.machines["first_degraded_s"]).all()
    result = verify(run)
    assert result.ok, result.violations


def test_a_late_count_without_its_arrival_time_is_not_trusted(tmp_path: Path) -> None:
    """A header that lacks the earliest arrival of the deliveries its records count (the flusher
    writes it first, so only a damaged journal can): the counts are unknown, as from CBJRNL02."""
    d, receiver = late_run()
    journal = write_journal(tmp_path / "j", d, 3)
    path = journal / f"rank-{receiver}.bin"
    data = bytearray(path.read_bytes())
    header_bytes = struct.unpack_from("<I", data, 8)[0]
    data[header_bytes - 8:header_bytes] = struct.pack("<d", math.nan)
    path.write_bytes(bytes(data))
    out = tmp_path / "r.h5"
    res = run_cli("recover", journal, "-o", out)
    assert res.code == 0 and "late deliveries not journaled" in res.out, res.out + res.err
    run = open_run(out)
    assert run.attrs["timing"] == "unknown (recovered)" and (run.machines["late_deliveries"] == -1).all()
