"""Exports of a run to the tools people read logical clocks and traces with: ShiViz (vector-clock
logs), Perfetto / Chrome trace JSON, and OTF2 (Score-P, Vampir, ...). docs/exports.md.

`clockbench-analyze export --format shiviz|perfetto|otf2 FILE -o OUT [--force] [--window T0:T1]`

Every receive in a file names its send (peer, msg_tick), so messages and vector clocks come from
the file itself (causality.py). The text formats are written without a Python step per event: a
block of rows is laid out as a byte matrix, one column range per field (literal text, or the
decimal digits of a whole column computed with numpy), with zero bytes where a field is absent
from a row or a number has fewer digits than its column's widest; the zero bytes are then
dropped and the block written. OTF2's event files are laid out the same way (its binary records
as byte columns with a mask of the bytes present), one process per machine; the OTF2 library
(Debian's python3-otf2) writes the archive's anchor and definitions, and all the records when a
value does not fit that layout.

Output is written to a temporary name in the destination's folder and renamed at the end, so a
failed export leaves nothing behind, and an existing output is replaced only with --force.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

from clockbench.documents import window
from clockbench.measure.causality import CausalityError, _layout, _sources, vector_clocks
from clockbench.file.schema import KIND_NAMES, RECEIVE, SEND_ALL, SEND_ONE, Run, SchemaError, open_run

FORMATS = ("shiviz", "perfetto", "otf2")
PROG = "clockbench-analyze export"

# Bytes of one clockbench message on the wire: tick, Lamport clock, arrival time (3 x int64,
# src/mpi/transport.hpp kWords): the OTF2 message length.
MESSAGE_BYTES = 24

# ShiViz's parser regular expression for the log below (JavaScript named groups, as ShiViz takes
# them; Python's re spells a named group (?P<name>...): shiviz_regex_python()).
SHIVIZ_REGEX = r"^(?<host>\S+) (?<clock>\{[^}]*\}) (?<event>.*)$"

# Rows per block of the text formats (a block's byte matrix is rows x line width).
_BLOCK = 1 << 15


class ExportError(ValueError):
    """The export cannot be made as asked (a window outside the run, an output that exists, ...)."""


def shiviz_regex_python() -> str:
    return SHIVIZ_REGEX.replace("(?<", "(?P<")


def host_name(rank: int) -> str:
    """The name of a machine in the ShiViz log and its vector clocks."""
    return f"m{rank}"


# --- which events and messages ------------------------------------------------------------------

@dataclass
class Selection:
    """The events of the export (rows of the file) and its messages (each receive with its send,
    both in the window)."""

    rows: np.ndarray          # rows of the file in the window, file order (by machine, then tick)
    order: np.ndarray         # the same rows in god's-eye time order (ties: file order)
    recv: np.ndarray          # rows of the receives whose send is in the window, file order
    send: np.ndarray          # the row of each one's send
    window: Optional[Tuple[float, float]]
    origin_s: float           # model time of timestamp 0 in Perfetto and OTF2 (0, or earlier if an event is)


def parse_window(text: str) -> Tuple[float, float]:
    """documents/window.py's window, as an ExportError."""
    try:
        return window.parse_window(text)
    except ValueError as exc:
        raise ExportError(str(exc)) from None


def select(run: Run, window: Optional[Tuple[float, float]] = None, ordered: bool = True) -> Selection:
    """The events and messages to export; CausalityError if a receive names a send that is not in
    the file, ExportError if the window holds no event of the run. `ordered`: also sort them in
    time (the text formats; OTF2 writes each machine's events in file order)."""
    start, count = _layout(run)
    recv, send = _sources(run, start, count)
    t = run.events["t"]
    if run.n_events == 0:
        raise ExportError("the run has no events")
    if window is None:
        rows = np.arange(run.n_events)
        order = np.argsort(t, kind="stable") if ordered else rows
    else:
        lo, hi = window
        first, last = float(t.min()), float(t.max())
        if lo > last or hi < first:
            raise ExportError(f"--window {_fmt(lo)}:{_fmt(hi)} is outside the run (its events are at "
                              f"{first:.9g} to {last:.9g} s)")
        keep = (t >= lo) & (t <= hi)
        rows = np.flatnonzero(keep)
        if rows.size == 0:
            raise ExportError(f"--window {_fmt(lo)}:{_fmt(hi)} holds no event of the run")
        order = rows[np.argsort(t[rows], kind="stable")] if ordered else rows
        both = keep[recv] & keep[send]
        recv, send = recv[both], send[both]
    origin = min(0.0, float(t[rows].min()))
    return Selection(rows, order, recv, send, window, origin)


def _fmt(x: float) -> str:
    return "" if np.isinf(x) else f"{x:g}"


# --- text laid out as byte matrices -------------------------------------------------------------

