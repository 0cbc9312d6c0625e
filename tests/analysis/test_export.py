"""Exports (analysis/clockbench/documents/export.py, docs/exports.md), each read back and checked against the
run file it came from:

- ShiViz: the parser regex of the log's first line (ShiViz's JavaScript spelling, turned into
  Python's) must match every line; the vector clocks must follow ShiViz's rules, checked here from
  the log alone: a host's own entry counts its events 1, 2, 3, ... in log order, an event's vector
  is its host's previous one with the own entry one up, and a receive's is also merged with its
  send's (found by the sender and tick the line names); and every line agrees with the file.
- Perfetto: the JSON parses; one slice per event on its machine's track with the file's values;
  every flow has exactly one start and one end, the end on the receiver's track at or after the
  start on the sender's, each bound to the right slices; counts as in the file.
- OTF2: the archive read with python3-otf2's reader: a location per machine, an Enter/Leave per
  event with its attributes, an MpiSend and exactly one matching MpiRecv per message.

Each checker is shown failing on a planted defect. Then the bad inputs of the command."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import h5py
import numpy as np
import pytest

from conftest import write_run
from model_sim import from_replay
from replay import replay

from clockbench.documents import export as ex
from clockbench.measure.causality import vector_clocks
from clockbench.file.schema import KIND_NAMES, open_run

CASES = (
    ([1.0, 2.0, 3.0], 0.7, "full", "0.2", 20.0),
    ([2.0, 3.0, 1.0, 5.0], 0.5, "ring", "exp:0.1", 10.0),
)


def run_file(tmp_path: Path, rates=(1.0, 2.0, 3.0), p=0.6, topology="full", latency="0.2", duration=20.0,
             seed=3, name="run.h5", mutate=None) -> Path:
    data = from_replay(replay(list(rates), seed, duration, p, topology, "random", latency))
    if mutate is not None:
        mutate(data)
    return write_run(tmp_path / name, data)


def expected(path: Path, window: Optional[Tuple[float, float]] = None):
    """From the file, independently of the exporter: the rows in the window, and each message
    (receive row, send row) with both ends in it."""
    run = open_run(path)
    ev = run.events
    t = ev["t"]
    keep = np.ones(run.n_events, dtype=bool) if window is None else (t >= window[0]) & (t <= window[1])
    start = {m: int(np.flatnonzero(ev["rank"] == m)[0]) for m in range(run.n_machines)}
    messages = []
    for r in np.flatnonzero(ev["kind"] == 3):
        s = start[int(ev["peer"][r])] + int(ev["msg_tick"][r])
        if keep[r] and keep[s]:
            messages.append((int(r), s))
    return run, np.flatnonzero(keep), messages


# --- ShiViz ---------------------------------------------------------------------------------------

EVENT_TEXT = re.compile(r"^(?P<what>internal|send to m(?P<to>\d+)|send to all|receive from m(?P<frm>\d+) sent at its "
                        r"tick (?P<mt>\d+)) \| tick (?P<tick>\d+), lamport (?P<lam>\d+), jump (?P<jump>\d+), "
                        r"queue (?P<queue>\d+), t (?P<t>-?\d+\.\d{9}) s$")


def check_shiviz(text: str, path: Path, window=None) -> None:
    run, rows, messages = expected(path, window)
    ev = run.events
    lines = text.split("\n")
    assert lines[0] == ex.SHIVIZ_REGEX and lines[1] == "", "first line the regex, second empty"
    regex = re.compile(lines[0].replace("(?<", "(?P<"), re.M)  # ShiViz's JS named groups in Python's spelling
    body = [line for line in lines[2:] if line]
    assert lines[-1] == "" and all(lines[2:-1]), "one line per event, no blank lines"
    matches = list(regex.finditer("\n".join(body)))
    assert len(matches) == len(body) == rows.size, \
        f"{len(matches)} lines the regex parses, {len(body)} lines, {rows.size} events in the file"
    row_of = {(int(ev["rank"][r]), int(ev["tick"][r])): int(r) for r in rows}
    parsed = []
    for m in matches:
        host, clock = m.group("host"), json.loads(m.group("clock"))
        assert re.fullmatch(r"m\d+", host), host
        e = EVENT_TEXT.match(m.group("event"))
        assert e, m.group("event")
        parsed.append((int(host[1:]), {int(k[1:]): v for k, v in clock.items()}, e))
        assert all(re.fullmatch(r"m\d+", k) and isinstance(v, int) and v > 0 for k, v in clock.items()), clock
    # the file's values, line by line
    seen = set()
    for host, clock, e in parsed:
        key = (host, int(e.group("tick")))
        assert key in row_of and key not in seen, key
        seen.add(key)
        r = row_of[key]
        kind = int(ev["kind"][r])
        what = e.group("what")
        assert what.startswith(("internal", "send to m", "send to all", "receive")[kind]), (key, what)
        if kind == 1:
            assert int(e.group("to")) == ev["peer"][r]
        if kind == 3:
            assert (int(e.group("frm")), int(e.group("mt"))) == (ev["peer"][r], ev["msg_tick"][r])
        assert (int(e.group("lam")), int(e.group("jump")), int(e.group("queue"))) == \
            (ev["lamport"][r], ev["jump"][r], ev["queue"][r]), key
        assert abs(float(e.group("t")) - ev["t"][r]) <= 1e-9, key
    # ShiViz's vector rules, from the log alone
    clock_of = {(host, int(e.group("tick"))): clock for host, clock, e in parsed}
    previous: Dict[int, Dict[int, int]] = {}
    received = 0
    for host, clock, e in parsed:
        before = previous.get(host, {})
        want = dict(before)
        want[host] = before.get(host, 0) + 1
        if e.group("frm") is not None:
            send = clock_of.get((int(e.group("frm")), int(e.group("mt"))))
            if send is not None:  # (a send before the window brings nothing the window counts)
                received += 1
                for k, v in send.items():
                    want[k] = max(want.get(k, 0), v)
        assert clock == want, f"line of m{host} tick {e.group('tick')}: {clock} should be {want}"
        previous[host] = clock
    assert received == len(messages)


# --- Perfetto -------------------------------------------------------------------------------------

def check_perfetto(text: str, path: Path, window=None) -> None:
    run, rows, messages = expected(path, window)
    ev = run.events
    doc = json.loads(text)
    assert doc["displayTimeUnit"] == "ns"
    records = doc["traceEvents"]
    assert all(r["ph"] in ("M", "X", "s", "f") for r in records)
    names = {r["pid"]: r["args"]["name"] for r in records if r["ph"] == "M" and r["name"] == "process_name"}
    assert names == {m: f"machine {m} ({ev_host})" for m, ev_host in enumerate(run.machines["hostname"])}
    slices = [r for r in records if r["ph"] == "X"]
    assert len(slices) == rows.size, (len(slices), rows.size)
    vc = vector_clocks(run).clocks
    row_of = {(int(ev["rank"][r]), int(ev["tick"][r])): int(r) for r in rows}
    at: Dict[Tuple[int, float], dict] = {}
    for s in slices:
        assert s["pid"] == s["tid"]
        r = row_of.pop((s["pid"], s["args"]["tick"]))
        assert s["name"] == KIND_NAMES[ev["kind"][r]]
        a = s["args"]
        assert (a["lamport"], a["jump"], a["queue"]) == (ev["lamport"][r], ev["jump"][r], ev["queue"][r])
        assert a["vector_clock"] == vc[r].tolist()
        assert abs(s["ts"] - ev["t"][r] * 1e6) <= 1e-3 and 0 <= s["dur"] <= ex.SLICE_NS / 1000
        if ev["kind"][r] == 3:
            assert (a["from"], a["msg_tick"]) == (ev["peer"][r], ev["msg_tick"][r])
        at[(s["pid"], s["ts"])] = s
    assert not row_of, "every event once"
    flows: Dict[int, List[dict]] = {}
    for f in (r for r in records if r["ph"] in "sf"):
        assert f["name"] == "message" and f["cat"] == "message" and f["pid"] == f["tid"]
        flows.setdefault(f["id"], []).append(f)
    assert len(flows) == len(messages), (len(flows), len(messages))
    for fid, ends in flows.items():
        assert sorted(e["ph"] for e in ends) == ["f", "s"], f"flow {fid}: {[e['ph'] for e in ends]}"
        s, f = sorted(ends, key=lambda e: e["ph"] == "f")
        assert f.get("bp") == "e" and f["ts"] >= s["ts"], f"flow {fid}"
        recv, send = at.get((f["pid"], f["ts"])), at.get((s["pid"], s["ts"]))
        assert recv is not None and send is not None, f"flow {fid}: an end on no slice"
        assert recv["name"] == "receive" and send["name"] in ("send-one", "send-all"), f"flow {fid}"
        assert (recv["args"]["from"], recv["args"]["msg_tick"]) == (s["pid"], send["args"]["tick"]), f"flow {fid}"


# --- OTF2 -----------------------------------------------------------------------------------------

def otf2_module():
    try:
        import otf2
    except ImportError:
        pytest.fail("python3-otf2 is not installed: run scripts/install-deps (it installs python3-otf2)")
    return otf2


def check_otf2(folder: Path, path: Path, window=None) -> None:
    otf2 = otf2_module()
    run, rows, messages = expected(path, window)
    ev = run.events
    origin = min(0.0, float(ev["t"][rows].min()))
    by_loc: Dict[str, list] = {}
    with otf2.reader.open(str(folder / "traces.otf2")) as trace:
        assert trace.timer_resolution == 10 ** 9
        locations = list(trace.definitions.locations)
        assert [loc.name for loc in locations] == [f"machine {m}" for m in range(run.n_machines)]
        for loc, event in trace.events:
            by_loc.setdefault(loc.name, []).append(event)
        counts = {loc.name: loc.number_of_events for loc in locations}
    sends, recvs = {}, []
    enters = 0
    for m in range(run.n_machines):
        events = by_loc.get(f"machine {m}", [])
        assert counts[f"machine {m}"] == len(events)
        mine = [int(r) for r in rows if ev["rank"][r] == m]
        i = 0
        for r in mine:
            enter = events[i]
            assert type(enter).__name__ == "Enter", (m, r, type(enter).__name__)
            ts = int(np.rint((ev["t"][r] - origin) * 1e9))
            assert enter.time == ts and enter.region.name == KIND_NAMES[ev["kind"][r]], \
                f"machine {m} tick {ev['tick'][r]}: Enter {enter.region.name} at {enter.time}, the file says " \
                f"{KIND_NAMES[ev['kind'][r]]} at {ts}"
            attrs = {a.name: v for a, v in enter.attributes.items()}
            assert attrs == {"lamport": ev["lamport"][r], "tick": ev["tick"][r], "queue": ev["queue"][r]}, \
                f"machine {m}: {attrs}"
            enters += 1
            i += 1
            while type(events[i]).__name__ in ("MpiSend", "MpiRecv"):
                e = events[i]
                assert e.time == ts and e.communicator.name == "MPI_COMM_WORLD" and e.msg_length == 24
                if type(e).__name__ == "MpiSend":
                    key = (m, e.receiver, e.msg_tag)
                    assert key not in sends, f"two sends {key}"
                    sends[key] = e.time
                else:
                    recvs.append(((e.sender, m, e.msg_tag), e.time, r))
                i += 1
            leave = events[i]
            assert type(leave).__name__ == "Leave" and leave.time == ts and leave.region == enter.region
            i += 1
        assert i == len(events), f"machine {m}: records after its last event"
    assert enters == rows.size, f"{enters} Enter records, {rows.size} events in the file"
    assert len(recvs) == len(sends) == len(messages), \
        f"{len(sends)} MpiSend and {len(recvs)} MpiRecv, {len(messages)} messages in the file"
    matched = set()
    for key, t, r in recvs:
        assert key in sends and key not in matched, f"MpiRecv {key} has no send of its own"
        matched.add(key)
        assert sends[key] <= t
        assert (key[0], key[2]) == (ev["peer"][r], ev["msg_tick"][r])


# --- the exports checked -----------------------------------------------------------------------

@pytest.mark.parametrize("rates,p,topology,latency,duration", CASES)
def test_shiviz(tmp_path: Path, cli, rates, p, topology, latency, duration) -> None:
    path = run_file(tmp_path, rates, p, topology, latency, duration)
    res = cli("export", "--format", "shiviz", path, "-o", tmp_path / "run.log")
    assert res.code == 0, res.err
    check_shiviz((tmp_path / "run.log").read_text(), path)


@pytest.mark.parametrize("rates,p,topology,latency,duration", CASES)
def test_perfetto(tmp_path: Path, cli, rates, p, topology, latency, duration) -> None:
    path = run_file(tmp_path, rates, p, topology, latency, duration)
    res = cli("export", "--format", "perfetto", path, "-o", tmp_path / "run.json")
    assert res.code == 0, res.err
    check_perfetto((tmp_path / "run.json").read_text(), path)


@pytest.mark.parametrize("rates,p,topology,latency,duration", CASES)
def test_otf2(tmp_path: Path, cli, rates, p, topology, latency, duration) -> None:
    otf2_module()
    path = run_file(tmp_path, rates, p, topology, latency, duration)
    res = cli("export", "--format", "otf2", path, "-o", tmp_path / "run.otf2")
    assert res.code == 0, res.err
    check_otf2(tmp_path / "run.otf2", path)
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")], "no temporary left"


def test_python3_otf2_is_installed() -> None:
    """The OTF2 export and its test need Debian's python3-otf2 (scripts/install-deps)."""
    otf2_module()
    import _otf2  # noqa: F401 (the library the exporter calls)


