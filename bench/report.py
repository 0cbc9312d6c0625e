"""bench/run's table: reads one results folder (Google Benchmark JSON, the runs' result lines, the
fidelity runs' /machines tables), prints every figure with its ratio and target, and saves the
figures with the machine's description as system.json next to the raw files.

Usage: /usr/bin/python3 bench/report.py results/bench-<time>
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import h5py
import numpy as np

# The targets, on a 2-core machine.
NULL_RATIO_TARGET = 0.8             # flat-out clockbench with recording / null baseline, events/s
FLAT_OUT_TOTAL_TARGET = 1e6         # events/s in total, 3 ranks
RATE_ERROR_TARGET_3 = 0.005         # |achieved/nominal - 1| at 3 ranks, up to 1000 ticks/wall s
LATE_P99_TARGET_3 = 1e-3            # s, p99 lateness at 3 ranks, up to 1000 ticks/wall s
RATE_ERROR_TARGET_64 = 0.01         # at 64 ranks: the exercise's rates (speedup 1), and speedup 1000
LATE_P99_TARGET_64 = 1e-3           # s, p99 lateness at 64 ranks, speedup 100
RECORDING_OVERHEAD_TARGET = 0.05    # recording adds at most this to flat-out run time
FLAT_RANKS = (2, 3)                 # flat-out runs: one rank per core, and oversubscribed
FLAT_TARGET_RANKS = 3               # the flat-out targets are the 3-rank figures

BURSTS = (1, 4, 16, 64, 256, 1024)
DRAINS = (("ring+Test (engine)", "BM_DrainRingTest"), ("ring+Testsome", "BM_DrainRingTestsome"),
          ("Iprobe+Recv", "BM_DrainIprobeRecv"), ("Improbe+Mrecv", "BM_DrainImprobeMrecv"))
MODEL_STEPS = (("draw (ActionDraw)", "BM_ActionDraw"), ("Lamport update (merge)", "BM_LamportMerge"),
               ("Machine::tick, free", "BM_MachineTickFree"),
               ("Machine::tick, receive", "BM_MachineTickReceive"),
               ("EventLog::append", "BM_EventLogAppend"), ("tick + record", "BM_TickAndRecord"),
               ("crash journal: encode an event", "BM_JournalEncode"))


def fields(line_prefix: str, text: str) -> Dict[str, str]:
    """key=value pairs of the one line starting with line_prefix."""
    lines = [ln for ln in text.splitlines() if ln.startswith(line_prefix + " ")]
    if len(lines) != 1:
        raise SystemExit(f"bench/report.py: expected one {line_prefix} line, found {len(lines)}")
    return dict(kv.split("=", 1) for kv in lines[0].split()[1:])


def optional_fields(line_prefix: str, text: str) -> Dict[str, str]:
    """key=value pairs of the line starting with line_prefix, {} if there is none."""
    lines = [ln for ln in text.splitlines() if ln.startswith(line_prefix + " ")]
    return dict(kv.split("=", 1) for kv in lines[0].split()[1:]) if lines else {}


def median(values: List[float]) -> float:
    return statistics.median(values) if values else float("nan")


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


class Table:
    """Rows of (figure, value, target, verdict), printed in sections."""

    def __init__(self) -> None:
        self.lines: List[str] = []
        self.targets: List[Tuple[str, str, str, bool]] = []

    def section(self, title: str) -> None:
        self.lines += ["", title, "-" * len(title)]

    def row(self, *cells: str, widths: Tuple[int, ...] = (34, 14, 14, 14, 14)) -> None:
        out = ""
        for i, c in enumerate(cells):
            w = widths[i] if i < len(widths) else 14
            out += c.ljust(w) if i == 0 else c.rjust(w)
        self.lines.append(out.rstrip())

    def target(self, name: str, value: str, goal: str, ok: bool) -> None:
        self.targets.append((name, value, goal, ok))

    def text(self) -> str:
        out = list(self.lines)
        out += ["", "Targets", "-------"]
        for name, value, goal, ok in self.targets:
            out.append(f"{verdict(ok):7} {name}: {value} (target {goal})")
        return "\n".join(out)


def si(x: float, unit: str = "/s") -> str:
    """1234567 -> '1.23 M/s'."""
    if not np.isfinite(x):
        return "n/a"
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:.3g} {prefix}{unit}"
    return f"{x:.3g} {unit}"


def machine_description(folder: Path, context: Dict[str, Any], hdf5: str) -> Dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "hostname": platform.node(),
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "kernel": platform.release(),
        "mpi_library_version": context.get("mpi_library_version", "unknown"),
        "hdf5_version": hdf5,
        "clockbench_version": context.get("clockbench_version", "unknown"),
        "git_sha": context.get("git_sha", "unknown"),
        "build_type": context.get("build_type", "unknown"),
        "load_before": (folder / "load-before.txt").read_text().split(),
        "load_after": (folder / "load-after.txt").read_text().split(),
    }


def microbenchmarks(path: Path, t: Table) -> Dict[str, Any]:
    data = json.loads(path.read_text())
    # Each benchmark's repetitions (bench/run asks for 3): the median is shown, all are kept for
    # bench/compare.py's noise.
    reps: Dict[str, List[float]] = {}
    for b in data["benchmarks"]:
        if b.get("run_type", "iteration") == "iteration":
            reps.setdefault(b.get("run_name", b["name"]), []).append(float(b.get("items_per_second", float("nan"))))
    rate = {name: median(v) for name, v in reps.items()}

    # MessageQueue holds each message in flight until a deadline passes its arrival time, then
    # queued (two heaps in one reserved buffer: no allocation in the tick loop); the baseline is one
    # std::priority_queue in the same order, which allocates as it grows. No target: the figures
    # show what the model-time queue costs per message.
    t.section("Message queue: clockbench's MessageQueue (in flight, then queued) vs std::priority_queue "
              "(messages/s)")
    t.row("case", "MessageQueue", "priority_queue", "ratio", widths=(34, 16, 16, 14))
    cases = [(f"push+pop, {w} waiting", f"BM_QueuePushPop<{{}}>/{w}") for w in (0, 64)]
    cases += [(f"burst {b}: push all, drain", f"BM_QueueBurst<{{}}>/{b}") for b in BURSTS]
    for label, pattern in cases:
        ours, base = rate.get(pattern.format("MessageQueue")), rate.get(pattern.format("StdPriorityQueue"))
        if ours is None or base is None:
            continue
        t.row(label, si(ours), si(base), f"{ours / base:.1f}x", widths=(34, 16, 16, 14))

    t.section("Draining MPI arrivals, self-messages in one process (messages/s, send included)")
    t.row("burst", *(name for name, _ in DRAINS), widths=(34, 20, 16, 16, 16))
    for b in BURSTS:
        t.row(str(b), *(si(rate.get(f"{bm}/{b}", float("nan"))) for _, bm in DRAINS),
              widths=(34, 20, 16, 16, 16))
    send_poll = rate.get("BM_TransportSendPoll", float("nan"))
    t.row("engine path, Transport::send + poll", si(send_poll),
          f"{1e9 / send_poll:.0f} ns/msg" if send_poll > 0 else "")

    t.section("Model steps, one thread (per second; ns each)")
    for label, bm in MODEL_STEPS:
        r = rate.get(bm, float("nan"))
        t.row(label, si(r), f"{1e9 / r:.2f} ns" if r > 0 else "")
    return {"context": data.get("context", {}), "items_per_second": rate, "repetitions": reps}


def flat_out(folder: Path, t: Table, np_: int, targets: bool) -> Dict[str, Any]:
    kinds = ("output", "output-no-journal", "no-output", "null", "floor")
    prefix = {"null": "CLOCKBENCH_NULL_RESULT", "floor": "CLOCKBENCH_FLOOR_RESULT"}
    runs: Dict[str, List[Dict[str, str]]] = {k: [] for k in kinds}
    loops: Dict[str, List[Dict[str, str]]] = {k: [] for k in kinds}  # --timings' CLOCKBENCH_LOOP, if any
    bytes_written: List[int] = []
    for kind in runs:
        for log in sorted(folder.glob(f"flat-np{np_}-{kind}-[0-9]*.log"), key=lambda p: int(p.stem.split("-")[-1])):
            runs[kind].append(fields(prefix.get(kind, "CLOCKBENCH_RESULT"), log.read_text()))
            # The journal's last flush (before the write) is recording's too: into the write's time.
            journal_s = optional_fields("CLOCKBENCH_TIMINGS", log.read_text()).get("journal_s")
            if journal_s and "write_s" in runs[kind][-1]:
                runs[kind][-1]["write_s"] = str(float(runs[kind][-1]["write_s"]) + float(journal_s))
            loops[kind].append(optional_fields("CLOCKBENCH_LOOP", log.read_text()))
    for b in sorted(folder.glob(f"flat-np{np_}-output-[0-9]*.bytes")):
        bytes_written.append(int(b.read_text()))
    if not runs["output"]:
        return {}
    ranks = int(runs["output"][0]["machines"])
    ev = {k: median([float(r["events_per_s"]) for r in v]) for k, v in runs.items() if v and k != "floor"}
    msg = {k: median([float(r["messages_per_s"]) for r in v]) for k, v in runs.items() if v}
    capped = sum(int(r.get("capped", "0")) for r in runs["output"] + runs["no-output"])

    t.section(f"Flat out (--rates max), {ranks} ranks on {os.cpu_count()} cores "
              f"(median of {len(runs['output'])} runs of {runs['output'][0]['duration_s']} s)")
    t.row("run", "events/s", "per rank", "messages/s", "vs null")
    for label, k in (("clockbench, HDF5 output", "output"),
                     ("  the same, no crash journal", "output-no-journal"),
                     ("clockbench, --no-output", "no-output"), ("null baseline (MPI only)", "null")):
        if runs[k]:
            t.row(label, si(ev[k]), si(ev[k] / ranks), si(msg[k]), f"{ev[k] / ev['null']:.2f}")
    if capped:
        t.lines.append(f"  ({capped} runs stopped near --max-ticks: their window is shorter)")
    floor = against_floor(runs, ranks, t)
    if targets:
        t.target(f"flat-out events/s with recording vs null baseline ({ranks} ranks)",
                 f"{ev['output'] / ev['null']:.2f}", f">= {NULL_RATIO_TARGET}",
                 ev["output"] / ev["null"] >= NULL_RATIO_TARGET)
        t.target(f"flat-out events/s in total ({ranks} ranks)", si(ev["output"]), ">= 1 M/s",
                 ev["output"] >= FLAT_OUT_TOTAL_TARGET)

    # Recording: the file write after the run, and the run's rate with and without it.
    write_s = median([float(r["write_s"]) for r in runs["output"]])
    events = median([float(r["events"]) for r in runs["output"]])
    size = median([float(b) for b in bytes_written]) if bytes_written else float("nan")
    per_event_without = 1.0 / ev["no-output"]

    def ticking_s(r: Dict[str, str]) -> float:
        """The run's timed window, wall seconds."""
        return float(r["end_s"]) / float(r["speedup"])

    def per_event(kind: str) -> float:
        """Wall time per event, the write included."""
        window = median([ticking_s(r) for r in runs[kind]])
        return (window + median([float(r["write_s"]) for r in runs[kind]])) / median(
            [float(r["events"]) for r in runs[kind]])

    def run_per_event(r: Dict[str, str], write_s: Optional[float] = None) -> float:
        """Run r's wall time per event, its write included (or `write_s` in its place)."""
        return (ticking_s(r) + (float(r["write_s"]) if write_s is None else write_s)) / float(r["events"])

    def paired(kind: str) -> List[float]:
        """Run i's time per event against the --no-output run of the same repetition, minus 1."""
        return [run_per_event(a) / run_per_event(b) - 1.0 for a, b in zip(runs[kind], runs["no-output"])]

    pairs = paired("output")
    # The target's figure: the median over the repetitions of each one's paired ratio; its spread
    # (min..max) shows the machine's noise.
    overhead = median(pairs)
    t.section(f"Recording, {ranks} ranks: flat out with HDF5 output vs --no-output")
    t.row("", "write s", "file MB", "MB/s", "events/s")
    t.row("journal last flush + file write", f"{write_s:.3f}", f"{size / 1e6:.0f}",
          f"{size / write_s / 1e6:.0f}", si(events / write_s))
    def spread(values: List[float]) -> str:
        return f"{100 * min(values):+.1f}..{100 * max(values):+.1f} %" if values else ""

    t.row("run time per event, with / without", f"{per_event('output') * 1e9:.0f} ns",
          f"{per_event_without * 1e9:.0f} ns", f"{100 * overhead:+.1f} %", spread(pairs), widths=(34, 14, 14, 14, 20))
    file_only = float("nan")
    file_pairs: List[float] = []
    if runs["output-no-journal"]:
        file_pairs = paired("output-no-journal")
        file_only = median(file_pairs)
        t.row("  the same, no crash journal", f"{per_event('output-no-journal') * 1e9:.0f} ns",
              f"{per_event_without * 1e9:.0f} ns", f"{100 * file_only:+.1f} %", spread(file_pairs),
              widths=(34, 14, 14, 14, 20))
    t.lines.append(f"  (the median of {len(pairs)} repetitions' paired ratios, each run against the --no-output "
                   "run of its repetition, in rotated order; then their range)")
    # Where the difference lies: the ticking (fewer events in the same window) or the write after it.
    def parts(kind: str) -> List[float]:
        window = [ticking_s(r) / float(r["events"]) for r in runs[kind]]
        write = [float(r.get("write_s") or 0) / float(r["events"]) for r in runs[kind]]
        return [median(window), median(write)]
    t.row("  per event: ticking + write", "", "", "", "", widths=(34, 14, 14, 14, 20))
    split: Dict[str, List[float]] = {}
    for label, k in (("    with output", "output"), ("    no crash journal", "output-no-journal"),
                     ("    --no-output", "no-output")):
        if runs[k]:
            split[k] = parts(k)
            t.row(label, f"{split[k][0] * 1e9:.0f} ns", f"{split[k][1] * 1e9:.0f} ns", "", "", widths=(34, 14, 14, 14, 20))
    # The machine's write floor: the same bytes written plainly beside each file (bench/write_floor.py),
    # and recording's share with the file's write taken down to it: what clockbench adds beyond
    # what writing those bytes costs this machine.
    floors = [optional_fields("CLOCKBENCH_WRITE_FLOOR", p.read_text())
              for p in sorted(folder.glob(f"flat-np{np_}-write-floor-[0-9]*.log"),
                              key=lambda p: int(p.stem.split("-")[-1]))]
    write_floor: Dict[str, Any] = {}
    if floors and all(floors) and len(floors) == len(runs["output"]):
        floor_s = [float(f["write_s"]) for f in floors]
        ratio = [float(r["write_s"]) / f for r, f in zip(runs["output"], floor_s)]

        def beyond(a: Dict[str, str], f: float, b: Dict[str, str]) -> float:
            return run_per_event(a, max(0.0, float(a["write_s"]) - f)) / run_per_event(b) - 1.0

        beyond_pairs = [beyond(a, f, b) for a, f, b in zip(runs["output"], floor_s, runs["no-output"])]
        t.row("plain write of the same bytes", f"{median(floor_s):.3f}", f"{size / 1e6:.0f}",
              f"{size / median(floor_s) / 1e6:.0f}", f"file's: {median(ratio):.2f}x", widths=(34, 14, 14, 14, 20))
        t.row("  recording beyond that floor", "", "", f"{100 * median(beyond_pairs):+.1f} %", spread(beyond_pairs),
              widths=(34, 14, 14, 14, 20))
        write_floor = {"write_s": floor_s, "file_write_over_floor": ratio, "recording_beyond_floor": median(beyond_pairs),
                       "recording_beyond_floor_pairs": beyond_pairs}
    with_loop = [(lp, r) for lp, r in zip(loops["output"], runs["output"]) if lp]
    journal_cpu = [float(lp["journal_cpu_s"]) / float(r["events"]) for lp, r in with_loop]
    if journal_cpu:
        share = median([float(lp["journal_cpu_s"]) / ticking_s(r) for lp, r in with_loop])
        t.row("the crash journal's thread: CPU", f"{1e9 * median(journal_cpu):.1f} ns/ev",
              f"{100 * share:.2f} % core", widths=(34, 14, 14))
    if targets:
        t.target("recording's share of flat-out run time", f"{100 * overhead:+.1f} %",
                 f"<= {100 * RECORDING_OVERHEAD_TARGET:g} %", overhead <= RECORDING_OVERHEAD_TARGET)
    return {"ranks": ranks, "events_per_s": ev, "messages_per_s": msg, "runs": runs, "floor": floor,
            "write_s": write_s, "file_bytes": size, "write_bytes_per_s": size / write_s,
            "write_events_per_s": events / write_s, "recording_overhead": overhead,
            "recording_overhead_pairs": pairs, "recording_overhead_without_journal": file_only,
            "recording_overhead_without_journal_pairs": file_pairs,
            "per_event_ticking_and_write_s": split, "write_floor": write_floor,
            "journal_cpu_s_per_event": journal_cpu}