class _Rows:
    """One block of text lines, built column by column: `lit` (the same text in every row, or in
    the rows of a mask), `int` (a column of integers in decimal), `fixed` (integers scaled by
    10^-decimals, e.g. nanoseconds as seconds). Rendered as an n x width uint8 matrix in which 0
    means 'no byte here' (bytes() drops those): the literal text is laid down in one copy of a
    template row, then each number's digits column by column."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.template: List[np.ndarray] = []
        self.digits: List[Tuple[int, Callable[[np.ndarray, int], None]]] = []
        self.masks: List[Tuple[int, int, np.ndarray]] = []
        self.width = 0

    def _mask(self, width: int, where: Optional[np.ndarray]) -> None:
        if where is not None:
            self.masks.append((self.width, width, where))

    def lit(self, text: str, where: Optional[np.ndarray] = None) -> "_Rows":
        raw = np.frombuffer(text.encode(), dtype=np.uint8)
        self._mask(raw.size, where)
        self.template.append(raw)
        self.width += raw.size
        return self

    def int(self, values: np.ndarray, where: Optional[np.ndarray] = None) -> "_Rows":
        values = np.asarray(values, dtype=np.int64)
        neg = values < 0
        return self._digits(np.abs(values), neg if neg.any() else None, 0, where)

    def fixed(self, scaled: np.ndarray, decimals: int, where: Optional[np.ndarray] = None) -> "_Rows":
        scaled = np.asarray(scaled, dtype=np.int64)
        neg = scaled < 0
        return self._digits(np.abs(scaled), neg if neg.any() else None, decimals, where)

    def _digits(self, mag: np.ndarray, neg: Optional[np.ndarray], decimals: int,
                where: Optional[np.ndarray]) -> "_Rows":
        top = int(mag.max()) if mag.size else 0
        whole = max(1, len(str(top // 10 ** decimals)))
        sign = 1 if neg is not None else 0
        width = sign + whole + (decimals + 1 if decimals else 0)
        if top < 2 ** 31:
            mag = mag.astype(np.int32)  # faster division

        def fill(mat: np.ndarray, off: int) -> None:
            if sign:
                mat[:, off] = np.where(neg, ord("-"), 0)
            cur = mag
            end = off + width
            if decimals:  # the fraction's digits, every one written
                for j in range(decimals):
                    cur, d = np.divmod(cur, 10)
                    mat[:, end - 1 - j] = d
                mat[:, end - 1 - decimals] = ord(".")
                end -= decimals + 1
            for j in range(whole):
                if j:
                    mat[:, end - 1 - j] = np.where(cur > 0, cur % 10 + 48, 0)
                else:
                    mat[:, end - 1] = cur % 10 + 48
                cur = cur // 10
            if decimals:
                mat[:, end + 1:end + 1 + decimals] += 48
        self.digits.append((self.width, fill))
        self._mask(width, where)
        self.template.append(np.zeros(width, dtype=np.uint8))
        self.width += width
        return self

    def matrix(self) -> np.ndarray:
        mat = np.empty((self.n, self.width), dtype=np.uint8)
        mat[:] = np.concatenate(self.template)
        for off, fill in self.digits:
            fill(mat, off)
        for off, width, where in self.masks:
            mat[~where, off:off + width] = 0
        return mat

    def bytes(self) -> bytes:
        flat = self.matrix().ravel()
        return flat[flat != 0].tobytes()


def _ns(t: np.ndarray, origin_s: float = 0.0) -> np.ndarray:
    """Model seconds as whole nanoseconds after origin_s."""
    return np.rint((t - origin_s) * 1e9).astype(np.int64)


def _write_blocks(out, blocks: Sequence[Callable[[], bytes]], workers: int) -> None:
    """Write each block's bytes in order. With workers > 1 the blocks are cut into that many
    contiguous runs: forked processes render all runs but the first into files beside `out`
    (out.name + .partK) while this one renders the first, then those are appended in order."""
    k = max(1, min(workers, len(blocks)))
    if k == 1:
        for b in blocks:
            out.write(b())
        return
    bounds = np.linspace(0, len(blocks), k + 1).astype(int)
    parts = [f"{out.name}.part{i}" for i in range(1, k)]
    out.flush()
    pids = []
    try:
        for i in range(1, k):
            pid = os.fork()
            if pid == 0:  # the child: its run of blocks into its part file, then out at once
                code = 1
                try:
                    with open(parts[i - 1], "wb", buffering=1 << 22) as f:
                        for b in blocks[bounds[i]:bounds[i + 1]]:
                            f.write(b())
                    code = 0
                finally:
                    os._exit(code)
            pids.append(pid)
        for b in blocks[bounds[0]:bounds[1]]:
            out.write(b())
        out.flush()
    finally:
        failed = [pid for pid in pids if os.waitpid(pid, 0)[1] != 0]
    try:
        if failed:
            raise ExportError(f"{len(failed)} writer process(es) failed")
        fd = out.fileno()
        for part in parts:
            with open(part, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                done = 0
                while done < size:
                    copied = os.copy_file_range(f.fileno(), fd, size - done)
                    if copied == 0:
                        raise ExportError(f"could not append {part}")
                    done += copied
    finally:
        for part in parts:
            if os.path.exists(part):
                os.unlink(part)


def _workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


# --- ShiViz ---------------------------------------------------------------------------------------

def write_shiviz(run: Run, sel: Selection, out, workers: int = 1) -> int:
    """The log in god's-eye time order, one line an event: host, vector clock (JSON), event text.
    The first line is the parser regex, the second empty. A host's own entry is its events counted
    from 1 (from the window's start in a window: entries count only events in the window); entries
    of hosts not heard of (0) are left out, as ShiViz drops them anyway. Returns the events written."""
    ev = run.events
    n = run.n_machines
    clocks = vector_clocks(run).clocks
    base = np.zeros(n, dtype=np.int64)  # events of each machine before the window
    if sel.window is not None:
        t = ev["t"]
        for m in range(n):
            mine = ev["rank"] == m
            base[m] = int(np.count_nonzero(mine & (t < sel.window[0])))
    names = [f'"{host_name(j)}":' for j in range(n)]
    out.write((SHIVIZ_REGEX + "\n\n").encode())

    def block(lo: int) -> bytes:
        rows = sel.order[lo:lo + _BLOCK]
        v = clocks[rows].astype(np.int64) - base[None, :]
        np.maximum(v, 0, out=v)
        kind, peer = ev["kind"][rows], ev["peer"][rows]
        present = v > 0
        first = np.argmax(present, axis=1)
        r = _Rows(rows.size).lit("m").int(ev["rank"][rows]).lit(" {")
        for j in range(n):
            r.lit(",", present[:, j] & (first != j)).lit(names[j], present[:, j]).int(v[:, j], present[:, j])
        r.lit("} ")
        r.lit("internal", kind == 0)
        r.lit("send to m", kind == SEND_ONE).int(peer, kind == SEND_ONE)
        r.lit("send to all", kind == SEND_ALL)
        is_recv = kind == RECEIVE
        r.lit("receive from m", is_recv).int(peer, is_recv).lit(" sent at its tick ", is_recv)
        r.int(ev["msg_tick"][rows], is_recv)
        r.lit(" | tick ").int(ev["tick"][rows]).lit(", lamport ").int(ev["lamport"][rows])
        r.lit(", jump ").int(ev["jump"][rows]).lit(", queue ").int(ev["queue"][rows])
        r.lit(", t ").fixed(_ns(ev["t"][rows]), 9).lit(" s\n")
        return r.bytes()
    _write_blocks(out, [lambda lo=lo: block(lo) for lo in range(0, sel.order.size, _BLOCK)], workers)
    return int(sel.order.size)


# --- Perfetto / Chrome trace JSON -----------------------------------------------------------------

SLICE_NS = 1000  # an event's slice: 1 us, or up to its machine's next event if that is sooner


def write_perfetto(run: Run, sel: Selection, out, workers: int = 1) -> Tuple[int, int]:
    """Trace Event Format JSON: one process (pid = tid = rank) per machine; each event a complete
    slice ("X") at its god's-eye time in microseconds, args tick, lamport, jump, queue, peer,
    msg_tick, vector_clock (the whole run's, own entry = tick + 1); each message a flow from its
    send's slice ("s") to its receive's slice ("f", bp "e"), id = the receive's row in the file.
    Returns (events, messages) written."""
    ev = run.events
    n = run.n_machines
    clocks = vector_clocks(run).clocks
    t_ns = _ns(ev["t"], sel.origin_s)
    # slice length: up to the machine's next event (rows are by machine then tick)
    rank = ev["rank"]
    gap = np.full(t_ns.size, SLICE_NS, dtype=np.int64)
    same = rank[1:] == rank[:-1]
    gap[:-1][same] = np.minimum(t_ns[1:][same] - t_ns[:-1][same], SLICE_NS)
    out.write(b'{"traceEvents":[\n')
    hosts = run.machines.get("hostname")
    for m in range(n):
        host = str(hosts[m]) if hosts is not None else ""
        for rec in ({"name": "process_name", "ph": "M", "pid": m, "tid": m,
                     "args": {"name": f"machine {m}" + (f" ({host})" if host else "")}},
                    {"name": "process_sort_index", "ph": "M", "pid": m, "tid": m, "args": {"sort_index": m}},
                    {"name": "thread_name", "ph": "M", "pid": m, "tid": m, "args": {"name": "events"}}):
            out.write((json.dumps(rec, separators=(",", ":")) + ",\n").encode())
    def events(lo: int) -> bytes:
        rows = sel.order[lo:lo + _BLOCK]
        kind, peer = ev["kind"][rows], ev["peer"][rows]
        r = _Rows(rows.size).lit('{"name":"')
        for k, name in enumerate(KIND_NAMES):
            r.lit(name, kind == k)
        r.lit('","cat":"event","ph":"X","ts":').fixed(t_ns[rows], 3).lit(',"dur":').fixed(gap[rows], 3)
        r.lit(',"pid":').int(ev["rank"][rows]).lit(',"tid":').int(ev["rank"][rows])
        r.lit(',"args":{"tick":').int(ev["tick"][rows]).lit(',"lamport":').int(ev["lamport"][rows])
        r.lit(',"jump":').int(ev["jump"][rows]).lit(',"queue":').int(ev["queue"][rows])
        r.lit(',"to":', kind == SEND_ONE).int(peer, kind == SEND_ONE)
        is_recv = kind == RECEIVE
        r.lit(',"from":', is_recv).int(peer, is_recv).lit(',"msg_tick":', is_recv).int(ev["msg_tick"][rows], is_recv)
        r.lit(',"vector_clock":[')
        v = clocks[rows]
        for j in range(n):
            r.int(v[:, j]).lit("," if j < n - 1 else "]}},\n")
        return r.bytes()

    def flows(lo: int) -> bytes:
        rr, ss = sel.recv[lo:lo + _BLOCK], sel.send[lo:lo + _BLOCK]
        ids = rr
        r = _Rows(rr.size)
        r.lit('{"name":"message","cat":"message","ph":"s","id":').int(ids).lit(',"ts":').fixed(t_ns[ss], 3)
        r.lit(',"pid":').int(rank[ss]).lit(',"tid":').int(rank[ss]).lit("},\n")
        r.lit('{"name":"message","cat":"message","ph":"f","bp":"e","id":').int(ids).lit(',"ts":').fixed(t_ns[rr], 3)
        r.lit(',"pid":').int(rank[rr]).lit(',"tid":').int(rank[rr]).lit("},\n")
        return r.bytes()
    _write_blocks(out, [lambda lo=lo: events(lo) for lo in range(0, sel.order.size, _BLOCK)]
                  + [lambda lo=lo: flows(lo) for lo in range(0, sel.recv.size, _BLOCK)], workers)
    # the last record carries no comma: the run's description as one more metadata event
    other = {"source": os.path.basename(run.path), "schema": str(run.attrs.get("schema", "")),
             "n_machines": n, "completed": int(run.attrs.get("completed", 0)),
             "stop_reason": str(run.attrs.get("stop_reason", "")), "seed": int(run.attrs.get("seed", 0)),
             "ts_origin_model_s": sel.origin_s,
             "window_s": None if sel.window is None else [_finite(x) for x in sel.window],
             "events": int(sel.rows.size), "messages": int(sel.recv.size)}
    out.write((json.dumps({"name": "clockbench_run", "ph": "M", "pid": 0, "tid": 0, "args": other},
                          separators=(",", ":")) + "\n").encode())
    out.write(b'],"displayTimeUnit":"ns","otherData":' + json.dumps(other).encode() + b"}\n")
    return int(sel.rows.size), int(sel.recv.size)


def _finite(x: float) -> Optional[float]:
    return None if np.isinf(x) else float(x)


# --- OTF2 -----------------------------------------------------------------------------------------

OTF2_MISSING = ("the OTF2 export needs Debian's python3-otf2: run scripts/install-deps "
                "(or apt-get install python3-otf2)")
OTF2_RESOLUTION = 10 ** 9  # timer ticks per second: timestamps are nanoseconds of model time
# On each event's Enter record: its Lamport clock, its tick (its own vector entry less one) and the
# messages waiting after it.
OTF2_ATTRIBUTES = ("lamport", "tick", "queue")


def _otf2():
    try:
        import otf2  # noqa: F401
        import _otf2  # noqa: F401
    except ImportError:
        raise ExportError(OTF2_MISSING) from None
    return otf2


def _otf2_definitions(writer, run: Run):
    """The global definitions, in the same order in every process (the references must agree):
    a system tree of the run's hosts, a process (location group) and a thread (location) per
    machine, MPI_COMM_WORLD over them, a region per event kind, the event attributes."""
    from otf2.enums import GroupType, LocationGroupType, LocationType, Paradigm, RegionRole, Type
    d = writer.definitions
    root = d.system_tree_node("clockbench run", class_name="run")
    hosts = run.machines.get("hostname")
    nodes = {}
    locations = []
    for m in range(run.n_machines):
        host = str(hosts[m]) if hosts is not None else "host"
        if host not in nodes:
            nodes[host] = d.system_tree_node(host, class_name="node", parent=root)
        group = d.location_group(f"machine {m}", location_group_type=LocationGroupType.PROCESS,
                                 system_tree_parent=nodes[host])
        locations.append(d.location(f"machine {m}", type=LocationType.CPU_THREAD, group=group))
    d.group("MPI locations", group_type=GroupType.COMM_LOCATIONS, paradigm=Paradigm.MPI, members=locations)
    world = d.group("MPI_COMM_WORLD group", group_type=GroupType.COMM_GROUP, paradigm=Paradigm.MPI,
                    members=range(run.n_machines))
    comm = d.comm("MPI_COMM_WORLD", group=world)
    regions = [d.region(name, description=f"clockbench {name} event", region_role=RegionRole.FUNCTION,
                        paradigm=Paradigm.USER) for name in KIND_NAMES]
    attrs = [d.attribute(name, description=f"the event's {name}", type=Type.INT64) for name in OTF2_ATTRIBUTES]
    return locations, comm, regions, attrs


def _otf2_records(run: Run, sel: Selection):
    """Every event's timestamp (nanoseconds after the origin), and the selection's messages sorted
    by their send's row: the send rows, the receivers and the tags."""
    ev = run.events
    ts = _ns(ev["t"], sel.origin_s)
    tag = ev["msg_tick"] & 0xFFFFFFFF  # the sender's tick: each receive matches exactly its send
    by_send = np.argsort(sel.send, kind="stable")
    return ts, sel.send[by_send], ev["rank"][sel.recv[by_send]], tag[sel.recv[by_send]]


def _otf2_write_machines(path: str, run: Run, sel: Selection, machines: Sequence[int], ts, msg_send, msg_to,
                         msg_tag, taken: np.ndarray) -> List[int]:
    """Write the event streams of `machines` into an archive at `path` (only their event and local
    definition files are kept). Returns the records written per machine."""
    import ctypes

    otf2 = _otf2()
    from _otf2.Config import lib_path
    lib = ctypes.CDLL(lib_path())  # own function objects: the Python wrappers reset argtypes per call
    vp, u64, u32, i64 = ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_int64

    def fn(name, args):
        f = getattr(lib, name)
        f.argtypes, f.restype = args, ctypes.c_int
        return f
    enter = fn("OTF2_EvtWriter_Enter", [vp, vp, u64, u32])
    leave = fn("OTF2_EvtWriter_Leave", [vp, vp, u64, u32])
    send = fn("OTF2_EvtWriter_MpiSend", [vp, vp, u64, u32, u32, u32, u64])
    recv = fn("OTF2_EvtWriter_MpiRecv", [vp, vp, u64, u32, u32, u32, u64])
    add = fn("OTF2_AttributeList_AddInt64", [vp, u32, i64])
    new_list = lib.OTF2_AttributeList_New
    new_list.argtypes, new_list.restype = [], vp
    ev = run.events
    written = []
    with otf2.writer.open(path, timer_resolution=OTF2_RESOLUTION) as trace:
        locations, comm, regions, attrs = _otf2_definitions(trace, run)
        c = comm._ref
        reg = [x._ref for x in regions]
        a_lam, a_tick, a_queue = (x._ref for x in attrs)
        regions_of = np.array(reg)
        size = MESSAGE_BYTES
        alist = new_list()
        in_sel = np.zeros(run.n_events, dtype=bool)
        in_sel[sel.rows] = True
        for m in machines:
            w = trace.event_writer_from_location(locations[m])
            h = ctypes.cast(w.handle, vp).value
            s0 = int(np.searchsorted(ev["rank"], m, side="left"))
            s1 = int(np.searchsorted(ev["rank"], m, side="right"))
            rows_m = s0 + np.flatnonzero(in_sel[s0:s1])
            records = 0
            err = 0
            for lo in range(0, rows_m.size, _BLOCK):
                rows = rows_m[lo:lo + _BLOCK]
                # messages of these rows: sends (k of them) or the receive's sender
                first = np.searchsorted(msg_send, rows, side="left")
                nmsg = np.searchsorted(msg_send, rows, side="right") - first
                kind = ev["kind"][rows]
                is_recv = (kind == RECEIVE) & taken[rows]
                m0 = int(first[0]) if rows.size else 0
                m1 = int((first + nmsg).max()) if rows.size else 0
                to, tags = msg_to[m0:m1].tolist(), msg_tag[m0:m1].tolist()  # in send order: one pointer
                code = np.where(is_recv, -1, nmsg).tolist()  # sends of the event, -1 a receive, 0 none
                rp = ev["peer"][rows][is_recv].tolist()
                rt = (ev["msg_tick"][rows][is_recv] & 0xFFFFFFFF).tolist()
                p = q = 0
                for t, r, lam, tick, queue, k in zip(ts[rows].tolist(), regions_of[kind].tolist(),
                                                     ev["lamport"][rows].tolist(), ev["tick"][rows].tolist(),
                                                     ev["queue"][rows].tolist(), code):
                    add(alist, a_lam, lam)
                    add(alist, a_tick, tick)
                    add(alist, a_queue, queue)
                    err |= enter(h, alist, t, r)
                    if k:
                        if k < 0:
                            err |= recv(h, None, t, rp[q], c, rt[q], size)
                            q += 1
                        else:
                            for i in range(p, p + k):
                                err |= send(h, None, t, to[i], c, tags[i], size)
                            p += k
                    err |= leave(h, None, t, r)
                records += 2 * rows.size + int(nmsg.sum()) + int(np.count_nonzero(is_recv))
                if err:
                    raise ExportError(f"the OTF2 library failed writing machine {m}'s events (error {err})")
            written.append(records)
            if rows_m.size:
                trace._update_timestamps(int(ts[rows_m[0]]))
                trace._update_timestamps(int(ts[rows_m[-1]]))
    return written


# --- OTF2 event files written directly ---------------------------------------------------------------
#
# The OTF2 library writes an event file as chunks of OTF2_CHUNK bytes: a chunk header (type 3, a
# byte 'B', the numbers of its first and last event records, 8 bytes each, little-endian), then the
# records, then END_OF_CHUNK (0) and zero padding to the chunk's size; the last chunk ends with
# END_OF_FILE (2) and END_OF_BUFFER (1) instead, unpadded. A record is its type byte and its
# fields; numbers are compressed (0 as one byte 0, else the count of bytes and the bytes,
# little-endian), a timestamp is a TIMESTAMP record (5, 8 bytes) before the events it dates, an
# attribute list an ATTRIBUTE_LIST record (6, length, count, then per attribute its reference, its
# type and its value) before its event; Enter (12) and Leave (13) are the region alone, MpiSend
# (14) and MpiRecv (18) have a length byte then the peer, communicator, tag and bytes. This is the
# layout the library writes (except that every event here gets its TIMESTAMP record, which the
# library leaves out when the time has not changed; the tests compare the two archives record by
# record); laid out with numpy a block of events at a time, as the text formats are, it avoids a
# library call per record.

OTF2_CHUNK = 1024 * 1024  # the library's default event chunk size (stored in the anchor file)
_ENTER, _LEAVE, _MPI_SEND, _MPI_RECV, _TIMESTAMP, _ATTRIBUTES = 12, 13, 14, 18, 5, 6
_TYPE_INT64 = 8


def _csize(v: np.ndarray) -> np.ndarray:
    """Bytes of each value compressed: 1 for 0, else 1 + its significant bytes."""
    v = v.astype(np.uint64)
    nb = np.zeros(v.shape, dtype=np.int64)
    for i in range(8):
        nb += v > np.uint64((1 << (8 * i)) - 1)
    return nb + 1


class _Bin:
    """One block of binary records, field by field: each field a set of byte columns with a mask of
    the bytes present in each row; rendered row after row, only the present bytes."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.data: List[np.ndarray] = []
        self.here: List[np.ndarray] = []

    def byte(self, value: int, where: Optional[np.ndarray] = None) -> "_Bin":
        self.data.append(np.full((self.n, 1), value, dtype=np.uint8))
        self.here.append(np.ones((self.n, 1), dtype=bool) if where is None else where[:, None].copy())
        return self

    def raw(self, values, where: Optional[np.ndarray] = None) -> "_Bin":
        """One byte per row, as is (a record's length)."""
        v = np.broadcast_to(np.asarray(values), (self.n,))
        self.data.append(v.astype(np.uint8)[:, None])
        self.here.append(np.ones((self.n, 1), dtype=bool) if where is None else where[:, None].copy())
        return self

    def u64(self, values: np.ndarray) -> "_Bin":
        self.data.append(np.ascontiguousarray(values.astype("<u8")).view(np.uint8).reshape(self.n, 8))
        self.here.append(np.ones((self.n, 8), dtype=bool))
        return self

    def cu(self, values, where: Optional[np.ndarray] = None) -> "_Bin":
        v = np.broadcast_to(np.asarray(values, dtype=np.uint64), (self.n,))
        nb = _csize(v) - 1
        width = int(nb.max()) if self.n else 0
        data = np.empty((self.n, 1 + width), dtype=np.uint8)
        data[:, 0] = nb
        for i in range(width):
            data[:, 1 + i] = (v >> np.uint64(8 * i)) & np.uint64(0xFF)
        here = np.ones((self.n, 1 + width), dtype=bool)
        here[:, 1:] = np.arange(width)[None, :] < nb[:, None]
        if where is not None:
            here &= where[:, None]
        self.data.append(data)
        self.here.append(here)
        return self

    def render(self) -> Tuple[np.ndarray, np.ndarray]:
        """The bytes of all rows, and each row's length."""
        data = np.concatenate(self.data, axis=1)
        here = np.concatenate(self.here, axis=1)
        return data[here], here.sum(axis=1)


def _otf2_native_events(evt_path: str, run: Run, sel: Selection, m: int, ts, msg_send, msg_to, msg_tag,
                        taken: np.ndarray, refs) -> int:
    """Machine m's event file (the records _otf2_write_machines writes through the library).
    Returns its record count."""
    regions, (a_lam, a_tick, a_queue), comm = refs
    ev = run.events
    s0 = int(np.searchsorted(ev["rank"], m, side="left"))
    s1 = int(np.searchsorted(ev["rank"], m, side="right"))
    in_sel = np.zeros(s1 - s0, dtype=bool)
    lo, hi = np.searchsorted(sel.rows, [s0, s1])
    in_sel[sel.rows[lo:hi] - s0] = True
    rows_m = s0 + np.flatnonzero(in_sel)
    pieces, lengths, counts = [], [], []
    for lo in range(0, rows_m.size, _BLOCK * 2):
        rows = rows_m[lo:lo + _BLOCK * 2]
        n = rows.size
        first = np.searchsorted(msg_send, rows, side="left")
        nmsg = np.searchsorted(msg_send, rows, side="right") - first
        kind = ev["kind"][rows]
        is_recv = (kind == RECEIVE) & taken[rows]
        lam, tick, queue = ev["lamport"][rows], ev["tick"][rows], ev["queue"][rows]
        region = np.asarray(regions, dtype=np.int64)[kind]
        b = _Bin(n).byte(_TIMESTAMP).u64(ts[rows])
        attributes = ((a_lam, lam), (a_tick, tick), (a_queue, queue))
        attr_len = _csize(np.array([len(attributes)]))[0] + sum(_csize(np.array([ref]))[0] + 1 + _csize(values)
                                                                 for ref, values in attributes)
        b.byte(_ATTRIBUTES).raw(attr_len).cu(len(attributes))
        for ref, values in attributes:
            b.cu(ref).byte(_TYPE_INT64).cu(values)
        b.byte(_ENTER).cu(region)
        size_c = int(_csize(np.array([comm]))[0] + _csize(np.array([MESSAGE_BYTES]))[0])
        for j in range(int(nmsg.max()) if n else 0):
            has = nmsg > j
            at = np.where(has, first + j, 0)
            to = msg_to[at] if msg_to.size else np.zeros(n, dtype=np.int64)
            tag = msg_tag[at] if msg_tag.size else np.zeros(n, dtype=np.int64)
            b.byte(_MPI_SEND, has).raw(_csize(to) + _csize(tag) + size_c, has).cu(to, has).cu(comm, has)
            b.cu(tag, has).cu(MESSAGE_BYTES, has)
        peer = np.where(is_recv, ev["peer"][rows], 0)
        rtag = np.where(is_recv, ev["msg_tick"][rows] & 0xFFFFFFFF, 0)
        b.byte(_MPI_RECV, is_recv).raw(_csize(peer) + _csize(rtag) + size_c, is_recv).cu(peer, is_recv)
        b.cu(comm, is_recv).cu(rtag, is_recv).cu(MESSAGE_BYTES, is_recv)
        b.byte(_LEAVE).cu(region)
        data, length = b.render()
        pieces.append(data)
        lengths.append(length)
        counts.append(2 + nmsg + is_recv)
    data = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.uint8)
    length = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64)
    count = np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)
    ends = np.cumsum(length)
    events_before = np.concatenate([[0], np.cumsum(count)])
    room = OTF2_CHUNK - 18 - 2
    with open(evt_path, "wb") as f:
        start, offset = 0, 0
        while True:
            stop = int(np.searchsorted(ends, offset + room, side="right"))
            if stop == start and start < length.size:
                raise ExportError(f"an event of machine {m} does not fit in an OTF2 chunk")
            end_byte = int(ends[stop - 1]) if stop else 0
            head = np.zeros(18, dtype=np.uint8)
            head[0], head[1] = 3, ord("B")
            head[2:10] = np.array([events_before[start] + 1], dtype="<u8").view(np.uint8)
            head[10:18] = np.array([events_before[stop]], dtype="<u8").view(np.uint8)
            f.write(head.tobytes())
            f.write(data[offset:end_byte].tobytes())
            last = stop >= length.size
            if last:
                f.write(bytes([2, 1]))
                break
            f.write(bytes(OTF2_CHUNK - 18 - (end_byte - offset)))  # END_OF_CHUNK (0), then padding
            start, offset = stop, end_byte
    return int(events_before[-1])