def test_a_window(tmp_path: Path, cli) -> None:
    """Only the events in the window and the messages with both ends in it; ShiViz's clocks count
    from the window's start."""
    path = run_file(tmp_path, [1.0, 2.0, 3.0], 0.5, "full", "0.3", 20.0)
    window = (6.0, 13.5)
    for fmt, out in (("shiviz", "w.log"), ("perfetto", "w.json"), ("otf2", "w.otf2")):
        res = cli("export", "--format", fmt, path, "-o", tmp_path / out, "--window", "6:13.5")
        assert res.code == 0, res.err
    check_shiviz((tmp_path / "w.log").read_text(), path, window)
    check_perfetto((tmp_path / "w.json").read_text(), path, window)
    check_otf2(tmp_path / "w.otf2", path, window)
    run, rows, messages = expected(path, window)
    assert 0 < rows.size < run.n_events and messages
    # a side left out is the run's start or end
    res = cli("export", "--format", "shiviz", path, "-o", tmp_path / "tail.log", "--window", "13.5:")
    assert res.code == 0, res.err
    check_shiviz((tmp_path / "tail.log").read_text(), path, (13.5, np.inf))


def test_a_stopped_run_exports_like_any_other(tmp_path: Path, cli) -> None:
    def stop(data) -> None:
        data.attrs["completed"] = np.int32(0)
        data.attrs["stop_reason"] = "SIGTERM on rank 1"
    path = run_file(tmp_path, mutate=stop)
    assert not open_run(path).completed
    for fmt, out in (("shiviz", "s.log"), ("perfetto", "s.json"), ("otf2", "s.otf2")):
        res = cli("export", "--format", fmt, path, "-o", tmp_path / out)
        assert res.code == 0 and "completed=0" in res.out, res.err
    check_shiviz((tmp_path / "s.log").read_text(), path)
    check_perfetto((tmp_path / "s.json").read_text(), path)
    check_otf2(tmp_path / "s.otf2", path)


