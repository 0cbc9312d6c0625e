"""`recover`: a clockbench/1 file rebuilt from the crash journal of a run that died before its
HDF5 write (one rank killed, a node lost). Every rank's journal (rank-<r>.bin, format in
docs/schema.md, "Crash journal") holds a prefix of its events, flushed in the background.

The file keeps the events at or before a consistent cut T = min over ranks of the time of the
rank's last flushed event: a receive at t <= T took a message sent before t, and every rank's
journal holds all of its events up to T, so every kept receive has its send. Messages sent by T
and not received by T count as left in the queue. The file is marked completed=0, with a
stop_reason saying it was recovered, and end_s = T. Nothing read is ever executed: the journal is
fixed-size binary fields, decoded by struct and numpy.

Journals CBJRNL02 and later carry each rank's phase, the latency and the grace, and every receive's
arrival time; the older CBJRNL01 ones do not (their runs ticked from model time 0 without latency),
so their files have msg_arrival NaN throughout, which verify reads as "arrival times not recorded".
Journals CBJRNL03 also carry each rank's running count of late deliveries in every record, and the
earliest arrival time among them in the header: the file gets each rank's count from its last
flushed record (all it had counted by then, also past the cut), the first_degraded_s and the
timing verdict the engine would form from them, so verify excuses departures up to them as in a
whole file. Missed ticks are counted only when a loop ends, which a recovered run's did not: 0.
From CBJRNL01/02 journals the counts are unknown: -1, and the timing "unknown (recovered)".
Each rank's clock offset is its start estimate, which the journal's header gets before its first
record; the end estimate comes after the loop, so a recovered file has none (NaN) and its t stay
where the loop stamped them, on the start offset (docs/schema.md, "Recovered files").
"""

from __future__ import annotations

import datetime
import math
import os
import re
import struct
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Tuple

import h5py
import numpy as np

from clockbench.file import config_text, journal_blocks
from clockbench.file.run_file import RunData, publish, write_run
from clockbench.file.schema import GROUPS, SCHEMA

PREFIX = struct.Struct("<8sII")
FIXED = struct.Struct("<iiQddddddiiqq32s48s256si")
# CBJRNL02 adds, after the peers, the phase, the grace, the phase mode and the latency setting, and
# msg_arrival to every record; CBJRNL03 adds the earliest arrival of the rank's late deliveries
# after those, and their running count (u32 at byte 68) to every record. CBJRNL01 (before phases
# and latency) and CBJRNL02 (before late counts) are still read.
MODEL_FIXED = struct.Struct("<ddi64s")
LATE_FIXED = struct.Struct("<d")
_FIELDS = [("tick", "<i8"), ("t", "<f8"), ("lamport", "<i8"), ("jump", "<i8"), ("msg_tick", "<i8"),
           ("msg_clock", "<i8")]
_TAIL = [("queue", "<i4"), ("peer", "<i4"), ("kind", "u1")]
RECORDS = {b"CBJRNL01": np.dtype(_FIELDS + _TAIL + [("pad", "V7")]),
           b"CBJRNL02": np.dtype(_FIELDS + [("msg_arrival", "<f8")] + _TAIL + [("pad", "V7")]),
           b"CBJRNL03": np.dtype(_FIELDS + [("msg_arrival", "<f8")] + _TAIL
                                 + [("pad", "V3"), ("late_deliveries", "<u4")])}
# CBJRNL04: the header of CBJRNL03 with record_bytes 0, then blocks of narrowed columns
# (journal_blocks.py), decoded into CBJRNL03's records.
BLOCKS = b"CBJRNL04"
PHASE_MODES = ("random", "zero")
# What a CBJRNL01 journal's run was: every machine ticked from model time 0, with no latency.
V1_PHASE_MODE, V1_LATENCY = "zero", "0"
# The loop's timing counts, not journaled before CBJRNL03 (docs/schema.md, "Recovered files").
TIMING_UNKNOWN, COUNT_UNKNOWN = "unknown (recovered)", -1
# After the engine's verdict text (src/core/timing_verdict.cpp), what a recovered one's counts are.
RECOVERED_TIMING_NOTE = (" (recovered: late deliveries as counted by each rank's last journal flush; missed ticks "
                         "are counted only when a run ends)")