def against_floor(runs: Dict[str, List[Dict[str, str]]], ranks: int, t: Table) -> Dict[str, Any]:
    """Wall ns per event and per message of clockbench and the null baseline, beside the MPI
    floor: plain MPI sending the same runs' messages (run i's /network/sent) and nothing else. The
    floor has no events of its own: its 'per event' is its time over run i's events, the least any
    program could spend per event to move those messages. Ratios are taken run by run, then the
    median."""
    if not runs["floor"]:
        return {}

    def window(r: Dict[str, str]) -> float:
        return float(r["end_s"]) / float(r["speedup"]) if "end_s" in r else float(r["duration_s"])

    def per(kind: str, what: str) -> List[float]:
        return [1e9 * window(r) / float(r[what]) for r in runs[kind]]

    floor_msg = [float(r["ns_per_message"]) for r in runs["floor"]]
    floor_ev = [1e9 * float(f["seconds"]) / float(o["events"]) for f, o in zip(runs["floor"], runs["output"])]
    t.section(f"Against the MPI floor, {ranks} ranks: wall ns per event and per message (all ranks "
              "together; floor = the same runs' messages with plain MPI, nothing else)")
    widths = (34, 14, 14, 16)
    t.row("run", "ns/event", "ns/message", "x floor (msg)", widths=widths)
    out: Dict[str, Any] = {"floor_ns_per_message": floor_msg, "floor_ns_per_event": floor_ev}
    for label, k in (("clockbench, HDF5 output", "output"), ("clockbench, --no-output", "no-output"),
                     ("null baseline (MPI only)", "null")):
        if not runs[k]:
            continue
        ns_ev, ns_msg = per(k, "events"), per(k, "messages_sent")
        times = [m / f for m, f in zip(ns_msg, floor_msg)]
        t.row(label, f"{median(ns_ev):.0f}", f"{median(ns_msg):.0f}", f"{median(times):.2f}", widths=widths)
        out[k] = {"ns_per_event": ns_ev, "ns_per_message": ns_msg, "times_floor_per_message": times}
    t.row("MPI floor (same messages)", f"{median(floor_ev):.0f}", f"{median(floor_msg):.0f}", "1.00",
          widths=widths)
    return out