def test_blocks_and_processes_do_not_change_the_output(tmp_path: Path, monkeypatch) -> None:
    """Small blocks rendered by several forked processes give the same bytes as one process."""
    path = run_file(tmp_path, [2.0, 3.0, 5.0], 0.5, "full", "0.1", 10.0)
    run = open_run(path)
    sel = ex.select(run)
    outputs = {}
    for block, workers in ((1 << 15, 1), (7, 1), (7, 3), (5, 2)):
        monkeypatch.setattr(ex, "_BLOCK", block)
        for fmt in ("shiviz", "perfetto"):
            target = tmp_path / f"{fmt}-{block}-{workers}"
            with open(target, "wb") as f:
                getattr(ex, f"write_{fmt}")(run, sel, f, workers)
            outputs.setdefault(fmt, set()).add(target.read_bytes())
        assert not [p for p in os.listdir(tmp_path) if ".part" in p]
    assert all(len(v) == 1 for v in outputs.values())
    check_shiviz(outputs["shiviz"].pop().decode(), path)
    check_perfetto(outputs["perfetto"].pop().decode(), path)
    # OTF2: one process and several, the records laid out here or written by the library
    streams = set()
    for workers, native in ((1, True), (3, True), (1, False), (3, False)):
        folder = tmp_path / f"a{workers}{native}"
        folder.mkdir()
        ex.write_otf2(run, sel, str(folder), workers=workers, native=native)
        check_otf2(folder, path)
        streams.add(otf2_stream(folder))
    assert len(streams) == 1


