"""Calibration of the theory checks: how often each check of `summary` and `report` fails a run
that follows the model (its false-failure rate), measured over runs of tests/analysis/replay.py,
the independent exact simulator of docs/model.md, on a grid of configurations.

Every run goes the way a user's file does: replayed, written as a clockbench/1 file, read back and
analysed by clockbench.theory.run_analysis.analyse (the code behind `summary` and `report`). For each
configuration and check (quantity, machine) the rate is failures / runs; per quantity we keep the
worst machine of each configuration, with a 95 % upper confidence bound (Clopper-Pearson), and the
share of runs in which any check of the run fails (many checks per run: some fail by chance).

    /usr/bin/python3 calibrate.py                     the sampled grid (the test's), 400 runs each
    /usr/bin/python3 calibrate.py --full --runs 400   the whole grid
    ... --json OUT.json                               also write the figures (clockbench reads
                                                      analysis/clockbench/theory/calibration.json)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing import Pool
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "analysis"))

from conftest import write_run  # noqa: E402
from model_sim import from_replay  # noqa: E402
from replay import replay  # noqa: E402

from clockbench.theory.run_analysis import analyse  # noqa: E402
from clockbench.file.schema import open_run  # noqa: E402

QUANTITIES = ("lambda_hz", "rho", "dQ/dt", "queue_mean", "jump_mean")
TARGET = 0.01  # the most a check may fail a good run (issue 10)


@dataclass(frozen=True)
class Config:
    """One point of the grid: the run's parameters (rates drawn once, from rate_seed, if random)."""

    name: str
    rates: Tuple[float, ...]
    topology: str = "full"
    p_internal: float = 0.7
    duration_s: float = 60.0
    phase: str = "random"
    latency: str = "0"

    def describe(self) -> str:
        rates = ",".join(f"{r:g}" for r in self.rates) if len(self.rates) <= 8 else \
            f"{len(self.rates)} rates in 1..6"
        return (f"{self.topology} N={len(self.rates)} rates {rates}, p {self.p_internal:g}, "
                f"{self.duration_s:g} s, phase {self.phase}, latency {self.latency}")


def _random_rates(n: int, seed: int) -> Tuple[float, ...]:
    return tuple(float(x) for x in np.random.default_rng(seed).integers(1, 7, n))


# Stable, near-critical and growing machines; full and ring; N 2..48; p_internal 0..1; short and
# long; both phase modes; no, constant, uniform and exponential latency.
GRID: Tuple[Config, ...] = (
    Config("classic", (1.0, 2.0, 3.0)),
    Config("two", (1.0, 3.0), p_internal=0.5),
    Config("growing", (4.0, 1.0, 4.0)),
    Config("transient", (1.0, 1.0, 6.0)),
    Config("critical", (2.0, 3.0, 3.0), p_internal=0.4),
    Config("all-send", (2.0, 3.0, 4.0), p_internal=0.0),
    Config("silent", (1.0, 2.0, 3.0), p_internal=1.0),
    Config("short-zero", (1.0, 2.0, 3.0), duration_s=10.0, phase="zero"),
    Config("long", (1.0, 2.0, 3.0), duration_s=300.0),
    Config("latency", (1.0, 2.0, 3.0), latency="0.2"),
    Config("latency-exp", (2.0, 4.0, 6.0), latency="exp:0.2"),
    Config("latency-uniform", (4.0, 1.0, 4.0), latency="uniform:0,0.3", phase="zero"),
    Config("full-10", _random_rates(10, 10)),
    Config("full-24-low", _random_rates(24, 24), p_internal=0.9, duration_s=30.0),
    Config("full-48", _random_rates(48, 48), duration_s=30.0),
    Config("ring-10", _random_rates(10, 110), topology="ring"),
    Config("ring-16-latency", _random_rates(16, 116), topology="ring", p_internal=0.4, latency="0.1",
           phase="zero"),
    Config("ring-48", _random_rates(48, 148), topology="ring"),
)
# The sample the README's test command runs (how long the whole grid takes: docs/measurements.md).
SAMPLE = ("classic", "growing", "transient", "short-zero", "latency-exp")


@dataclass
class Tally:
    """Failures per check of one configuration over `runs` runs."""

    config: Config
    runs: int = 0
    fails: Dict[Tuple[str, int], int] = field(default_factory=dict)
    checked: Dict[Tuple[str, int], int] = field(default_factory=dict)
    any_fail: int = 0

    def add(self, rows: List[Tuple[str, int, bool]]) -> None:
        """One run's checks, as (quantity, machine, ok)."""
        self.runs += 1
        self.any_fail += any(not ok for _, _, ok in rows)
        for quantity, machine, ok in rows:
            key = (quantity, machine)
            self.checked[key] = self.checked.get(key, 0) + 1
            self.fails[key] = self.fails.get(key, 0) + (not ok)

    def worst(self, quantity: str) -> Optional[Tuple[int, int, int]]:
        """(machine, failures, runs checked) of the quantity's worst machine, None if never checked."""
        rows = [(m, self.fails[(q, m)], n) for (q, m), n in self.checked.items() if q == quantity]
        return max(rows, key=lambda r: (r[1] / r[2], r[2])) if rows else None