def fidelity_run(path: Path) -> Dict[str, Any]:
    with h5py.File(path, "r") as f:
        m = {k: f["machines"][k][:] for k in ("rate_hz", "achieved_hz", "ticks", "lateness_p50_s",
                                              "lateness_p99_s", "lateness_max_s")}
        speedup = float(f.attrs["speedup"])
        hdf5 = str(f.attrs["hdf5_version"])
        n = int(f.attrs["n_machines"])
        duration = float(f.attrs["duration_s"])
        grace = float(f.attrs.get("grace_s", float("nan")))
        late = int(f.attrs.get("late_deliveries", -1))
        missed = int(f.attrs.get("missed_ticks", -1))
        received = int(f["network/received"][:].sum())
    ratio = m["achieved_hz"] / m["rate_hz"]
    return {"ranks": n, "speedup": speedup, "duration_s": duration, "hdf5_version": hdf5,
            "grace_s": grace, "late_deliveries": late, "missed_ticks": missed, "received": received,
            "wall_hz_min": float(m["rate_hz"].min() * speedup),
            "wall_hz_max": float(m["rate_hz"].max() * speedup),
            "wall_ticks_per_s": float((m["rate_hz"] * speedup).sum()),
            "ratio_min": float(ratio.min()), "ratio_max": float(ratio.max()),
            "worst_rate_error": float(np.abs(ratio - 1).max()),
            "late_p50_s": float(np.median(m["lateness_p50_s"])),
            "late_p99_s": float(m["lateness_p99_s"].max()),
            "late_max_s": float(m["lateness_max_s"].max())}