TOPOLOGIES = ("full", "ring")  # the header's topology code: 0, 1, or K (even, >= 2) for random:K
RECEIVE, SEND_ONE, SEND_ALL = 3, 1, 2


def topology_of(code: int) -> Optional[str]:
    """The --topology text of a header's topology code; None if the code names none."""
    if code in (0, 1):
        return TOPOLOGIES[code]
    return f"random:{code}" if code >= 2 and code % 2 == 0 else None


class RecoverError(Exception):
    """A journal that cannot be turned into a run file; one line."""


class Journal:
    """One rank's journal: its header fields and its whole records."""

    def __init__(self, path: Path) -> None:
        data = path.read_bytes()
        if len(data) < PREFIX.size + FIXED.size:
            raise RecoverError(f"{path}: too short for a clockbench journal header ({len(data)} bytes)")
        magic, header_bytes, record_bytes = PREFIX.unpack_from(data, 0)
        if magic not in RECORDS and magic != BLOCKS:
            raise RecoverError(f"{path}: not a clockbench journal (magic {magic!r}, expected "
                               + " or ".join(repr(m) for m in (BLOCKS, *RECORDS)) + ")")
        blocks = magic == BLOCKS
        record = RECORDS[b"CBJRNL03" if blocks else magic]
        if record_bytes != (0 if blocks else record.itemsize):
            raise RecoverError(f"{path}: records of {record_bytes} bytes, this reader knows "
                               f"{0 if blocks else record.itemsize} for {magic.decode()}")
        (self.rank, self.n, self.seed, self.duration_s, self.speedup, self.p_internal, self.flush_interval_s,
         self.clock_offset_s, self.clock_offset_uncertainty_s, topology, self.flat_out, self.max_ticks, self.pid,
         version, git_sha, hostname, n_peers) = FIXED.unpack_from(data, PREFIX.size)
        if not (2 <= self.n <= 1 << 20 and 0 <= self.rank < self.n and 0 <= n_peers < self.n
                and topology_of(topology) is not None):
            raise RecoverError(f"{path}: header out of range (rank {self.rank}, n {self.n}, peers {n_peers}, "
                               f"topology code {topology})")
        self.topology = topology_of(topology)
        text = lambda b: b.split(b"\0", 1)[0].decode("utf-8", "replace")  # noqa: E731
        self.version, self.git_sha, self.hostname = text(version), text(git_sha), text(hostname)
        at = PREFIX.size + FIXED.size
        has_model_time = "msg_arrival" in record.names
        has_late = "late_deliveries" in record.names
        model_at = at + 8 * self.n + 4 * n_peers
        if header_bytes != (model_at + (MODEL_FIXED.size if has_model_time else 0)
                            + (LATE_FIXED.size if has_late else 0)):
            raise RecoverError(f"{path}: header length {header_bytes} does not match its fields")
        if len(data) < header_bytes:
            raise RecoverError(f"{path}: header cut short ({len(data)} of its {header_bytes} bytes)")
        self.rates = np.frombuffer(data, "<f8", self.n, at).copy()
        self.peers = np.frombuffer(data, "<i4", n_peers, at + 8 * self.n).astype(np.int64)
        self.phase_s, self.grace_s = 0.0, None
        self.phase_mode, self.latency = V1_PHASE_MODE, V1_LATENCY
        if has_model_time:
            self.phase_s, self.grace_s, mode, latency = MODEL_FIXED.unpack_from(data, model_at)
            if mode not in (0, 1):
                raise RecoverError(f"{path}: phase mode {mode} is neither 0 (random) nor 1 (zero)")
            self.phase_mode, self.latency = PHASE_MODES[mode], text(latency)
        if blocks:  # a block cut by the crash is dropped
            self.records, self.truncated_bytes = journal_blocks.decode(
                data, header_bytes, record, lambda why: RecoverError(f"{path}: {why}"))
        else:
            body = len(data) - header_bytes
            whole = body // record.itemsize  # a record cut by the crash is dropped
            self.truncated_bytes = body - whole * record.itemsize
            self.records = np.frombuffer(data, record, whole, header_bytes)
        whole = len(self.records)
        self.unit = "block" if blocks else "record"  # what a crash may have cut
        # The late deliveries the rank had counted by its last flush, and the earliest arrival
        # among them (NaN if none); None and NaN: not journaled.
        self.late_deliveries: Optional[int] = None
        self.first_late_s = math.nan
        if has_late:
            (self.first_late_s,) = LATE_FIXED.unpack_from(data, header_bytes - LATE_FIXED.size)
            self.late_deliveries = int(self.records["late_deliveries"][-1]) if whole else 0


