"""Tests of `clockbench-analyze verify`: valid runs pass, planted violations and bad files fail."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from conftest import RunData, run_cli, simulate, write_run

from clockbench.file.schema import SchemaError, open_run
from clockbench.file.verify import verify


def rows(d: RunData, **where: int) -> np.ndarray:
    """Event row indices whose columns equal every given value."""
    mask = np.ones(d.events["rank"].size, dtype=bool)
    for col, value in where.items():
        mask &= d.events[col] == value
    return np.flatnonzero(mask)


def later_row(d: RunData, **where: int) -> int:
    """A matching row that is not a machine's first tick (so it has a previous)."""
    return int(next(r for r in rows(d, **where) if d.events["tick"][r] > 0))


def shift_lamport_from(d: RunData, r: int) -> None:
    """Add 1 to the clock of row r and all later ticks of its machine."""
    ev = d.events
    ev["lamport"][(ev["rank"] == ev["rank"][r]) & (ev["tick"] >= ev["tick"][r])] += 1
    ev["jump"][r] += 1


def pair_receives(d: RunData) -> np.ndarray:
    """Two receive rows of one receiver from one sender, the busiest pair."""
    recv = rows(d, kind=3)
    keys = d.events["peer"][recv] * 100 + d.events["rank"][recv]
    best = np.bincount(keys).argmax()
    return recv[keys == best][:2]


def plant_lamport(d: RunData) -> None:
    r = later_row(d, rank=1, kind=0)
    d.events["lamport"][r] = d.events["lamport"][r - 1]


def plant_t(d: RunData) -> None:
    r = later_row(d, rank=2)
    d.events["t"][r] = d.events["t"][r - 1] - 0.01


def plant_tick_gap(d: RunData) -> None:
    d.events["tick"][rows(d, rank=1)[5:]] += 1


def plant_jump(d: RunData) -> None:
    d.events["jump"][later_row(d, rank=2, kind=0)] += 1


def plant_nonreceive_jump(d: RunData) -> None:
    shift_lamport_from(d, later_row(d, rank=1, kind=0))


def plant_queue(d: RunData) -> None:
    d.events["queue"][later_row(d, rank=2, kind=0)] = 2


def plant_receive_lamport(d: RunData) -> None:
    shift_lamport_from(d, later_row(d, kind=3))


def plant_msg_clock_ge_lamport(d: RunData) -> None:
    r = later_row(d, kind=3)
    d.events["msg_clock"][r] = d.events["lamport"][r]


def plant_no_send(d: RunData) -> None:
    r = later_row(d, kind=3)
    internal = rows(d, rank=d.events["peer"][r], kind=0)[0]
    d.events["msg_tick"][r] = d.events["tick"][internal]


def plant_duplicate(d: RunData) -> None:
    a, b = pair_receives(d)
    for col in ("msg_tick", "msg_clock"):
        d.events[col][b] = d.events[col][a]


def plant_msg_clock(d: RunData) -> None:
    ev = d.events
    # A receive whose clock came from its own past, so the lamport rule
    # still holds after the carried clock is lowered.
    r = next(r for r in rows(d, kind=3) if ev["tick"][r] > 0
             and ev["msg_clock"][r] + 1 < ev["lamport"][r - 1])
    ev["msg_clock"][r] -= 1


def plant_fifo(d: RunData) -> None:
    a, b = pair_receives(d)
    for col in ("msg_tick", "msg_clock"):
        d.events[col][[a, b]] = d.events[col][[b, a]]


def plant_non_peer(d: RunData) -> None:
    r = rows(d, kind=1)[0]
    d.events["peer"][r] = (d.events["rank"][r] + 2) % 4  # across the ring


def plant_network_sent(d: RunData) -> None:
    d.network["sent"][1, 0] += 1


def plant_conservation(d: RunData) -> None:
    d.network["left_in_queue"][2, 0] += 1


def plant_machines(d: RunData) -> None:
    d.machines["sent"][1] += 1


def plant_order(d: RunData) -> None:
    r = later_row(d, rank=1)
    for col in d.events.values():
        col[[r - 1, r]] = col[[r, r - 1]]


VIOLATIONS = [
    ("lamport", plant_lamport, {}, "rank 1 tick \\d+: lamport \\d+ not greater than previous"),
    ("t", plant_t, {}, "rank 2 tick \\d+: t .* earlier than previous"),
    ("tick-gap", plant_tick_gap, {}, "rank 1 tick 6: expected tick 5"),
    ("jump", plant_jump, {}, "rank 2 tick \\d+: jump 2 but lamport went from"),
    ("non-receive-jump", plant_nonreceive_jump, {}, "internal event has jump 2, expected 1"),
    ("queue", plant_queue, {}, "internal event with queue 2 after it"),
    ("receive-lamport", plant_receive_lamport, {}, "receive lamport \\d+, expected max\\("),
    ("msg-clock-ge", plant_msg_clock_ge_lamport, {}, "not greater than msg_clock"),
    ("no-send", plant_no_send, {}, "matches no send .*is an internal event"),
    ("duplicate", plant_duplicate, {}, "received twice"),
    ("msg-clock", plant_msg_clock, {}, "carries msg_clock \\d+, but the send had lamport"),
    ("fifo", plant_fifo, {}, "taken before the earlier message .*FIFO"),
    ("non-peer", plant_non_peer, {"rates": (3, 4, 5, 8), "topology": "ring"},
     "send-one to rank \\d, which is not its peer"),
    ("network-sent", plant_network_sent, {}, "network/sent\\[1,0\\] is \\d+, but the events"),
    ("conservation", plant_conservation, {}, "pair 2->0: .*conservation"),
    ("machines", plant_machines, {}, "machines/sent\\[1\\] is \\d+, expected"),
    ("order", plant_order, {}, "must be ordered by rank then tick"),
]


