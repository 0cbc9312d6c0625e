"""Every rule `verify` checks has a planted case that fails it. The rules are read from the code
(each `flag("rule", ...)` and `Violation("rule", ...)` in analysis/clockbench/file/), so a rule
added without a planted case here fails the first test. Each plant starts from a run of the model
(model_sim.py: every model-time field present) that verifies clean, breaks one thing, and must
see its rule reported by name (other rules may follow from the same break)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Callable, Dict, Set

import h5py
import numpy as np
import pytest

from conftest import RunData, write_run
from model_sim import Faults, simulate_model
from test_verify import (plant_duplicate, plant_fifo, plant_jump, plant_lamport, plant_machines, plant_msg_clock,
                         plant_msg_clock_ge_lamport, plant_network_sent, plant_no_send, plant_non_peer,
                         plant_nonreceive_jump, plant_order, plant_queue, plant_receive_lamport, plant_t,
                         plant_tick_gap, rows)
from test_verify_clock import with_clock
from test_verify_time import busy_receive, tick_of

from clockbench.file.schema import open_run
from clockbench.file.verify import verify

FILE_PACKAGE = Path(__file__).resolve().parents[2] / "analysis" / "clockbench" / "file"


def rules_in_code() -> Set[str]:
    """The first argument of every flag(...) and Violation(...) call under clockbench/file/."""
    found: Set[str] = set()
    for f in FILE_PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            first = node.args[0]
            if name in ("flag", "Violation") and isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value)
    return found


def base() -> RunData:
    return simulate_model(seed=7)


def receive_row(d: RunData, k: int = 5) -> int:
    return int(rows(d, kind=3)[k])


def send_of(d: RunData, r: int) -> int:
    ev = d.events
    return int(np.flatnonzero((ev["rank"] == ev["peer"][r]) & (ev["tick"] == ev["msg_tick"][r]))[0])


def plant_rank_range(d: RunData) -> None:
    d.events["rank"][-1] = len(d.machines["rank"]) + 5


def plant_kind(d: RunData) -> None:
    d.events["kind"][rows(d, kind=0)[3]] = 7


def plant_fields(d: RunData) -> None:
    d.events["msg_tick"][rows(d, kind=0)[3]] = 2  # an internal event that names a message


def plant_adjacency(d: RunData) -> None:
    d.network["adjacency"][1, 1] = 1


def plant_network_received(d: RunData) -> None:
    d.network["received"][1, 0] += 1


def plant_conservation(d: RunData) -> None:
    d.network["left_in_queue"][2, 0] += 1


def plant_final_queue(d: RunData) -> None:
    last = int(np.flatnonzero(d.events["rank"] == 1)[-1])
    d.events["queue"][last] = int(d.network["left_in_queue"][:, 1].sum()) + 3  # more than was left


def plant_phase(d: RunData) -> None:
    d.machines["phase_s"][1] = 5.0 / d.machines["rate_hz"][1]


def plant_tick_before_deadline(d: RunData) -> None:
    """The 11th tick of rank 1 stamped 1 ms before its deadline (phase + k / rate), t still in order."""
    r = int(np.flatnonzero(d.events["rank"] == 1)[10])
    k, m = int(d.events["tick"][r]), d.machines
    d.events["t"][r] = m["phase_s"][1] + k / m["rate_hz"][1] - 1e-3


def plant_achieved_rate(d: RunData) -> None:
    """Rank 2's achieved rate set to its nominal one, as if the file copied it instead of measuring."""
    d.machines["achieved_hz"][2] = d.machines["rate_hz"][2]


def plant_timing(d: RunData) -> None:
    d.attrs["late_deliveries"] = int(d.attrs["late_deliveries"]) + 3


def plant_tick_count(d: RunData) -> None:
    d.machines["missed_ticks"][0] += 2
    d.attrs["missed_ticks"] = int(d.attrs["missed_ticks"]) + 2


def plant_clock_offset(d: RunData) -> None:
    with_clock(d)
    d.machines["clock_offset_s"][0] = 1e-3  # rank 0 is the reference


def plant_clock_rate(d: RunData) -> None:
    with_clock(d)
    d.machines["clock_rate_ppm"][1] = 21.0


def plant_clock_interval(d: RunData) -> None:
    with_clock(d)
    d.machines["clock_offset_start_t_s"][1] = 0.5  # after the first events


def plant_arrival_field(d: RunData) -> None:
    d.events["msg_arrival"][rows(d, kind=0)[3]] = 1.0


def plant_arrival(d: RunData) -> None:
    d.events["msg_arrival"][receive_row(d)] += 0.001  # not the send's deadline + the constant latency


def plant_receive_deadline(d: RunData) -> None:
    r = receive_row(d)
    ev = d.events
    i = ev["rank"][r]
    due = d.machines["phase_s"][i] + ev["tick"][r] / d.machines["rate_hz"][i]
    ev["msg_arrival"][r] = due + 0.01  # taken by a tick whose deadline is before its arrival


def plant_receive_after_send(d: RunData) -> None:
    r = receive_row(d)
    d.events["t"][send_of(d, r)] = d.events["t"][r] + 1.0  # the send stamped a second after its receive


def plant_end(d: RunData) -> None:
    d.attrs["end_s"] = float(d.attrs["end_s"]) - 1.0


def plant_latency(d: RunData) -> None:
    d.attrs["latency"] = "soon"


def plant_topology(d: RunData) -> None:
    """The seed of another graph: /network/adjacency and the sends no longer follow random:2."""
    d.attrs["seed"] = np.uint64(int(d.attrs["seed"]) + 1)