def read_journals(folder: Path) -> List[Journal]:
    if not folder.is_dir():
        raise RecoverError(f"{folder}: no such journal folder")
    files = sorted(p for p in folder.iterdir() if re.fullmatch(r"rank-\d+\.bin", p.name))
    if not files:
        raise RecoverError(f"{folder}: no rank-<r>.bin journal files in it")
    journals = [Journal(p) for p in files]
    first = journals[0]

    def run(j: Journal) -> tuple:
        return (j.n, j.seed, j.duration_s, j.speedup, j.p_internal, j.topology, j.flat_out, j.phase_mode,
                j.latency, j.grace_s)
    for j in journals:
        if run(j) != run(first):
            raise RecoverError(f"{folder}: rank {j.rank}'s journal belongs to another run than rank {first.rank}'s")
    ranks = sorted(j.rank for j in journals)
    missing = sorted(set(range(first.n)) - set(ranks))
    if missing or len(ranks) != first.n:
        raise RecoverError(f"{folder}: journals of rank(s) {missing or 'duplicated'} missing: the run had "
                           f"{first.n} machines; a cut needs every rank")
    journals.sort(key=lambda j: j.rank)
    empty = [j.rank for j in journals if len(j.records) == 0]
    if empty:
        raise RecoverError(f"{folder}: rank(s) {empty} flushed no events before the crash: nothing to recover "
                           f"(the run died within its first flush interval)")
    return journals


def cut(journals: List[Journal]) -> Tuple[float, List[np.ndarray]]:
    """T = min over ranks of the last flushed event's time; every rank's events at t <= T."""
    T = min(float(j.records["t"][-1]) for j in journals)
    return T, [j.records[j.records["t"] <= T] for j in journals]


def recover(folder: Path, output: Path, force: bool = False) -> str:
    """Writes the recovered run to `output`; returns a one-line summary."""
    journals = read_journals(folder)
    T, kept = cut(journals)
    n = journals[0].n
    adjacency = np.zeros((n, n), np.uint8)
    sent = np.zeros((n, n), np.int64)
    received = np.zeros((n, n), np.int64)
    for j, ev in zip(journals, kept):
        i = j.rank
        adjacency[i, j.peers] = 1
        one = ev["kind"] == SEND_ONE
        np.add.at(sent[i], ev["peer"][one].astype(np.int64), 1)
        sent[i, j.peers] += int(np.count_nonzero(ev["kind"] == SEND_ALL))
        recv = ev["kind"] == RECEIVE
        np.add.at(received[:, i], ev["peer"][recv].astype(np.int64), 1)
    left = sent - received
    if np.any(left < 0):
        raise RecoverError(f"{folder}: the cut at t={T} is inconsistent: a receive without its send")
    timing = timing_of(journals)
    _write(output, force, folder, journals, kept, T, adjacency, sent, received, left, timing)
    lost = sum(len(j.records) - len(ev) for j, ev in zip(journals, kept))
    late = (f"{int(timing.late.sum())} late deliveries journaled" if timing.known
            else "late deliveries not journaled (before CBJRNL03): timing unknown")
    return (f"recovered {output}: {n} machines, {sum(len(e) for e in kept)} events up to model t {T:.6g} s "
            f"(cut; {lost} later flushed events dropped"
            + "".join(f", rank {j.rank} journal cut mid-{j.unit}" for j in journals if j.truncated_bytes)
            + f"); {late}")