def otf2_stream(folder: Path) -> tuple:
    """Every record of an archive as the reader gives it: location, type, time and fields."""
    otf2 = otf2_module()
    out = []
    with otf2.reader.open(str(folder / "traces.otf2")) as trace:
        for loc, e in trace.events:
            fields = tuple((name, repr(getattr(e, name))) for name in ("region", "receiver", "sender", "msg_tag",
                                                                       "msg_length") if hasattr(e, name))
            attrs = tuple(sorted((a.name, v) for a, v in (e.attributes or {}).items()))
            out.append((loc.name, type(e).__name__, e.time, fields, attrs))
        counts = tuple((loc.name, loc.number_of_events) for loc in trace.definitions.locations)
    return tuple(out), counts


def test_otf2_records_laid_out_here_are_the_librarys(tmp_path: Path, make_run) -> None:
    """The event files written without the library read back record for record as the library's,
    also across chunks: about 30 000 events per machine fill two of the 1 MiB chunks."""
    path = make_run("busy.h5", rates=(1000.0, 1200.0, 1500.0), duration_s=25.0, p_internal=0.5, latency_s=0.002)
    run = open_run(path)
    sel = ex.select(run, ordered=False)
    a, b = tmp_path / "native", tmp_path / "library"
    a.mkdir()
    b.mkdir()
    ex.write_otf2(run, sel, str(a), workers=1, native=True)
    ex.write_otf2(run, sel, str(b), workers=1, native=False)
    assert otf2_stream(a) == otf2_stream(b)
    check_otf2(a, path)
    assert max(os.path.getsize(f) for f in (a / "traces").glob("*.evt")) > ex.OTF2_CHUNK


