"""Property test: random valid configurations (N 2..16, integer and fractional rates, p_internal
from 0 to 1 including both ends, both topologies, speedups) all complete and verify, with the rates
asked for (or drawn from the range asked for), the seed asked for, every tick the model says is
due (docs/model.md) run or counted missed, and no internal event at p_internal 0 and no send at 1.

The configurations come from one seeded generator. Each test prints its configuration and the
command that reruns it; to replay a failure, set CLOCKBENCH_PROPERTY_SEED to the printed seed
(and -k to the case's id). Each run lasts 0.2-0.5 s of wall time (a run that cannot keep up counts
its missed ticks, which the checks allow for), so the 50 take under 2 minutes.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import List, Tuple

import h5py
import numpy as np
import pytest

from runs import mpi_command, result_fields, run, ticks_before, verify_in_process

SEED = int(os.environ.get("CLOCKBENCH_PROPERTY_SEED", "20261126"))
CASES = 50


def draw_config(rng: random.Random) -> Tuple[int, List[str]]:
    """One valid configuration: (ranks, clockbench arguments)."""
    n = rng.randint(2, 16)
    args: List[str] = []
    style = rng.choice(["integer-list", "fractional-list", "range", "fractional-range"])
    if style == "integer-list":
        rates = [float(rng.randint(1, 10)) for _ in range(n)]
        args += ["--rates", ",".join(f"{r:g}" for r in rates)]
    elif style == "fractional-list":
        rates = [round(rng.uniform(0.2, 12.0), 3) for _ in range(n)]
        args += ["--rates", ",".join(f"{r:g}" for r in rates)]
    else:
        lo = rng.randint(1, 4)
        hi = lo + rng.randint(0, 6)
        args += ["--rate-min", str(lo), "--rate-max", str(hi)]
        if style == "fractional-range":
            args.append("--fractional-rates")
    # Both ends of [0, 1] turn up often; the rest is uniform.
    p = rng.choice([0.0, 1.0, round(rng.random(), 3), round(rng.random(), 3)])
    topology = rng.choice(["full", "ring", "random"])
    if topology == "random":  # random:K: K even, 2 <= K <= N/2 (docs/model.md, "Topologies")
        topology = f"random:{2 * rng.randint(1, n // 4)}" if n >= 4 else "ring"
    duration = rng.choice([2.0, 5.0, 10.0, 30.0])
    wall = rng.uniform(0.2, 0.5)
    speedup = round(duration / wall, 2)
    args += ["--p-internal", f"{p:g}", "--topology", topology, "--duration", f"{duration:g}",
             "--speedup", f"{speedup:g}", "--seed", str(rng.randrange(2**32)), "-q"]
    return n, args


def option(args: List[str], name: str) -> str:
    return args[args.index(name) + 1]


def check_rates(args: List[str], rates: np.ndarray) -> None:
    """The machines' rates are the list asked for, or drawn from the range asked for (integers
    unless --fractional-rates)."""
    if "--rates" in args:
        assert list(rates) == [float(r) for r in option(args, "--rates").split(",")]
        return
    lo, hi = float(option(args, "--rate-min")), float(option(args, "--rate-max"))
    assert np.all((rates >= lo) & (rates <= hi)), (lo, hi, rates)
    if "--fractional-rates" not in args:
        assert np.all(rates == np.round(rates)), rates


def all_configs(seed: int) -> List[Tuple[int, List[str]]]:
    rng = random.Random(seed)
    return [draw_config(rng) for _ in range(CASES)]


CONFIGS = all_configs(SEED)


def test_configurations_cover_the_ranges() -> None:
    """The drawn set really spans what the issue asks for (else the property proves little)."""
    ns = [n for n, _ in CONFIGS]
    joined = [" ".join(a) for _, a in CONFIGS]
    assert min(ns) <= 3 and max(ns) >= 12
    assert any("--p-internal 0 " in j for j in joined) and any("--p-internal 1 " in j for j in joined)
    assert any("ring" in j for j in joined) and any("full" in j for j in joined)
    assert any("--topology random:" in j for j in joined)
    assert any("--fractional-rates" in j for j in joined)
    assert any("--rates" in j and "." in j.split("--rates ")[1].split()[0] for j in joined)


@pytest.mark.parametrize("index", range(CASES), ids=[f"case{i}" for i in range(CASES)])
def test_random_configuration_completes_and_verifies(index: int, tmp_path: Path) -> None:
    n, args = CONFIGS[index]
    out = tmp_path / "run.h5"
    command = " ".join(mpi_command(n, [*args, "-o", str(out)]))
    print(f"property case {index}, CLOCKBENCH_PROPERTY_SEED={SEED}: {command}")
    proc = run(n, [*args, "-o", out], tmp_path, timeout=60)
    context = f"\nreplay: CLOCKBENCH_PROPERTY_SEED={SEED} -k case{index}\n{command}\n{proc.stdout}\n{proc.stderr}"
    assert proc.returncode == 0, context
    fields = result_fields(proc.stdout)
    assert fields["status"] == "ok" and fields["completed"] == "1", context
    assert fields["machines"] == str(n), context
    v = verify_in_process(out)
    assert v.returncode == 0 and v.stdout.startswith("OK "), v.stdout + v.stderr + context
    with h5py.File(out, "r") as f:
        assert int(f.attrs["completed"]) == 1
        assert int(f.attrs["n_machines"]) == n
        assert f.attrs["topology"] == args[args.index("--topology") + 1]
        assert np.isclose(float(f.attrs["p_internal"]), float(args[args.index("--p-internal") + 1]))
        assert int(f.attrs["seed"]) == int(option(args, "--seed")), context
        assert fields["seed"] == option(args, "--seed")
        rates = f["machines/rate_hz"][:]
        check_rates(args, rates)
        # Tick k of machine i is due at phase_i + k / rate_i; those before the duration ran or, on a
        # loaded machine, were counted missed; a run that kept time missed none.
        duration = float(option(args, "--duration"))
        due = [ticks_before(duration, r, ph) for r, ph in zip(rates, f["machines/phase_s"][:])]
        ticks, missed = f["machines/ticks"][:], f["machines/missed_ticks"][:]
        assert list(ticks + missed) == due, context
        if fields["timing"] == "ok":
            assert list(ticks) == due, context
        kinds = f["events/kind"][:]
        p_internal = float(option(args, "--p-internal"))  # as asked (the file says the same, above)
        if p_internal == 1.0:  # nothing is ever sent
            assert not np.any(kinds != 0) and int(f["network/sent"][:].sum()) == 0
        if p_internal == 0.0:  # a free tick always sends: internal events (kind 0) never happen
            assert not np.any(kinds == 0) and int(f["network/sent"][:].sum()) > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.h5"], "no partial file may be left"
