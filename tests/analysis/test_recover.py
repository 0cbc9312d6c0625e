"""`recover` on synthetic crash journals, written here from docs/schema.md ("Crash journal"): the
CBJRNL04 format (events in blocks of narrowed columns), CBJRNL03 (each rank's running count of late
deliveries and their earliest arrival, in fixed-size records), the older CBJRNL02 (phases, latency,
msg_arrival) and CBJRNL01; the recovered file carries the fields of
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
BLOCK_EVENTS = 5  # CBJRNL04: events per block here (the engine's are up to 16384), so runs have many


def zigzag(v: np.ndarray) -> np.ndarray:
    """docs/schema.md: 0, -1, 1, -2, ... as 0, 1, 2, 3, ..."""
    v = np.asarray(v, dtype=np.int64)
    return np.where(v >= 0, 2 * v, -2 * v - 1).astype(np.uint64)


def column(codes: np.ndarray) -> Tuple[int, bytes]:
    """A column of zigzag codes in the fewest of 0, 1, 2, 4, 8 bytes that hold them."""
    top = int(codes.max()) if codes.size else 0
    width = next(w for w in (0, 1, 2, 4, 8) if top < 1 << (8 * w))
    return width, codes.astype(f"<u{width}").tobytes() if width else b""


def block(ev: np.ndarray, first: int, lamport_before: int, late: int) -> bytes:
    """One CBJRNL04 block of the records `ev`, events first, first + 1, ...: docs/schema.md."""
    n = len(ev)
    carries = ~((ev["msg_tick"] == -1) & (ev["msg_clock"] == -1) & np.isnan(ev["msg_arrival"]))
    lamport = ev["lamport"].astype(np.int64)
    cols = [column(zigzag(ev["tick"] - (first + np.arange(n)))),
            column(zigzag(np.diff(lamport, prepend=lamport_before))),
            column(zigzag(ev["jump"])), column(zigzag(ev["queue"])), column(zigzag(ev["peer"])),
            column(zigzag(ev["msg_tick"][carries])), column(zigzag(lamport[carries] - ev["msg_clock"][carries]))]
    bitmap = np.packbits(carries, bitorder="little").tobytes()
    body = (cols[0][1] + ev["t"].astype("<f8").tobytes() + cols[1][1] + cols[2][1] + cols[3][1] + cols[4][1]
            + ev["kind"].astype("u1").tobytes() + bitmap + cols[5][1] + cols[6][1]
            + ev["msg_arrival"][carries].astype("<f8").tobytes())
    head = struct.pack("<IIqqII8B", 40 + len(body), n, first, lamport_before, late, int(carries.sum()),
                       *[w for w, _ in cols], 0)
    return head + body


def blocks(records: np.ndarray) -> bytes:
    """The records as CBJRNL04 blocks of at most BLOCK_EVENTS, a new block wherever the late count
    changes (a block carries one)."""
    out, at = [], 0
    while at < len(records):
        end = min(len(records), at + BLOCK_EVENTS)
        same = np.flatnonzero(records["late_deliveries"][at:end] != records["late_deliveries"][at])
        end = at + int(same[0]) if same.size else end
        out.append(block(records[at:end], at, int(records["lamport"][at - 1]) if at else 0,
                         int(records["late_deliveries"][at])))
        at = end
    return b"".join(out)


def write_journal(folder: Path, d: RunData, version: int, flushed: Sequence[float] = FLUSHED_UP_TO,
                  clock: Sequence[Tuple[float, float]] = ()) -> Path:
    """One rank-<r>.bin per machine holding its events up to its flush time; `clock`: each rank's
    start estimate of its clock offset and its uncertainty (0 and 0 if not given). CBJRNL03: each
    rank's late deliveries (d's /machines/late_deliveries) are counted from their first arrival
    (first_degraded_s) on, in the records and the header, as the engine's flusher writes them."""
    folder.mkdir()
    n = len(d.machines["rank"])
    rates = np.full(n, math.inf) if int(d.attrs["flat_out"]) else d.machines["rate_hz"]
    record = {4: RECORD_V3, 3: RECORD_V3, 2: RECORD_V2, 1: RECORD_V1}[version]
    dtype = np.dtype({"names": [f for f, _, _ in record], "formats": [t for _, t, _ in record],
                      "offsets": [o for _, _, o in record], "itemsize": 64 if version == 1 else 72})
    for r in range(n):
        peers = np.flatnonzero(d.network["adjacency"][r])
        fields = {"magic": f"CBJRNL0{version}".encode(), "record_bytes": 0 if version == 4 else dtype.itemsize,
                  "rank": r, "n_machines": n,
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
        if version >= 3:
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
        events = blocks(records) if version == 4 else records.tobytes()
        (folder / f"rank-{r}.bin").write_bytes(head + body + events)
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
    (4, 72, "records of 72 bytes, this reader knows 0 for CBJRNL04"),
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


@pytest.mark.parametrize("version", [3, 4])
@pytest.mark.parametrize("latency", ["0.05", "uniform:0.01,0.4"])
def test_a_cbjrnl03_journal_carries_the_late_deliveries_that_verify_excuses(tmp_path: Path, latency: str,
                                                                           version: int) -> None:
    d, receiver = late_run(latency)
    count = int(d.machines["late_deliveries"][receiver])
    # Without the counts (CBJRNL02) the same events fail: nothing is excused.
    old = tmp_path / "v2"
    old.mkdir()
    texts = [str(v) for v in verify(open_run(recovered(old, d, 2))).violations]
    assert texts and all("a recovered file: late deliveries were not journaled, none is excused" in t
                         for t in texts), texts

    journal = write_journal(tmp_path / "run.h5.77.journal", d, version)
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


@pytest.mark.parametrize("version", [3, 4])
def test_a_cbjrnl03_journal_of_fewer_late_deliveries_than_the_departures_fails(tmp_path: Path, version: int) -> None:
    """The counts excuse exactly as in a whole file: no more departures than the journal counted."""
    d, receiver = late_run()
    d.machines["late_deliveries"][receiver] = 0  # the journal says none
    d.machines["first_degraded_s"][receiver] = math.nan
    out = recovered(tmp_path, d, version)
    run = open_run(out)
    assert run.attrs["timing"] == "ok" and int(run.attrs["late_deliveries"]) == 0
    texts = [str(v) for v in verify(run).violations]
    assert texts and not any("were not journaled" in t for t in texts), texts


@pytest.mark.parametrize("version", [3, 4])
@pytest.mark.parametrize("kwargs", [{}, {"flat_out": True, "latency": "0"}], ids=["paced", "flat-out"])
def test_a_cbjrnl03_journal_without_late_deliveries_says_ok(tmp_path: Path, kwargs: dict, version: int) -> None:
    d = simulate_model(rates=(3.0, 4.0, 5.0, 8.0), **kwargs)
    assert d.attrs["timing"] == "ok"
    run = open_run(recovered(tmp_path, d, version))
    assert run.attrs["timing"] == "ok" and run.attrs["late_deliveries"] == run.attrs["missed_ticks"] == 0
    assert (run.machines["late_deliveries"] == 0).all() and np.isnan(run.machines["first_degraded_s"]).all()
    result = verify(run)
    assert result.ok, result.violations


@pytest.mark.parametrize("version", [3, 4])
def test_a_late_count_without_its_arrival_time_is_not_trusted(tmp_path: Path, version: int) -> None:
    """A header that lacks the earliest arrival of the deliveries its records count (the flusher
    writes it first, so only a damaged journal can): the counts are unknown, as from CBJRNL02."""
    d, receiver = late_run()
    journal = write_journal(tmp_path / "j", d, version)
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


# ---------------------------------------------------------------- CBJRNL04: events in blocks

def test_a_cbjrnl04_journal_recovers_the_same_file_as_cbjrnl03(tmp_path: Path) -> None:
    d, _ = late_run("uniform:0.01,0.4")
    files = []
    for version in (3, 4):
        (tmp_path / f"v{version}").mkdir()
        files.append(recovered(tmp_path / f"v{version}", d, version))
    with h5py.File(files[0], "r") as a, h5py.File(files[1], "r") as b:
        for group in ("events", "machines", "network"):
            for name in a[group]:
                np.testing.assert_array_equal(a[f"{group}/{name}"][:], b[f"{group}/{name}"][:], err_msg=name)
        assert a.attrs["end_s"] == b.attrs["end_s"] and a.attrs["timing"] == b.attrs["timing"]


def wide_records() -> np.ndarray:
    """Events whose columns need every width: 0, 1, 2, 4 and 8 bytes, and negative values."""
    dtype = np.dtype([(f, t) for f, t, _ in RECORD_V3])
    ev = np.zeros(6, dtype)
    ev["tick"] = [0, 1, 2, 3, 300, 70000]  # 300 - 4 needs 2 bytes, 70000 - 5 4 bytes
    ev["t"] = [0.0, 0.25, -1.5, 1e300, math.inf, 2.0]
    ev["lamport"] = [1, 2, 2**40, 2**40 + 1, 2**40 + 2, -5]  # a step of 2^40 and one back below 0
    ev["jump"] = [0, 0, 2**40 - 3, 0, 0, -(2**62)]
    ev["queue"] = [0, 1, 2**31 - 1, 3, 0, 0]
    ev["peer"] = [-1, 7, 3, -1, 2**20, -1]
    ev["kind"] = [0, 1, 3, 2, 3, 3]
    ev["msg_tick"] = [-1, -1, 5, -1, 0, 2**33]
    ev["msg_clock"] = [-1, -1, 2**40 - 1, -1, 2**40 + 2, -5 - 2**50]
    ev["msg_arrival"] = [math.nan, math.nan, 0.5, math.nan, -0.0, 7.25]
    ev["late_deliveries"] = 2**32 - 1
    return ev


def test_cbjrnl04_blocks_of_every_width_decode_to_their_events() -> None:
    from clockbench.file import journal_blocks

    ev = wide_records()
    record = np.dtype({"names": [f for f, _, _ in RECORD_V3], "formats": [t for _, t, _ in RECORD_V3],
                       "offsets": [o for _, _, o in RECORD_V3], "itemsize": 72})
    first, second = block(ev[:2], 0, 0, 3), block(ev[2:], 2, 2, 2**32 - 1)
    # widths of tick, lamport, jump, queue, peer, msg_tick, msg_clock, reserved: worked out by hand
    assert first[32:40] == bytes([0, 1, 0, 1, 1, 0, 0, 0]) and len(first) == 40 + 2 * 12 + 1
    assert second[32:40] == bytes([4, 8, 8, 4, 4, 8, 8, 0])
    data = b"H" * 16 + first + second
    got, cut = journal_blocks.decode(data, 16, record, ValueError)
    assert cut == 0 and len(got) == 6
    for name in ev.dtype.names:
        if name != "late_deliveries":
            np.testing.assert_array_equal(got[name], ev[name], err_msg=name)
    assert got["late_deliveries"].tolist() == [3, 3] + [2**32 - 1] * 4
    # A block cut anywhere is dropped whole, and its bytes counted.
    for keep in (1, 39, 40, 41, len(second) - 1):
        got, cut = journal_blocks.decode(data[:16 + len(first) + keep], 16, record, ValueError)
        assert len(got) == 2 and cut == keep, keep
    # A bitmap that marks a message the block header does not count.
    bad = bytearray(first)
    bad[40 + 2 * 12] = 0b01  # after 2 x (8 + 1 + 1 + 1 + 1) bytes of columns
    with pytest.raises(ValueError, match="its bitmap marks 1 messages, its header 0"):
        journal_blocks.decode(b"H" * 16 + bytes(bad), 16, record, ValueError)


@pytest.mark.parametrize("where, value, words", [
    (32, 3, "widths"),       # a width of 3 bytes
    (39, 1, "widths"),       # the reserved eighth width
    (4, 0, "(0 events"),     # no events
    (0, 54, "54 bytes"),     # shorter than its columns
])
def test_a_damaged_cbjrnl04_block_is_one_clear_error(tmp_path: Path, where: int, value: int, words: str) -> None:
    journal = write_journal(tmp_path / "j", simulate_model(rates=(3.0, 4.0, 5.0, 8.0)), 4)
    path = journal / "rank-1.bin"
    data = bytearray(path.read_bytes())
    at = struct.unpack_from("<I", data, 8)[0]  # the first block
    at += struct.unpack_from("<I", data, at)[0]  # the second
    if where in (0, 4):
        struct.pack_into("<I", data, at + where, value)
    else:
        data[at + where] = value
    path.write_bytes(bytes(data))
    res = run_cli("recover", journal, "-o", tmp_path / "r.h5")
    lines = res.err.splitlines()
    assert res.code == 2 and len(lines) == 1 and f"rank-1.bin: the block at byte {at} is damaged" in lines[0] \
        and words in lines[0], res.err
    assert not (tmp_path / "r.h5").exists()