class Timing(NamedTuple):
    """The recovered file's timing fields: the root verdict and the /machines columns."""

    verdict: str
    late: np.ndarray    # i64 per machine, -1 if not known
    missed: np.ndarray  # i64 per machine, -1 if not known
    first: np.ndarray   # f64 per machine, NaN if none or not known

    @property
    def known(self) -> bool:
        return bool((self.late >= 0).all())


def timing_of(journals: List[Journal]) -> Timing:
    """From CBJRNL03 journals, as the engine states them (src/core/timing_verdict.cpp): each rank's
    late deliveries by its last flush, no missed ticks (counted only when a loop ends), the first
    problem at the earliest late arrival, and the verdict 'ok' or 'degraded: ...' with a note that
    it was recovered. From older journals, or one whose count has no arrival time in its header
    (never written so): unknown, -1."""
    n = len(journals)
    late = np.array([-1 if j.late_deliveries is None else j.late_deliveries for j in journals], np.int64)
    first = np.array([j.first_late_s if j.late_deliveries else math.nan for j in journals], np.float64)
    if (late < 0).any() or not np.isfinite(first[late > 0]).all():
        return Timing(TIMING_UNKNOWN, np.full(n, COUNT_UNKNOWN, np.int64), np.full(n, COUNT_UNKNOWN, np.int64),
                      np.full(n, math.nan))
    missed = np.zeros(n, np.int64)
    if late.sum() == 0:
        return Timing("ok", late, missed, first)
    worst = int(np.argmax(late + missed))  # the first of the most, as the engine's
    verdict = (f"degraded: {int(late.sum())} late deliveries, {int(missed.sum())} missed ticks; worst machine "
               f"{worst} ({late[worst]} late deliveries, {missed[worst]} missed ticks), first at model t "
               f"{first[worst]:.6g} s" + RECOVERED_TIMING_NOTE)
    return Timing(verdict, late, missed, first)


