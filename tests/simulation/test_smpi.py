"""The simulated run against the real one (docs/simulation.md): for one seed and the same options, a
real run under mpiexec that kept time and a run of the SMPI build under scripts/simulate (its default
platform, simulated time) record identical events, every field but t, and the same per-machine and
per-link counts; the simulated file says it was simulated and on what. Then scripts/simulate's
refusals: one line, exit 2. The SMPI build is scripts/simulate's own (build-smpi/, built on first
use), or CLOCKBENCH_SMPI_BUILD's."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List, Optional

import h5py
import numpy as np
import pytest

from runs import HANG_S, ROOT, attrs, run, verify

SIMULATE = ROOT / "scripts" / "simulate"
SCHEMA = json.loads((ROOT / "schema" / "clockbench-1.json").read_text())


def columns(group: str) -> List[str]:
    return [c["name"] for g in SCHEMA["groups"] if g["name"] == group for c in g["columns"]]


# Every field of an event but its measured time; of a machine, what the model fixes (its counts and
# phase: not its achieved rate, lateness or clock offsets, which are measurements).
EVENT_FIELDS = [c for c in columns("events") if c != "t"]
MACHINE_FIELDS = ["rank", "rate_hz", "ticks", "sent", "received", "left_in_queue", "phase_s",
                  "late_deliveries", "missed_ticks"]
NETWORK_FIELDS = columns("network")

# (machines, topology, --latency or None). A latency drawn per message (uniform) exercises the
# senders' latency streams; without one, messages arrive at their send's deadline. 37 machines: the
# file's blocks reach rank 0 through a binomial tree (src/mpi/byte_gather.cpp) whose subtrees are
# uneven (rank 32's holds 32..36, rank 34's 34..35), and /network's column blocks (received, left)
# are placed one element per row; the model latency keeps the simulation exact at any size.
CASES = [(n, topology, latency) for n in (3, 16) for topology in ("full", "ring")
         for latency in (None, "uniform:0.002,0.02")] + [(37, "ring", "uniform:0.002,0.02")]


def case_args(n: int, topology: str, latency: Optional[str]) -> List[str]:
    # Real time (speedup 1) and a grace of 50 ms, so that 16 ranks on two shared cores keep time (the
    # grace changes no event, only how long a tick may wait for its senders); a fixed seed per case.
    args = ["--seed", str(170 + n), "--topology", topology, "--duration", "8" if n == 3 else "5", "--grace", "0.05",
            "-q"]
    return args + (["--latency", latency] if latency else [])


def simulate(args: List[str], cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    # The first call may install SimGrid and build the SMPI program: the bound only catches a hang.
    return subprocess.run([str(SIMULATE), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def differences(real: Path, simulated: Path) -> List[str]:
    """Every field of the two files that should be equal and is not, named with its first difference."""
    found = []
    with h5py.File(real, "r") as a, h5py.File(simulated, "r") as b:
        for group, fields in (("events", EVENT_FIELDS), ("machines", MACHINE_FIELDS), ("network", NETWORK_FIELDS)):
            for name in fields:
                x, y = a[group][name][...], b[group][name][...]
                if x.shape != y.shape:
                    found.append(f"/{group}/{name}: shape {x.shape} (real) vs {y.shape} (simulated)")
                    continue
                nan = x.dtype.kind == "f"
                unequal = ~((x == y) | (np.isnan(x) & np.isnan(y))) if nan else x != y
                if unequal.any():
                    at = tuple(int(i) for i in np.argwhere(unequal)[0])
                    found.append(f"/{group}/{name}{list(at)}: {x[at]} (real) vs {y[at]} (simulated), "
                                 f"{int(unequal.sum())} of {x.size} differ")
    return found


def kept_time(path: Path) -> str:
    """'' when the run kept time, else what its verdict says: a degraded run's events are not the model's."""
    timing = attrs(path)["timing"]
    return "" if timing == "ok" else f"{path.name}: timing {timing!r}"


@pytest.fixture(scope="module")
def smpi_ready(tmp_path_factory) -> None:
    """scripts/simulate once, so that its first-use install and build are not inside a case's bound."""
    cwd = tmp_path_factory.mktemp("smpi-build")
    done = simulate(["--hosts", "2", "--", "--no-output", "--duration", "1", "-q"], cwd)
    assert done.returncode == 0, f"scripts/simulate cannot run:\n{done.stdout}\n{done.stderr}"