def test_valid_run_passes_with_exact_counts(tmp_path: Path) -> None:
    d = simulate()
    ev, net = d.events, d.network
    kinds = np.bincount(ev["kind"], minlength=4)
    assert kinds.min() > 0 and net["left_in_queue"].sum() > 0  # a useful fixture
    path = write_run(tmp_path / "run.h5", d)
    res = run_cli("verify", path)
    assert res.code == 0, res.out + res.err
    assert res.err == ""
    assert res.out == (
        f"OK {path}: 3 machines, {ev['rank'].size} events ({kinds[0]} internal, "
        f"{kinds[1]} send-one, {kinds[2]} send-all, {kinds[3]} receive), "
        f"{net['sent'].sum()} messages sent, {kinds[3]} received, "
        f"{net['left_in_queue'].sum()} left in queue; all invariants hold (no arrival times recorded: "
        "the model-time rules were not checked)\n")


def test_api_counts_and_matches(tmp_path: Path) -> None:
    d = simulate()
    result = verify(open_run(write_run(tmp_path / "run.h5", d)))
    assert result.ok, result.violations
    assert result.receives_matched == result.messages_received == (d.events["kind"] == 3).sum()
    assert result.messages_sent == result.messages_received + result.left_in_queue


def test_ring_topology_passes(make_run: Callable[..., Path]) -> None:
    res = run_cli("verify", make_run(rates=(3, 4, 5, 8), topology="ring"))
    assert res.code == 0, res.out + res.err
    assert res.out.startswith("OK ") and ": 4 machines," in res.out


def test_partial_run_is_labelled(make_run: Callable[..., Path]) -> None:
    def stop(d: RunData) -> None:
        d.attrs["completed"] = np.int32(0)
        d.attrs["stop_reason"] = "SIGTERM on rank 2"
    res = run_cli("verify", make_run(mutate=stop))
    assert res.code == 0, res.out + res.err
    assert res.out.rstrip().endswith("[partial: completed=0, SIGTERM on rank 2]")


@pytest.mark.parametrize("plant, kwargs, pattern",
                         [v[1:] for v in VIOLATIONS], ids=[v[0] for v in VIOLATIONS])
def test_planted_violation_is_caught(make_run: Callable[..., Path], plant: Callable,
                                     kwargs: dict, pattern: str) -> None:
    path = make_run(mutate=plant, **kwargs)
    res = run_cli("verify", path)
    assert res.code == 1, res.out + res.err
    assert res.out.startswith(f"FAIL {path}: ")
    assert re.search(pattern, res.out), res.out
    lines = res.out.splitlines()
    assert len(lines) <= 12 and all(s.startswith("  ") for s in lines[1:])
    assert run_cli("verify", path).out == res.out  # deterministic


def test_violation_and_valid_file_together(make_run: Callable[..., Path]) -> None:
    good, bad = make_run("good.h5"), make_run("bad.h5", mutate=plant_machines)
    res = run_cli("verify", good, bad)
    assert res.code == 1
    assert res.out.startswith(f"OK {good}") and f"FAIL {bad}" in res.out


def _drop_lamport(d: RunData) -> None:
    del d.events["lamport"]


def _no_events(d: RunData) -> None:
    for key in d.events:
        d.events[key] = d.events[key][:0]


def _schema(value: str) -> Callable[[RunData], None]:
    def mutate(d: RunData) -> None:
        d.attrs["schema"] = value
    return mutate


BAD_FILES = [
    ("schema-0", _schema("clockbench/0"), "unsupported schema version 'clockbench/0'"),
    ("schema-other", _schema("other"), "schema is 'other', expected 'clockbench/1'"),
    ("no-lamport", _drop_lamport, "missing dataset\\(s\\): /events/lamport"),
    ("no-events", _no_events, "no events"),
]


@pytest.mark.parametrize("mutate, pattern", [b[1:] for b in BAD_FILES],
                         ids=[b[0] for b in BAD_FILES])
def test_bad_schema_is_an_error(make_run: Callable[..., Path], mutate: Callable,
                                pattern: str) -> None:
    path = make_run(mutate=mutate)
    res = run_cli("verify", path)
    _assert_error(res, path, pattern)
    with pytest.raises(SchemaError, match=pattern):
        open_run(path)


def _assert_error(res, path: Path, pattern: str) -> None:
    assert res.code == 2, res.out + res.err
    assert res.out == ""
    assert "Traceback" not in res.err and len(res.err.splitlines()) == 1, res.err
    assert res.err.startswith(f"clockbench-analyze: error: {path}: ")
    assert re.search(pattern, res.err), res.err


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.h5"
    _assert_error(run_cli("verify", path), path, "no such file")


def test_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.h5"
    path.write_text("not hdf5\n")
    _assert_error(run_cli("verify", path), path, "not an HDF5 file")


def test_truncated_file(make_run: Callable[..., Path], tmp_path: Path) -> None:
    whole = make_run().read_bytes()
    path = tmp_path / "truncated.h5"
    path.write_bytes(whole[: len(whole) // 2])
    _assert_error(run_cli("verify", path), path, ".")


def test_bad_file_among_good_ones_exits_2(make_run: Callable[..., Path],
                                          tmp_path: Path) -> None:
    good = make_run("good.h5")
    res = run_cli("verify", good, tmp_path / "nope.h5")
    assert res.code == 2 and res.out.startswith(f"OK {good}")


def test_usage_errors_exit_2() -> None:
    assert run_cli().code == 2
    assert run_cli("verify").code == 2
    assert run_cli("frobnicate").code == 2