def fidelity(folder: Path, t: Table) -> List[Dict[str, Any]]:
    runs = [fidelity_run(p) for p in folder.glob("fidelity-np*-s*.h5")]
    runs.sort(key=lambda r: (r["ranks"], r["speedup"], -r["grace_s"]))
    if not runs:
        return runs
    t.section("Timing fidelity: rates drawn from 1..6 Hz (model), seed 1, each with the default grace "
              "and without (lateness: median of the ranks' p50, worst p99 and max; late: late "
              "deliveries, of the messages received; missed: missed ticks)")
    widths = (6, 8, 8, 12, 18, 11, 9, 10, 10, 10, 18, 8)
    t.row("ranks", "speedup", "model s", "wall Hz", "achieved/nominal", "worst err", "p50 ms",
          "p99 ms", "max ms", "grace ms", "late", "missed", widths=widths)
    for r in runs:
        t.row(str(r["ranks"]), f"{r['speedup']:g}", f"{r['duration_s']:g}",
              f"{r['wall_hz_min']:g}..{r['wall_hz_max']:g}",
              f"{r['ratio_min']:.4f}..{r['ratio_max']:.4f}", f"{100 * r['worst_rate_error']:.3f} %",
              f"{1e3 * r['late_p50_s']:.3f}", f"{1e3 * r['late_p99_s']:.3f}", f"{1e3 * r['late_max_s']:.2f}",
              f"{1e3 * r['grace_s']:g}", f"{r['late_deliveries']} / {r['received']}", str(r["missed_ticks"]),
              widths=widths)
    for r in (r for r in runs if r["grace_s"] != 0):
        name = f"{r['ranks']} ranks, speedup {r['speedup']:g} ({r['wall_hz_max']:g} ticks/wall s at most)"
        if r["ranks"] == 3:
            t.target(f"{name}: rate error", f"{100 * r['worst_rate_error']:.3f} %",
                     f"<= {100 * RATE_ERROR_TARGET_3:g} %", r["worst_rate_error"] <= RATE_ERROR_TARGET_3)
            t.target(f"{name}: p99 lateness", f"{1e3 * r['late_p99_s']:.3f} ms",
                     f"<= {1e3 * LATE_P99_TARGET_3:g} ms", r["late_p99_s"] <= LATE_P99_TARGET_3)
        elif r["ranks"] == 64 and r["speedup"] == 1:
            t.target(f"{name}: rate error", f"{100 * r['worst_rate_error']:.3f} %",
                     f"<= {100 * RATE_ERROR_TARGET_64:g} %", r["worst_rate_error"] <= RATE_ERROR_TARGET_64)
    return runs