def _in_forks(func, args_list):
    """func(*args) for each args in forked processes at once (the columns are shared, not copied
    or pickled); their results, or the first error raised again here."""
    import multiprocessing
    ctx = multiprocessing.get_context("fork")
    pipes, procs = [], []
    for args in args_list:
        reader, writer = ctx.Pipe(duplex=False)

        def child(writer=writer, args=args):
            try:
                writer.send(("ok", func(*args)))
            except BaseException as exc:  # reported to the parent, which raises it
                writer.send(("error", f"{type(exc).__name__}: {exc}"))
        proc = ctx.Process(target=child)
        proc.start()
        writer.close()
        pipes.append(reader)
        procs.append(proc)
    results, failure = [], None
    for reader, proc in zip(pipes, procs):
        try:
            status, value = reader.recv()
        except EOFError:
            status, value = "error", f"a writer process died (exit code {proc.exitcode})"
        proc.join()
        if status != "ok" and failure is None:
            failure = value
        results.append(value)
    if failure is not None:
        raise ExportError(f"OTF2: {failure}")
    return results


def _native_group(folder: str, run: Run, sel: Selection, machines: Sequence[int], ts, msg_send, msg_to, msg_tag,
                  taken: np.ndarray, refs) -> List[int]:
    return [_otf2_native_events(os.path.join(folder, f".native{m}.evt"), run, sel, m, ts, msg_send, msg_to, msg_tag,
                                taken, refs) for m in machines]