@pytest.mark.parametrize("n,topology,latency", CASES,
                         ids=[f"np{n}-{t}-{'latency' if lat else 'no-latency'}" for n, t, lat in CASES])
def test_simulated_run_records_the_real_runs_events(smpi_ready, tmp_path, n, topology, latency):
    args = case_args(n, topology, latency)
    sim = tmp_path / "simulated.h5"
    done = simulate(["--hosts", str(n), "--", *args, "-o", str(sim)], tmp_path, timeout=HANG_S)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"OK {sim}" in done.stdout  # scripts/simulate verified the file it left

    # A run that fell behind the model records other events by design: no comparison then. A loaded
    # machine may stall one run; three in a row mean it cannot host this one.
    for attempt in range(3):
        real = tmp_path / f"real-{attempt}.h5"
        ran = run(n, [*args, "-o", str(real)], cwd=tmp_path, timeout=HANG_S)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        if kept_time(real) == "":
            break
    assert kept_time(real) == "", f"cannot compare: the real run fell behind 3 times, {kept_time(real)}"
    assert kept_time(sim) == "", f"cannot compare: the simulation fell behind the model, {kept_time(sim)}"
    assert differences(real, sim) == []

    a = attrs(sim)
    assert (a["simulated"], a["platform"], a["simgrid_version"].split(".")[:2]) == (1, "cluster", ["3", "32"])
    assert a["platform_parameters"] == f"hosts={n} latency_us=10 bandwidth=10GBps"
    assert a["mpi_library_version"].startswith("SMPI")
    assert (attrs(real)["simulated"], attrs(real)["platform"]) == (0, "")


def test_the_comparison_sees_one_changed_field(smpi_ready, tmp_path):
    """The planted case of the check above: one receive's msg_clock off by one, one machine's sent
    count off by one; each is named."""
    sim = tmp_path / "simulated.h5"
    args = case_args(3, "full", None)
    done = simulate(["--hosts", "3", "--", *args, "-o", str(sim)], tmp_path, timeout=HANG_S)
    assert done.returncode == 0, done.stdout + done.stderr
    planted = tmp_path / "planted.h5"
    shutil.copy(sim, planted)
    with h5py.File(planted, "r+") as f:
        receive = int(np.flatnonzero(f["events/kind"][...] == 3)[0])
        f["events/msg_clock"][receive] += 1
        f["machines/sent"][1] += 1
    assert differences(sim, sim) == []
    found = differences(sim, planted)
    assert [line.split(":")[0] for line in found] == [f"/events/msg_clock[{receive}]", "/machines/sent[1]"]


def test_a_degraded_run_is_not_compared(tmp_path):
    path = tmp_path / "degraded.h5"
    with h5py.File(path, "w") as f:
        f.attrs["timing"] = "degraded: 1 late deliveries, 0 missed ticks"
    assert kept_time(path) == "degraded.h5: timing 'degraded: 1 late deliveries, 0 missed ticks'"


def one_line_exit_2(done: subprocess.CompletedProcess, words: str) -> None:
    lines = done.stderr.splitlines()
    assert (done.returncode, len(lines)) == (2, 1), done.stdout + done.stderr
    assert lines[0].startswith("simulate: error: ") and words in lines[0], lines[0]
    assert done.stdout == ""


def test_unknown_platform(tmp_path):
    one_line_exit_2(simulate(["--hosts", "4", "--platform", "torus", "--", "-q"], tmp_path), "unknown platform 'torus'")


def test_more_ranks_than_hosts(smpi_ready, tmp_path):
    one_line_exit_2(simulate(["--hosts", "4", "--np", "5", "--", "-q"], tmp_path), "more ranks than hosts (4)")