def tick_account(folder: Path, t: Table) -> Dict[str, Any]:
    """The paced runs of the most ranks (the fidelity runs with the default grace and the speed-up
    sweep): rate error and lateness beside where each tick's processor time went (--timings'
    CLOCKBENCH_LOOP: the ranks' tick loops summed), the largest speed-up held within 1 %, and how
    many ticks per wall second the machine's cores could serve at the CPU a tick took."""
    runs = []
    for h5 in list(folder.glob("fidelity-np*-s*-grace-default.h5")) + list(folder.glob("sweep-np*-s*.h5")):
        loop = optional_fields("CLOCKBENCH_LOOP", h5.with_suffix(".log").read_text())
        if loop:
            runs.append({**fidelity_run(h5), "loop": {k: float(v) for k, v in loop.items()}})
    if not runs:
        return {}
    ranks = max(r["ranks"] for r in runs)
    runs = sorted((r for r in runs if r["ranks"] == ranks), key=lambda r: r["speedup"])
    cores = os.cpu_count() or 1
    t.section(f"Where a tick's time goes, {ranks} ranks on {cores} cores, rates 1..6 Hz (model), default grace "
              "(--timings: CPU of the ranks' tick loops per tick, summed; cores: CPU / ticking wall s)")
    widths = (8, 11, 11, 9, 9, 8, 8, 8, 8, 8, 8, 9, 7)
    t.row("speedup", "ticks/s", "worst err", "p99 ms", "CPU us", "user", "sys", "sleeps", "polls", "board",
          "msgs", "switches", "cores", widths=widths)
    for r in runs:
        lp = r["loop"]
        t.row(f"{r['speedup']:g}", si(r["wall_ticks_per_s"], ""), f"{100 * r['worst_rate_error']:.3f}%",
              f"{1e3 * r['late_p99_s']:.3f}", f"{lp['cpu_us_per_tick']:.1f}", f"{lp['user_us_per_tick']:.1f}",
              f"{lp['sys_us_per_tick']:.1f}", f"{lp['sleeps_per_tick']:.2f}", f"{lp['polls_per_tick']:.2f}",
              f"{lp['board_checks_per_tick']:.2f}", f"{lp['messages_per_tick']:.2f}",
              f"{lp['switches_per_tick']:.2f}", f"{lp['cores']:.2f}", widths=widths)
    held = [r for r in runs if r["worst_rate_error"] <= RATE_ERROR_TARGET_64]
    best = max(held, key=lambda r: r["speedup"]) if held else None
    # The capacity the cores give at the CPU a tick took in the busiest run that kept up (at low
    # speed-ups a tick also pays for the idle wakes between ticks, which busier runs do not have).
    calm = best or min(runs, key=lambda r: r["speedup"])
    capacity = cores / (1e-6 * calm["loop"]["cpu_us_per_tick"]) if calm["loop"]["cpu_us_per_tick"] > 0 else float("nan")
    t.lines.append(f"  (user: clockbench and MPI in user space; sys: the kernel, i.e. sleeping, waking and MPI's "
                   f"yields; sleeps, polls, board: the loop's sleeps, network polls and progress-board looks, "
                   f"per tick; switches: context switches per tick)")
    t.lines.append(f"  largest speed-up held within {100 * RATE_ERROR_TARGET_64:g} % rate error: "
                   + (f"{best['speedup']:g} ({si(best['wall_ticks_per_s'], 'ticks/wall s')})" if best else "none")
                   + f"; at speed-up {calm['speedup']:g} a tick took {calm['loop']['cpu_us_per_tick']:.1f} us of CPU, "
                   f"so {cores} cores serve at most {si(capacity, 'ticks/wall s')}")
    for r in runs:
        if r["speedup"] == 1000:
            t.target(f"{ranks} ranks, speedup 1000 ({si(r['wall_ticks_per_s'], 'ticks/wall s')}): rate error",
                     f"{100 * r['worst_rate_error']:.3f} %", f"<= {100 * RATE_ERROR_TARGET_64:g} %",
                     r["worst_rate_error"] <= RATE_ERROR_TARGET_64)
        if r["speedup"] == 100:
            t.target(f"{ranks} ranks, speedup 100: p99 lateness", f"{1e3 * r['late_p99_s']:.3f} ms",
                     f"<= {1e3 * LATE_P99_TARGET_64:g} ms", r["late_p99_s"] <= LATE_P99_TARGET_64)
    return {"ranks": ranks, "cores": cores, "runs": runs, "largest_speedup_within_1pct": best["speedup"] if best else None,
            "capacity_ticks_per_s": capacity}


