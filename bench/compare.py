"""bench/run's history: compares the figures of two bench/run results (their system.json) and flags
each change that is beyond the noise the two runs themselves measured.

Usage: /usr/bin/python3 bench/compare.py OLD/system.json NEW/system.json
       (bench/run --compare OLD/system.json runs it after its own table)

A figure measured several times in each result (flat-out rates and the MPI floor: one value per
repetition; microbenchmarks: Google Benchmark's repetitions) is compared by its median. The change
is flagged ("faster"/"slower") only when the two sets of repetitions do not overlap at all and the
medians differ by more than the wider of the two ranges (max - min): a change smaller than what
repeating the same measurement moves is noise. A figure measured once (the timing-fidelity and start-up runs)
has no measured noise: its change is printed but never flagged. Exit status 0 either way (a
comparison reports; it is not a test), 2 on bad input.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Dict, List, Tuple

# (name, values, higher is better)
Figure = Tuple[List[float], bool]


def _numbers(values: List[object]) -> List[float]:
    return [float(v) for v in values if isinstance(v, (int, float)) and v == v]


def figures(system: Dict[str, object]) -> Dict[str, Figure]:
    """Every comparable figure of one system.json, by name: its repetitions and its direction."""
    out: Dict[str, Figure] = {}
    flat = system.get("flat_out") or {}
    if flat and "ranks" in flat:  # clockbench-bench/1: one set of flat-out runs (3 ranks)
        flat = {str(flat["ranks"]): flat}
    for ranks, f in sorted(flat.items()):
        if not f:
            continue
        for kind, runs in f.get("runs", {}).items():
            if kind == "floor":
                out[f"flat out {ranks} ranks: MPI floor ns/message"] = (
                    _numbers([float(r["ns_per_message"]) for r in runs]), False)
            else:
                out[f"flat out {ranks} ranks: {kind} events/s"] = (
                    _numbers([float(r["events_per_s"]) for r in runs]), True)
        for kind, per in (f.get("floor") or {}).items():
            if isinstance(per, dict) and "times_floor_per_message" in per:
                out[f"flat out {ranks} ranks: {kind} x floor per message"] = (
                    _numbers(per["times_floor_per_message"]), False)
    for name, values in (system.get("microbench_items_per_second") or {}).items():
        out[f"microbenchmark {name} items/s"] = (_numbers(values), True)
    for r in system.get("fidelity") or []:
        key = f"fidelity {r['ranks']} ranks, speedup {r['speedup']:g}, grace {r['grace_s']:g} s"
        out[f"{key}: worst rate error"] = ([float(r["worst_rate_error"])], False)
        out[f"{key}: p99 lateness s"] = ([float(r["late_p99_s"])], False)
    for r in system.get("startup") or []:
        out[f"start-up {r['ranks']} ranks: bare MPI program, mpirun wall s"] = ([float(r["bare_wall_s"])], False)
        out[f"start-up {r['ranks']} ranks: clockbench, mpirun wall s"] = ([float(r["wall_s"])], False)
    return {k: v for k, v in out.items() if v[0]}


def judge(old: List[float], new: List[float], higher_is_better: bool) -> str:
    """'faster'/'slower' (better/worse) beyond noise, 'same' within it, 'single run' without spread."""
    if len(old) < 2 or len(new) < 2:
        return "single run"
    m_old, m_new = statistics.median(old), statistics.median(new)
    noise = max(max(old) - min(old), max(new) - min(new))
    apart = min(new) > max(old) or max(new) < min(old)
    if not apart or abs(m_new - m_old) <= noise:
        return "same"
    better = (m_new > m_old) == higher_is_better
    return "BETTER" if better else "WORSE"


def compare(old: Dict[str, object], new: Dict[str, object]) -> List[Tuple[str, float, float, str]]:
    a, b = figures(old), figures(new)
    rows = []
    for name in sorted(set(a) & set(b)):
        (vo, hib), (vn, _) = a[name], b[name]
        rows.append((name, statistics.median(vo), statistics.median(vn), judge(vo, vn, hib)))
    return rows


def load(path: str) -> Dict[str, object]:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise SystemExit(f"bench/compare.py: error: {path}: {e}") from None
    if not isinstance(data, dict) or not str(data.get("schema", "")).startswith("clockbench-bench/"):
        raise SystemExit(f"bench/compare.py: error: {path} is not a bench/run system.json")
    return data


def main(argv: List[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        old, new = load(argv[1]), load(argv[2])
    except SystemExit as e:
        print(e, file=sys.stderr)
        return 2
    rows = compare(old, new)
    title = f"Compared with {argv[1]} (flagged: beyond the spread of both runs' repetitions)"
    print(f"\n{title}\n{'-' * len(title)}")
    if not rows:
        print("no figure in common")
        return 0
    width = max(len(r[0]) for r in rows)
    for name, vo, vn, verdict in rows:
        change = f"{100 * (vn / vo - 1):+.1f} %" if vo else "n/a"
        print(f"{name.ljust(width)}  {vo:12.4g} -> {vn:12.4g}  {change:>9}  {verdict}")
    flagged = [r for r in rows if r[3] in ("BETTER", "WORSE")]
    print(f"{len(flagged)} of {len(rows)} figures changed beyond noise "
          f"({sum(r[3] == 'WORSE' for r in flagged)} worse)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