def _write(output: Path, force: bool, folder: Path, journals: List[Journal], kept: List[np.ndarray], T: float,
           adjacency, sent, received, left, timing: Timing) -> None:
    if output.is_symlink():
        raise RecoverError(f"{output}: is a symbolic link: recover does not write through links")
    if output.exists() and not force:
        raise RecoverError(f"{output}: exists: choose another -o, or add --force to overwrite it")
    if output.is_dir():
        raise RecoverError(f"{output}: is a folder: give a file name")
    first, n = journals[0], journals[0].n
    attrs = {"schema": SCHEMA, "clockbench_version": first.version, "git_sha": first.git_sha,
             "created_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "command_line": f"clockbench-analyze recover {folder} -o {output}",
             "mpi_library_version": "unknown (recovered from the crash journal)",
             "hdf5_version": h5py.version.hdf5_version, "topology": first.topology,
             "stop_reason": f"recovered after a crash from the journal {folder}: events up to model t {T:.6g} s, "
                            "the last time every rank had flushed",
             "slurm_job_id": "", "slurm_array_task_id": "", "slurm_job_name": "",
             "events_io_mode": "none (recovered)", "phase_mode": first.phase_mode, "latency": first.latency,
             "timing": timing.verdict, "n_machines": n, "duration_s": first.duration_s, "speedup": first.speedup,
             "seed": first.seed, "p_internal": first.p_internal, "completed": 0, "end_s": T,
             "flat_out": first.flat_out, "max_ticks": first.max_ticks, "recovered": 1,
             "grace_s": first.grace_s or 0.0,
             "realtime": -1,  # not known: no journal records --realtime
             "late_deliveries": int(timing.late.sum()) if timing.known else COUNT_UNKNOWN,
             "missed_ticks": int(timing.missed.sum()) if timing.known else COUNT_UNKNOWN}
    events = {"rank": np.concatenate([np.full(len(ev), j.rank) for j, ev in zip(journals, kept)])}
    for name in GROUPS["events"]:
        if name == "rank":
            continue
        if name not in kept[0].dtype.names:  # msg_arrival, from a CBJRNL01 journal
            events[name] = np.full(sum(len(ev) for ev in kept), np.nan)
        else:
            events[name] = np.concatenate([ev[name] for ev in kept])
    data = RunData(attrs, _config(folder, first), _machines(journals, kept, sent, received, left, timing), events,
                   {"adjacency": adjacency, "sent": sent, "received": received, "left_in_queue": left})
    partial = output.with_name(f"{output.name}.{os.getpid()}.partial")
    try:
        write_run(partial, data, recovered="journaled" if timing.known else "unjournaled", exclusive=True)
        publish(partial, output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _config(folder: Path, first: Journal) -> str:
    """The /config text the run wrote (the same keys and numbers as src/core/config_text.cpp), for
    --config: flat out `rates=["max"]` and its max-ticks, never the journal's inf rates."""
    # A CBJRNL01 journal's run had no grace: the rerun takes clockbench's default.
    return config_text.render(header=f"recovered by clockbench-analyze from {folder}", duration_s=first.duration_s,
                              rates=None if first.flat_out else list(first.rates), p_internal=first.p_internal,
                              seed=first.seed, topology=first.topology, speedup=first.speedup,
                              phase=first.phase_mode, latency=first.latency, grace_s=first.grace_s,
                              max_ticks=first.max_ticks)


def _machines(journals: List[Journal], kept: List[np.ndarray], sent, received, left,
              timing: Timing) -> Dict[str, np.ndarray]:
    def achieved(ev: np.ndarray) -> float:
        span = float(ev["t"][-1] - ev["t"][0]) if len(ev) > 1 else 0.0
        return (len(ev) - 1) / span if span > 0 else float("nan")

    nan = np.full(len(journals), np.nan)
    return {
        "rank": np.array([j.rank for j in journals]),
        "pid": np.array([j.pid for j in journals]),
        "rate_hz": np.array([achieved(ev) if j.flat_out else j.rates[j.rank] for j, ev in zip(journals, kept)]),
        "achieved_hz": np.array([achieved(ev) for ev in kept]),
        "ticks": np.array([len(ev) for ev in kept]),
        "sent": sent.sum(axis=1), "received": received.sum(axis=0), "left_in_queue": left.sum(axis=0),
        "clock_offset_s": np.array([j.clock_offset_s for j in journals]),
        "clock_offset_uncertainty_s": np.array([j.clock_offset_uncertainty_s for j in journals]),
        # The end estimate is made after the tick loop, never journaled: t stays on the start offset.
        "clock_offset_end_s": nan, "clock_offset_end_uncertainty_s": nan, "clock_rate_ppm": nan,
        "clock_offset_interval_s": nan, "clock_offset_start_t_s": nan,
        "lateness_p50_s": nan, "lateness_p99_s": nan, "lateness_max_s": nan,
        "phase_s": np.array([j.phase_s for j in journals]),
        "late_deliveries": timing.late, "missed_ticks": timing.missed, "first_degraded_s": timing.first,
        "hostname": np.array([j.hostname for j in journals], dtype=object),
    }