def priority(folder: Path, t: Table) -> Dict[str, Any]:
    """The paced runs at speed-up 100 of the most ranks, seeds 1..N, each at normal priority and with
    --realtime, alternating: the worst machine's p99 lateness of each (docs/measurements.md,
    "Lateness and the other processes"), or why the host refused --realtime."""
    runs: Dict[str, List[Dict[str, Any]]] = {"normal": [], "realtime": []}
    refused = ""
    for log in sorted(folder.glob("priority-np*-s100-*-*.log"), key=lambda p: int(p.stem.rsplit("-", 1)[1])):
        prio, seed = log.stem.split("-")[3], int(log.stem.rsplit("-", 1)[1])
        h5 = log.with_suffix(".h5")
        if not h5.exists():
            refused = log.with_suffix(".err").read_text().strip()
            continue
        loop = optional_fields("CLOCKBENCH_LOOP", log.read_text())
        runs[prio].append({**fidelity_run(h5), "seed": seed,
                           "realtime_ranks": int(float(loop.get("realtime_ranks", "0")))})
    if not runs["normal"]:
        return {}
    ranks = runs["normal"][0]["ranks"]
    t.section(f"Lateness and the other processes: {ranks} ranks, speedup 100, default grace, at normal priority "
              "and with --realtime (the timed window at SCHED_FIFO 1), alternating")
    widths = (6, 16, 16, 16, 16)
    t.row("seed", "p99 ms", "p99 ms realtime", "late", "late realtime", widths=widths)
    by_seed = {r["seed"]: r for r in runs["realtime"]}
    for r in runs["normal"]:
        rt = by_seed.get(r["seed"])
        t.row(str(r["seed"]), f"{1e3 * r['late_p99_s']:.3f}", f"{1e3 * rt['late_p99_s']:.3f}" if rt else "-",
              str(r["late_deliveries"]), str(rt["late_deliveries"]) if rt else "-", widths=widths)
    if refused:
        t.lines.append(f"  --realtime was refused on this host: {refused}")
    for prio, label in (("normal", "normal priority"), ("realtime", "--realtime")):
        if runs[prio]:
            worst = max(r["late_p99_s"] for r in runs[prio])
            t.target(f"{ranks} ranks, speedup 100, {label}: worst p99 lateness of {len(runs[prio])} runs",
                     f"{1e3 * worst:.3f} ms", f"<= {1e3 * LATE_P99_TARGET_64:g} ms", worst <= LATE_P99_TARGET_64)
    return {"ranks": ranks, "refused": refused, **runs}