def _otf2_refs(folder: str, run: Run):
    """The references of the definitions (regions, attributes, communicator), as the writer numbers them."""
    otf2 = _otf2()
    scratch = os.path.join(folder, ".refs")
    with otf2.writer.open(scratch, timer_resolution=OTF2_RESOLUTION) as trace:
        _, comm, regions, attrs = _otf2_definitions(trace, run)
        refs = ([r._ref for r in regions], tuple(a._ref for a in attrs), comm._ref)
    shutil.rmtree(scratch)
    return refs


def write_otf2(run: Run, sel: Selection, folder: str, workers: Optional[int] = None,
               native: bool = True) -> Tuple[int, int]:
    """An OTF2 archive in `folder` (folder/traces.otf2 is the anchor file): a location per machine,
    each event an Enter/Leave pair of its kind's region at its timestamp (nanoseconds of model
    time) with attributes lamport, tick and queue on the Enter; each message an MpiSend in its send
    and an MpiRecv in its receive (MPI_COMM_WORLD, tag = the sender's tick mod 2^32, 24 bytes).
    Machines are written in parallel processes: `native`, each its event file laid out here
    (_otf2_native_events), else each through the library into an archive of its own, whose event
    and local definition files are then moved into the one archive. Returns (events, messages)."""
    otf2 = _otf2()
    ts, msg_send, msg_to, msg_tag = _otf2_records(run, sel)
    taken = np.zeros(run.n_events, dtype=bool)
    taken[sel.recv] = True
    n = run.n_machines
    counts = np.bincount(run.events["rank"][sel.rows], minlength=n)
    if workers is None:
        workers = min(n, 2 * (os.cpu_count() or 1))
    # largest machines first, dealt out to the workers (each fork shares the columns read-only)
    groups: List[List[int]] = [[] for _ in range(max(1, min(workers, n)))]
    load = [0] * len(groups)
    for m in sorted(range(n), key=lambda m: -counts[m]):
        g = load.index(min(load))
        groups[g].append(m)
        load[g] += int(counts[m])
    ev = run.events
    native = native and bool(np.all(ev["lamport"][sel.rows] >= 0) and np.all(ev["tick"][sel.rows] >= 0)
                             and np.all(ev["queue"][sel.rows] >= 0)
                             and np.all(msg_tag != 0xFFFFFFFF) and np.all(ts[sel.rows] >= 0))
    parts = [os.path.join(folder, f".part{g}") for g in range(len(groups))]
    if native:
        refs = _otf2_refs(folder, run)
        args = [(folder, run, sel, groups[g], ts, msg_send, msg_to, msg_tag, taken, refs) for g in range(len(groups))]
        func = _native_group
    else:
        args = [(parts[g], run, sel, groups[g], ts, msg_send, msg_to, msg_tag, taken) for g in range(len(groups))]
        func = _otf2_write_machines
    results = [func(*args[0])] if len(groups) == 1 else _in_forks(func, args)
    records = {m: k for g, res in zip(groups, results) for m, k in zip(g, res)}
    # the archive itself: global definitions with every location's record count, then the files
    with otf2.writer.open(folder, timer_resolution=OTF2_RESOLUTION) as trace:
        locations, _, _, _ = _otf2_definitions(trace, run)
        if native:  # each location's (empty) event and local definition files, replaced below
            for loc in locations:
                trace.event_writer_from_location(loc)
        for m, loc in enumerate(locations):
            loc._number_of_events_written = records.get(m, 0)
        trace._update_timestamps(int(ts[sel.rows].min()))
        trace._update_timestamps(int(ts[sel.rows].max()))
        trace.description = f"clockbench run {os.path.basename(run.path)}"
        trace.creator = "clockbench-analyze export"
    os.makedirs(os.path.join(folder, "traces"), exist_ok=True)
    if native:
        for m, loc in enumerate(locations):
            os.replace(os.path.join(folder, f".native{m}.evt"), os.path.join(folder, "traces", f"{loc._ref}.evt"))
        return int(sel.rows.size), int(sel.recv.size)
    for g, part in enumerate(parts):
        for m in groups[g]:
            ref = locations[m]._ref
            for ext in ("evt", "def"):
                src = os.path.join(part, "traces", f"{ref}.{ext}")
                if os.path.exists(src):
                    os.replace(src, os.path.join(folder, "traces", f"{ref}.{ext}"))
        shutil.rmtree(part)
    return int(sel.rows.size), int(sel.recv.size)


