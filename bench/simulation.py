#!/usr/bin/env python3
"""bench/run --simulation: what simulated runs cost (docs/simulation.md, "Scale").

Runs scripts/simulate for each case (machines, topology, model seconds) on the default cluster
platform, under /usr/bin/time -v, one after the other and niced, and records the wall time and
the simulator's maximum resident set size of each, with the file's size and its verify verdict.
Saved as results/bench-simulation-<UTC time>/simulation.json beside the runs' logs; the table is
printed. --quick runs small cases only (it checks that everything runs; the figures mean little).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FULL = [(1024, "ring", 60), (4096, "ring", 60), (1024, "random:4", 60), (1024, "random:8", 60),
        (4096, "random:4", 60)]
QUICK = [(16, "ring", 5), (64, "ring", 5), (64, "random:4", 5)]


def parse_time_v(text: str) -> tuple[float, int]:
    """The wall seconds and maximum resident kB that /usr/bin/time -v reported."""
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", text)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if not wall or not rss:
        raise ValueError("no /usr/bin/time -v figures in the log")
    seconds = 0.0
    for part in wall.group(1).split(":"):
        seconds = 60 * seconds + float(part)
    return seconds, int(rss.group(1))


def run_case(folder: Path, n: int, topology: str, duration: float, seed: int, keep: bool) -> dict:
    name = f"n{n}-{topology.replace(':', '')}-{duration:g}s"
    h5 = folder / f"{name}.h5"
    log = folder / f"{name}.log"
    command = ["/usr/bin/time", "-v", "nice", "-n", "10", str(ROOT / "scripts" / "simulate"), "--hosts", str(n),
               "--", "--topology", topology, "--duration", f"{duration:g}", "--seed", str(seed), "-o", str(h5)]
    done = subprocess.run(command, capture_output=True, text=True)
    log.write_text(done.stdout + done.stderr)
    case = {"machines": n, "topology": topology, "model_s": duration, "seed": seed, "exit_code": done.returncode}
    case["wall_s"], case["max_rss_kb"] = parse_time_v(done.stderr)
    verdict = [line for line in done.stdout.splitlines() if line.startswith(("OK ", "FAIL"))]
    case["verify"] = verdict[-1] if verdict else "none"
    result = [line for line in done.stdout.splitlines() if line.startswith("CLOCKBENCH_RESULT ")]
    fields = dict(f.split("=", 1) for f in result[-1].split()[1:] if "=" in f) if result else {}
    case["events"] = int(fields.get("events", 0) or 0)
    case["timing"] = fields.get("timing", "")
    case["file_bytes"] = h5.stat().st_size if h5.exists() else 0
    if not keep:
        h5.unlink(missing_ok=True)  # the figures are kept; the files are large (--keep-files keeps them)
    return case


def table(cases: list[dict]) -> str:
    lines = [f"{'machines':>8} {'topology':>9} {'model s':>7} {'wall s':>8} {'max RSS MB':>10} "
             f"{'events':>9} {'file MB':>8}  verify"]
    for c in cases:
        ok = "OK" if c["verify"].startswith("OK ") and c["exit_code"] == 0 else f"FAILED ({c['verify']})"
        lines.append(f"{c['machines']:>8} {c['topology']:>9} {c['model_s']:>7g} {c['wall_s']:>8.1f} "
                     f"{c['max_rss_kb'] / 1024:>10.0f} {c['events']:>9} {c['file_bytes'] / 1e6:>8.1f}  {ok}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run --simulation", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small cases only (16 and 64 machines, 5 model s)")
    parser.add_argument("--keep-files", action="store_true", help="keep the runs' files (for slurm/scaling.sh's report)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    folder = ROOT / "results" / f"bench-simulation-{stamp}"
    folder.mkdir(parents=True)
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    simgrid = subprocess.run(["smpirun", "-version"], capture_output=True, text=True).stdout.splitlines()
    record = {
        "schema": "clockbench-bench-simulation/1",
        "date_utc": stamp,
        "git_sha": sha,
        "simgrid": simgrid[0].removeprefix("SimGrid version ") if simgrid else "",
        "platform": "cluster (scripts/simulate's default: 10 us host to host, 10GBps)",
        "machine": {"host": platform.node(), "cpus": os.cpu_count(), "load_before": load_before},
        "quick": args.quick,
        "cases": [],
    }
    cases = record["cases"]
    for n, topology, duration in QUICK if args.quick else FULL:
        print(f"bench/run --simulation: {n} machines, {topology}, {duration:g} model s", file=sys.stderr, flush=True)
        cases.append(run_case(folder, n, topology, duration, args.seed, args.keep_files))
        # Saved after every case: the long ones are worth keeping even if a later one is stopped.
        record["machine"]["load_after"] = Path("/proc/loadavg").read_text().split()[:3]
        (folder / "simulation.json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"clockbench bench/run --simulation ({'quick: ' if args.quick else ''}default cluster platform, "
          f"SimGrid {record['simgrid']}, git {sha[:12]}, load {' '.join(load_before)})")
    print(table(cases))
    print(f"\nsaved: {folder / 'simulation.json'}")
    return 0 if all(c["exit_code"] == 0 and c["verify"].startswith("OK ") for c in cases) else 1


if __name__ == "__main__":
    sys.exit(main())