def startup(folder: Path, t: Table) -> List[Dict[str, Any]]:
    """Per rank count: the whole mpirun's wall time of a bare MPI program and of a short clockbench
    run, and clockbench's phases (--timings, the slowest rank's); what the launcher spends outside
    the program is the wall time minus the phases' sum."""
    rows = []
    for log in folder.glob("startup-np*-clockbench.log"):
        np_ = int(log.name.split("-")[1][2:])
        phases = {k: float(v) for k, v in fields("CLOCKBENCH_TIMINGS", log.read_text()).items()}
        rows.append({"ranks": np_, "phases": phases,
                     "wall_s": float((folder / f"startup-np{np_}-clockbench.wall").read_text()),
                     "bare_wall_s": float((folder / f"startup-np{np_}-bare.wall").read_text())})
    rows.sort(key=lambda r: r["ranks"])
    if not rows:
        return rows
    t.section("Start-up and tear-down: whole mpirun wall s, a bare MPI program (MPI_Init, barrier, "
              "MPI_Finalize) beside clockbench (1 model s at speedup 10, --timings: the slowest rank's phases)")
    shown = ("mpi_init_s", "setup_s", "reserve_s", "clock_estimate_s", "warm_up_s", "start_wait_s", "ticking_s",
             "drain_s", "end_estimate_s", "write_s", "finalize_s")
    widths = (6, 8, 11, 11) + (9,) * len(shown)
    t.row("ranks", "bare", "clockbench", "launcher", *(k[:-2][:8] for k in shown), widths=widths)
    for r in rows:
        outside = r["wall_s"] - r["phases"]["sum_s"]
        r["launcher_s"] = outside
        t.row(str(r["ranks"]), f"{r['bare_wall_s']:.2f}", f"{r['wall_s']:.2f}", f"{outside:.2f}",
              *(f"{r['phases'][k]:.3f}" for k in shown), widths=widths)
    t.lines.append("(launcher: clockbench's mpirun wall time minus the sum of its phases, i.e. mpirun's own "
                   "start-up and exit; each phase is the slowest rank's, and at many ranks the slowest differ "
                   "from phase to phase, so the sum can exceed any one rank's and this is a lower bound, "
                   "even below 0)")
    return rows