def test_numbers_as_text() -> None:
    v = np.array([0, 5, -7, 123456789, -1000, 10 ** 12 + 5])
    r = ex._Rows(v.size).lit("[").int(v).lit("|").fixed(v, 3).lit("|").fixed(v, 9).lit("]", v != 5).lit("\n")
    assert r.bytes().decode().splitlines() == [
        "[0|0.000|0.000000000]", "[5|0.005|0.000000005", "[-7|-0.007|-0.000000007]",
        "[123456789|123456.789|0.123456789]", "[-1000|-1.000|-0.000001000]",
        "[1000000000005|1000000000.005|1000.000000005]"]


# --- each checker fails on a planted defect ---------------------------------------------------------

def test_planted_shiviz_defects_are_caught(tmp_path: Path, cli) -> None:
    path = run_file(tmp_path)
    cli("export", "--format", "shiviz", path, "-o", tmp_path / "run.log")
    text = (tmp_path / "run.log").read_text()
    lines = text.split("\n")
    at = next(i for i, line in enumerate(lines) if "receive" in line)
    # a receive that does not merge its send's clock: its sender's entry set back by one
    host = re.match(r"m(\d+)", lines[at]).group(1)
    clock = json.loads(re.search(r"\{[^}]*\}", lines[at]).group(0))
    other = next(k for k in clock if k != f"m{host}")
    clock[other] -= 1
    if clock[other] == 0:
        del clock[other]
    bad = lines[:at] + [re.sub(r"\{[^}]*\}", json.dumps(clock, separators=(",", ":")), lines[at], count=1)] + lines[at + 1:]
    with pytest.raises(AssertionError, match="should be"):
        check_shiviz("\n".join(bad), path)
    # an own entry that skips a number
    line = lines[2]
    own = re.match(r"(m\d+) ", line).group(1)
    bumped = re.sub(f'"{own}":(\\d+)', lambda m: f'"{own}":{int(m.group(1)) + 1}', line, count=1)
    with pytest.raises(AssertionError, match="should be"):
        check_shiviz("\n".join(lines[:2] + [bumped] + lines[3:]), path)
    # a line lost
    with pytest.raises(AssertionError):
        check_shiviz("\n".join(lines[:5] + lines[6:]), path)
    # a line the regex does not parse
    with pytest.raises(AssertionError):
        check_shiviz("\n".join(lines[:4] + [lines[4].replace(" {", " [", 1)] + lines[5:]), path)