def upper_bound(fails: int, runs: int, level: float = 0.95) -> float:
    """One-sided Clopper-Pearson upper bound of a failure probability, by bisection on the
    binomial tail (no scipy needed)."""
    if fails >= runs:
        return 1.0
    lo, hi = fails / runs, 1.0
    for _ in range(60):
        p = (lo + hi) / 2
        cdf = sum(math.comb(runs, k) * p ** k * (1 - p) ** (runs - k) for k in range(fails + 1))
        lo, hi = (p, hi) if cdf > 1 - level else (lo, p)
    return hi


def checks_of(result: Dict, folder: Optional[str] = None) -> List:
    """The checks `summary` makes of one replayed run: written as a file, read back, analysed."""
    folder = folder or ("/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir())
    path = write_run(Path(folder) / f"clockbench-check-{os.getpid()}.h5", from_replay(result))
    try:
        return analyse(open_run(str(path)), histograms=False).checks
    finally:
        path.unlink()


def _one(args) -> List[Tuple[str, int, bool]]:
    config, seed, folder = args
    result = replay(list(config.rates), seed, config.duration_s, config.p_internal, config.topology,
                    phase=config.phase, latency=config.latency)
    return [(c.quantity, c.machine, c.ok) for c in checks_of(result, folder)]


def calibrate(config: Config, runs: int, first_seed: int = 1, jobs: int = 1) -> Tally:
    """Replay `runs` seeds of one configuration and tally its checks."""
    tally = Tally(config)
    folder = Path(tempfile.mkdtemp(prefix="clockbench-calibrate-", dir="/dev/shm" if os.path.isdir("/dev/shm")
                                   else None))
    work = [(config, seed, str(folder)) for seed in range(first_seed, first_seed + runs)]
    try:
        if jobs > 1:
            with Pool(jobs) as pool:
                for rows in pool.imap_unordered(_one, work, chunksize=4):
                    tally.add(rows)
        else:
            for w in work:
                tally.add(_one(w))
    finally:
        folder.rmdir()
    return tally


def failure_rates(rates, runs: int, duration: float, first_seed: int = 1, **kw) -> Dict[Tuple[str, int], float]:
    """(quantity, machine) -> the fraction of `runs` replayed runs of one configuration (seeds from
    first_seed; kw: Config's fields) in which that check failed."""
    tally = calibrate(Config("ad hoc", tuple(float(r) for r in rates), duration_s=duration, **kw), runs, first_seed)
    return {k: tally.fails[k] / runs for k in tally.checked}


def figures(tallies: Sequence[Tally]) -> Dict:
    """The calibration as plain data: per quantity, every configuration's worst machine."""
    out: Dict = {"target": TARGET, "level": 0.95, "configs": {}, "quantities": {}}
    for t in tallies:
        out["configs"][t.config.name] = {"describe": t.config.describe(), "runs": t.runs,
                                         "any_check_fails": t.any_fail / t.runs}
    for q in QUANTITIES:
        per = {}
        for t in tallies:
            w = t.worst(q)
            if w is not None:
                m, f, n = w
                per[t.config.name] = {"machine": m, "fails": f, "runs": n, "rate": f / n,
                                      "upper95": upper_bound(f, n)}
        worst = max(per.items(), key=lambda kv: kv[1]["rate"]) if per else None
        out["quantities"][q] = {"configs": per, "worst_config": worst[0] if worst else None,
                                "worst_rate": worst[1]["rate"] if worst else None}
    return out


def render(data: Dict) -> str:
    """The figures as a text table: one line per quantity and configuration."""
    lines = [f"{'check':<11} {'configuration':<17} {'machine':>7} {'failed':>9} {'rate':>6} {'95% up':>7}"]
    for q, d in data["quantities"].items():
        for name, c in d["configs"].items():
            flag = "  OVER" if c["rate"] > data["target"] else ""
            lines.append(f"{q:<11} {name:<17} {c['machine']:>7} {c['fails']:>4}/{c['runs']:<4} "
                         f"{c['rate']:>6.2%} {c['upper95']:>7.2%}{flag}")
    lines.append("runs with any failing check: " + ", ".join(
        f"{k} {v['any_check_fails']:.1%}" for k, v in data["configs"].items()))
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="the whole grid, not the sample")
    ap.add_argument("--only", nargs="*", help="these configurations (by name)")
    ap.add_argument("--runs", type=int, default=400, help="seeds per configuration (default 400)")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    ap.add_argument("--json", help="write the figures to this file")
    a = ap.parse_args(argv)
    names = a.only or ([c.name for c in GRID] if a.full else list(SAMPLE))
    unknown = set(names) - {c.name for c in GRID}
    if unknown:
        ap.error(f"unknown configuration(s): {', '.join(sorted(unknown))}")
    tallies = []
    for c in (c for c in GRID if c.name in names):
        start = time.time()
        tallies.append(calibrate(c, a.runs, jobs=a.jobs))
        print(f"{c.name}: {c.describe()}: {a.runs} runs in {time.time() - start:.0f} s", file=sys.stderr)
    data = figures(tallies)
    print(render(data))
    if a.json:
        Path(a.json).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