def main(argv: List[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    folder = Path(argv[1])
    t = Table()
    micro = microbenchmarks(folder / "microbench.json", t)
    flat = {str(np_): flat_out(folder, t, np_, targets=(np_ == FLAT_TARGET_RANKS)) for np_ in FLAT_RANKS}
    fid = fidelity(folder, t)
    account = tick_account(folder, t)
    prio = priority(folder, t)
    start = startup(folder, t)
    hdf5 = fid[0]["hdf5_version"] if fid else "unknown"
    machine = machine_description(folder, micro["context"], hdf5)
    header = [
        f"clockbench bench/run: {folder}",
        f"machine: {machine['nproc']} cores, {machine['cpu_model']}, Linux {machine['kernel']}; "
        f"{machine['mpi_library_version']}; HDF5 {machine['hdf5_version']}",
        f"build:   clockbench {machine['clockbench_version']} (git {machine['git_sha']}), "
        f"{machine['build_type']}; load average before {' '.join(machine['load_before'])}, "
        f"after {' '.join(machine['load_after'])}",
    ]
    print("\n".join(header) + "\n" + t.text())
    system = {"schema": "clockbench-bench/2", "machine": machine, "flat_out": flat, "fidelity": fid, "tick_account": account,
              "priority": prio,
              "startup": start,
              "microbench_items_per_second": micro["repetitions"],
              "targets": [{"name": n, "value": v, "target": g, "met": ok} for n, v, g, ok in t.targets]}
    (folder / "system.json").write_text(json.dumps(system, indent=2, default=float) + "\n")
    print(f"\nsaved: {folder / 'microbench.json'}, {folder / 'system.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