def plant_model_fields(d: RunData) -> None:
    del d.events["msg_arrival"]  # one of the fields written together


def plant_size(d: RunData) -> None:
    d.events["tick"][-1] = 2 ** 60  # too many ticks to key every message in an int64


def in_the_loop(d: RunData) -> None:
    """The fault was planted in the loop that made the run (BASES)."""


def in_the_file(d: RunData) -> None:
    """The fault is planted in the written file's HDF5 metadata (FILE_PLANTS)."""


def plant_dimension_scales(f: h5py.File) -> None:
    f["events/peer"].dims[0].detach_scale(f["events/event"])


def plant_fill_value(f: h5py.File) -> None:
    f["events/msg_tick"].attrs["_FillValue"] = np.int64(0)


def plant_flags(f: h5py.File) -> None:
    f["events/kind"].attrs["flag_meanings"] = "internal send receive all"


def plant_provenance(f: h5py.File) -> None:
    f.attrs["compiler_id"] = "GNU"  # without the rest of the build's provenance


def faulty(**faults) -> Callable[[], RunData]:
    """A run whose loop breaks the queue rule at a busy receive of the clean run."""
    def make() -> RunData:
        clean = simulate_model(seed=7)
        site = tick_of(clean, busy_receive(clean))
        return simulate_model(seed=7, faults=Faults(**{k: v(site) for k, v in faults.items()}))
    return make


PLANTS: Dict[str, Callable[[RunData], None]] = {
    "rank-range": plant_rank_range,
    "order": plant_order,
    "tick-sequence": plant_tick_gap,
    "lamport-increasing": plant_lamport,
    "t-nondecreasing": plant_t,
    "jump": plant_jump,
    "kind": plant_kind,
    "non-receive-jump": plant_nonreceive_jump,
    "queue": plant_queue,
    "fields": plant_fields,
    "receive-lamport": plant_receive_lamport,
    "receive-after-message": plant_msg_clock_ge_lamport,
    "send-to-peer": plant_non_peer,
    "receive-matches-send": plant_no_send,
    "received-once": plant_duplicate,
    "msg-clock": plant_msg_clock,
    "fifo": plant_fifo,
    "adjacency": plant_adjacency,
    "network-sent": plant_network_sent,
    "network-received": plant_network_received,
    "conservation": plant_conservation,
    "final-queue": plant_final_queue,
    "machines": plant_machines,
    "phase": plant_phase,
    "timing": plant_timing,
    "tick-count": plant_tick_count,
    "clock-offset": plant_clock_offset,
    "clock-rate": plant_clock_rate,
    "clock-interval": plant_clock_interval,
    "arrival-field": plant_arrival_field,
    "arrival": plant_arrival,
    "receive-deadline": plant_receive_deadline,
    "tick-before-deadline": plant_tick_before_deadline,
    "achieved-rate": plant_achieved_rate,
    "receive-after-send": plant_receive_after_send,
    "end": plant_end,
    "latency": plant_latency,
    "topology": plant_topology,
    "model-fields": plant_model_fields,
    "size": plant_size,
    "queue-order": in_the_loop,
    "queue-draw": in_the_loop,
    "queue-length": in_the_loop,
    "dimension-scales": in_the_file,
    "fill-value": in_the_file,
    "flags": in_the_file,
    "provenance": in_the_file,
}
# Plants in the HDF5 metadata of the file written from the run (the conventions of docs/schema.md).
FILE_PLANTS: Dict[str, Callable[[h5py.File], None]] = {
    "dimension-scales": plant_dimension_scales,
    "fill-value": plant_fill_value,
    "flags": plant_flags,
    "provenance": plant_provenance,
}
# Plants that need another run than base(): the ring's non-peer send, a random:2 graph, and the
# faults of the loop.
BASES: Dict[str, Callable[[], RunData]] = {
    "send-to-peer": lambda: simulate_model(rates=(3.0, 4.0, 5.0, 8.0), topology="ring", seed=7),
    "topology": lambda: simulate_model(rates=(3.0, 4.0, 5.0, 8.0, 2.0, 6.0), topology="random:2", seed=7),
    "queue-order": faulty(wrong_pick=lambda site: {site}),
    "queue-draw": faulty(draw=lambda site: {site}),
    "queue-length": faulty(queue_off=lambda site: {site: 1}),
}


def test_every_rule_in_the_code_has_a_plant() -> None:
    code = rules_in_code()
    assert len(code) >= 30, sorted(code)  # the reading of the code found them
    assert not code - set(PLANTS), f"rules without a planted case: {sorted(code - set(PLANTS))}"
    assert not set(PLANTS) - code, f"plants for rules the code no longer has: {sorted(set(PLANTS) - code)}"


@pytest.mark.parametrize("make", [base, BASES["send-to-peer"], BASES["topology"]], ids=["full", "ring", "random"])
def test_the_unplanted_runs_verify(tmp_path: Path, make) -> None:
    result = verify(open_run(write_run(tmp_path / "run.h5", make())))
    assert result.ok, "\n".join(str(v) for v in result.violations)


@pytest.mark.parametrize("rule", sorted(PLANTS))
def test_each_rule_fails_on_its_plant(tmp_path: Path, rule: str) -> None:
    d = BASES.get(rule, base)()
    PLANTS[rule](d)
    path = write_run(tmp_path / "run.h5", d)
    if rule in FILE_PLANTS:
        with h5py.File(path, "r+") as f:
            FILE_PLANTS[rule](f)
    result = verify(open_run(path))
    seen = {v.check for v in result.violations}
    assert rule in seen, f"{rule} not reported; reported: {sorted(seen)}"