def test_planted_perfetto_defects_are_caught(tmp_path: Path, cli) -> None:
    path = run_file(tmp_path)
    cli("export", "--format", "perfetto", path, "-o", tmp_path / "run.json")
    text = (tmp_path / "run.json").read_text()
    lines = text.split("\n")
    f_at = next(i for i, line in enumerate(lines) if '"ph":"f"' in line)
    with pytest.raises(AssertionError, match="flow"):  # a flow without its end
        check_perfetto("\n".join(lines[:f_at] + lines[f_at + 1:]), path)
    with pytest.raises(AssertionError, match="flow"):  # an end on the wrong machine's track
        pid = int(re.search(r'"pid":(\d+)', lines[f_at]).group(1))
        moved = re.sub(r'"pid":\d+,"tid":\d+', f'"pid":{(pid + 1) % 3},"tid":{(pid + 1) % 3}', lines[f_at])
        check_perfetto("\n".join(lines[:f_at] + [moved] + lines[f_at + 1:]), path)
    with pytest.raises(AssertionError, match="flow"):  # an end before its start
        s_at = next(i for i, line in enumerate(lines) if '"ph":"s"' in line)
        fid = re.search(r'"id":(\d+)', lines[s_at]).group(1)
        end = next(i for i, line in enumerate(lines) if '"ph":"f"' in line and f'"id":{fid},' in line)
        early = re.sub(r'"ts":[\d.]+', '"ts":0.000', lines[end])
        check_perfetto("\n".join(lines[:end] + [early] + lines[end + 1:]), path)
    x_at = next(i for i, line in enumerate(lines) if '"ph":"X"' in line)
    with pytest.raises(AssertionError):  # a wrong Lamport clock
        check_perfetto("\n".join(lines[:x_at] + [re.sub(r'"lamport":(\d+)', '"lamport":999999', lines[x_at])]
                                 + lines[x_at + 1:]), path)