def test_platform_file_that_does_not_parse(smpi_ready, tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text('<?xml version="1.0"?>\n<platform version="4.1">\n  <cluster id="c"\n</platform>\n')
    one_line_exit_2(simulate(["--platform", str(bad), "--", "-q"], tmp_path), f"platform file '{bad}' does not parse")


def test_platform_file_hosts(smpi_ready, tmp_path):
    """A platform file is used as it is: its hosts in order, and no more ranks than it has."""
    platform = tmp_path / "mine.xml"
    platform.write_text('<?xml version="1.0"?>\n<!DOCTYPE platform SYSTEM "https://simgrid.org/simgrid.dtd">\n'
                        '<platform version="4.1">\n  <cluster id="mine" prefix="node" suffix=".lab" '
                        'radical="1-3" speed="1Gf" bw="1GBps" lat="50us"/>\n</platform>\n')
    one_line_exit_2(simulate(["--platform", str(platform), "--hosts", "4", "--", "-q"], tmp_path),
                    f"platform file '{platform}' has only 3 hosts")
    out = tmp_path / "run.h5"
    done = simulate(["--platform", str(platform), "--", "--duration", "2", "--seed", "3", "-q", "-o", str(out)],
                    tmp_path, timeout=HANG_S)
    assert done.returncode == 0, done.stdout + done.stderr
    with h5py.File(out, "r") as f:
        hosts = [h.decode() for h in f["machines/hostname"][...]]
    assert hosts == ["node1.lab", "node2.lab", "node3.lab"]
    assert attrs(out)["platform"] == "file:mine.xml"
    assert verify(out).returncode == 0


def test_simgrid_missing(tmp_path):
    """Every program of /usr/bin but SimGrid's: scripts/simulate says how to install it."""
    path = tmp_path / "bin"
    path.mkdir()
    for program in Path("/usr/bin").iterdir():
        if not program.name.startswith("smpi"):
            (path / program.name).symlink_to(program)
    done = subprocess.run([str(SIMULATE), "--hosts", "2", "--", "-q"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=HANG_S, env={**os.environ, "PATH": str(path)})
    one_line_exit_2(done, "apt-get install libsimgrid-dev libhdf5-dev")


def test_clockbench_refusal_is_passed_on(smpi_ready, tmp_path):
    """clockbench's own refusals under the simulation: its one line, exit 2 (flat out has no meaning there)."""
    done = simulate(["--hosts", "2", "--", "--rates", "max", "--no-output", "-q"], tmp_path, timeout=HANG_S)
    lines = done.stderr.splitlines()
    assert (done.returncode, lines) == (2, ["clockbench: error: --rates max (flat out) has no meaning in a "
                                            "simulation: its ticks take no simulated time"]), done.stdout + done.stderr


def test_simulated_scaling_study(smpi_ready, tmp_path):
    """slurm/scaling.sh --simulate: each point simulated in turn on a cluster of its N hosts (no Slurm),
    every file verified and simulated with its own N and topology, then the report with the theory's
    prediction beside each measurement (docs/simulation.md, "Scale")."""
    points = [(t, n) for t in ("ring", "random:2") for n in (4, 8)]
    done = subprocess.run([str(ROOT / "slurm" / "scaling.sh"), "--simulate", "--n", "4,8", "--topologies",
                           "ring,random:2", "--", "--duration", "5", "--seed", "7"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=HANG_S,
                          env={**os.environ, "CLOCKBENCH_RESULTS": str(tmp_path / "results")})
    assert done.returncode == 0, done.stdout + done.stderr
    [study] = (tmp_path / "results").glob("clockbench-scaling-simulated-*")
    for topology, n in points:
        path = study / f"{topology.replace(':', '')}-n{n}.h5"
        a = attrs(path)
        assert (a["simulated"], a["platform"], a["topology"], a["seed"]) == (1, "cluster", topology, 7)
        assert a["platform_parameters"].startswith(f"hosts={n} ")
        with h5py.File(path, "r") as f:
            assert list(f["machines/rank"][...]) == list(range(n))
        assert verify(path).returncode == 0
    lines = (study / "scaling.md").read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("| topology | N |"))  # the first table
    names = [c.strip() for c in lines[first].strip("|").split("|")]
    table = lines[first + 2:lines.index("", first)]
    for topology, n in points:
        [row] = [line for line in table if line.startswith(f"| {topology} | {n} |")]
        cells = dict(zip(names, (c.strip() for c in row.strip("|").split("|"))))
        for measured in ("s*", "drift_max", "lag_final"):  # each with the theory's figure beside it
            float(cells[measured])
            float(cells[f"{measured}_th"])