# --- the command ----------------------------------------------------------------------------------

def export(path: str, fmt: str, out: str, force: bool = False, window: Optional[Tuple[float, float]] = None) -> str:
    """Write the export; returns the summary line. SchemaError, CausalityError, ExportError on bad
    input (nothing is written then)."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format '{fmt}' (known: {', '.join(FORMATS)})")
    if os.path.lexists(out) and not force:
        raise ExportError(f"{out} exists (use --force to replace it)")
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise ExportError(f"{out}: folder {parent} does not exist")
    if fmt == "otf2":
        _otf2()
    run = open_run(path)
    sel = select(run, window, ordered=fmt != "otf2")
    base = os.path.basename(out)
    if fmt == "otf2":
        tmp = tempfile.mkdtemp(dir=parent, prefix=f".{base}.", suffix=".tmp")
    else:
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{base}.", suffix=".tmp")
        os.close(fd)
    try:
        if fmt == "otf2":
            events, messages = write_otf2(run, sel, tmp)
        else:
            with open(tmp, "wb", buffering=1 << 22) as f:
                if fmt == "shiviz":
                    events, messages = write_shiviz(run, sel, f, _workers()), int(sel.recv.size)
                else:
                    events, messages = write_perfetto(run, sel, f, _workers())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, (0o777 if os.path.isdir(tmp) else 0o666) & ~umask)  # as open() would have made it
        _replace(tmp, out)
    except BaseException:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
        elif os.path.exists(tmp):
            os.unlink(tmp)
        raise
    where = "" if window is None else f" in --window {_fmt(window[0])}:{_fmt(window[1])}"
    return (f"{out}: {fmt}, {events} events and {messages} messages of {path}{where}"
            + ("" if run.completed else f" (a stopped run: completed=0, {run.stop_reason})"))


def _replace(tmp: str, out: str) -> None:
    """Move the finished output into place; an existing one (--force) goes only once it is."""
    if os.path.isdir(out) and not os.path.islink(out):
        old = tempfile.mkdtemp(dir=os.path.dirname(os.path.abspath(out)), prefix=f".{os.path.basename(out)}.",
                               suffix=".old")
        os.rename(out, os.path.join(old, "x"))
        os.rename(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        if os.path.isdir(tmp) and os.path.lexists(out):
            os.unlink(out)
        os.replace(tmp, out)


def cmd_export(args) -> int:
    """`clockbench-analyze export`: 0 when written, 2 (one line on stderr, nothing written) when not."""
    try:
        window = parse_window(args.window) if args.window is not None else None
        line = export(args.file, args.format, args.output, args.force, window)
    except (SchemaError, CausalityError, ExportError) as exc:
        print(f"{PROG}: {args.file}: {exc}" if not isinstance(exc, SchemaError) else f"{PROG}: {exc}",
              file=sys.stderr, flush=True)
        return 2
    except OSError as exc:
        print(f"{PROG}: {args.output}: cannot write ({exc.strerror or exc})", file=sys.stderr, flush=True)
        return 2
    print(line, flush=True)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help="write a run as a ShiViz log, a Perfetto (Chrome trace JSON) trace or an OTF2 archive",
        description="Export a run file for ShiViz (vector-clock log; its first line is the parser regex), "
        "Perfetto / chrome://tracing (Trace Event Format JSON: a track per machine, messages as flows) or "
        "OTF2 (an archive folder: a location per machine, messages as MpiSend/MpiRecv). Exit 0 when written, "
        "2 when the file, the window or the output is not usable (nothing is written then). docs/exports.md.")
    p.add_argument("file", metavar="FILE", help="clockbench .h5 file")
    p.add_argument("--format", required=True, choices=FORMATS, help="shiviz, perfetto or otf2")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="file to write (an archive folder for otf2)")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    p.add_argument("--window", metavar="T0:T1",
                   help="only the events at god's-eye model times T0 <= t <= T1 (seconds; a side may be "
                   "left out), and the messages with both ends in it")
    p.set_defaults(func=cmd_export)