def test_planted_otf2_defects_are_caught(tmp_path: Path, cli) -> None:
    """An archive missing one message (made from a copy of the file in which one receive became an
    internal event), and one whose timestamps are shifted, checked against the file."""
    path = run_file(tmp_path)

    def drop_a_message(data) -> None:
        k = int(np.flatnonzero(data.events["kind"] == 3)[0])
        for name, value in (("kind", 0), ("peer", -1), ("msg_tick", -1), ("msg_clock", -1)):
            data.events[name][k] = value
        data.events["msg_arrival"][k] = np.nan
    other = run_file(tmp_path, name="other.h5", mutate=drop_a_message)
    assert cli("export", "--format", "otf2", other, "-o", tmp_path / "bad.otf2").code == 0
    with pytest.raises(AssertionError):
        check_otf2(tmp_path / "bad.otf2", path)
    check_otf2(tmp_path / "bad.otf2", other)  # ... while it is right for the file it came from
    # a location's events from another run: the timestamps and clocks differ
    assert cli("export", "--format", "otf2", path, "-o", tmp_path / "good.otf2").code == 0
    shifted = run_file(tmp_path, name="shifted.h5", seed=4)
    assert cli("export", "--format", "otf2", shifted, "-o", tmp_path / "shifted.otf2").code == 0
    os.replace(tmp_path / "shifted.otf2" / "traces" / "1.evt", tmp_path / "good.otf2" / "traces" / "1.evt")
    with pytest.raises(Exception):
        check_otf2(tmp_path / "good.otf2", path)


# --- bad input: one line, exit 2, nothing written ------------------------------------------------------

def listing(folder: Path) -> Dict[str, bytes]:
    return {p.name: (p.read_bytes() if p.is_file() else b"<dir>") for p in folder.iterdir()}


def assert_refused(res, folder: Path, before: Dict[str, bytes], words: str) -> None:
    assert res.code == 2, (res.code, res.out, res.err)
    assert len(res.err.strip().splitlines()) == 1 and re.search(words, res.err), res.err
    assert res.out == ""
    assert listing(folder) == before, "nothing written"


@pytest.mark.parametrize("fmt", ex.FORMATS)
def test_bad_input(tmp_path: Path, cli, fmt) -> None:
    path = run_file(tmp_path, duration=10.0)
    out = tmp_path / f"out.{fmt}"
    before = listing(tmp_path)
    assert_refused(cli("export", "--format", fmt, path, "-o", out, "--window", "100:200"), tmp_path, before,
                   "outside the run")
    assert_refused(cli("export", "--format", fmt, path, "-o", out, "--window=-5:-1"), tmp_path, before,
                   "outside the run")
    assert_refused(cli("export", "--format", fmt, path, "-o", out, "--window", "5:2"), tmp_path, before, "below")
    assert_refused(cli("export", "--format", fmt, path, "-o", out, "--window", "x"), tmp_path, before, "T0:T1")
    assert_refused(cli("export", "--format", fmt, tmp_path / "none.h5", "-o", out), tmp_path, before, "no such file")
    # a receive naming a send that is not there
    broken = tmp_path / "broken.h5"
    broken.write_bytes(path.read_bytes())
    with h5py.File(broken, "r+") as f:
        first = int(np.flatnonzero(f["events/kind"][:] == 3)[0])
        f["events/msg_tick"][first] = 10 ** 6
    before = listing(tmp_path)
    assert_refused(cli("export", "--format", fmt, broken, "-o", out), tmp_path, before, "not a send")
    # an output that exists: kept without --force, replaced with it
    if fmt == "otf2":
        out.mkdir()
        (out / "keep").write_text("mine")
    else:
        out.write_text("mine")
    before = listing(tmp_path)
    assert_refused(cli("export", "--format", fmt, path, "-o", out), tmp_path, before, "exists")
    assert (out / "keep" if fmt == "otf2" else out).read_text() == "mine"
    res = cli("export", "--format", fmt, path, "-o", out, "--force")
    assert res.code == 0, res.err
    assert not (fmt == "otf2" and (out / "keep").exists())
    {"shiviz": lambda: check_shiviz(out.read_text(), path), "perfetto": lambda: check_perfetto(out.read_text(), path),
     "otf2": lambda: check_otf2(out, path)}[fmt]()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")], "no temporary left"


def test_unknown_format(tmp_path: Path, cli) -> None:
    path = run_file(tmp_path, duration=5.0)
    before = listing(tmp_path)
    assert_refused(cli("export", "--format", "vcd", path, "-o", tmp_path / "x"), tmp_path, before, "invalid choice")
    with pytest.raises(ex.ExportError, match="unknown format"):
        ex.export(str(path), "vcd", str(tmp_path / "x"))
