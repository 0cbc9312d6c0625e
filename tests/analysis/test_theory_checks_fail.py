"""Each theory check of `summary` and `report` can fail, and fails exactly beyond its tolerance: on
a run of the independent simulator (replay.py) where every check passes, one measurement of one
machine is moved by 1.5 times that check's tolerance (the check must fail) and by half of it (the
check must still pass). The measurements are moved in the file, as the analysis reads them:
messages sent to the machine (lambda_hz), receive ticks (rho), queue lengths (queue_mean), a
queue that grows (dQ/dt), receive jumps (jump_mean)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, Tuple

import numpy as np
import pytest

from conftest import RunData, write_run
from model_sim import from_replay
from replay import replay

from clockbench.file.schema import open_run
from clockbench.theory.run_analysis import analyse

RATES, SEED, DURATION, P = (2.0, 3.0, 4.0), 3, 60.0, 0.7
MACHINE = 0


def clean() -> RunData:
    return from_replay(replay(list(RATES), SEED, DURATION, P, "full"))


def of_machine(d: RunData, m: int) -> np.ndarray:
    return np.flatnonzero(d.events["rank"] == m)


def spread(count: int, among: np.ndarray) -> np.ndarray:
    """`count` rows evenly spread over `among`."""
    return among[np.linspace(0, among.size - 1, count).round().astype(int)] if count else among[:0]


def more_arrivals(d: RunData, m: int, delta: float) -> None:
    sender = (m + 1) % len(RATES)
    d.network["sent"][sender, m] += int(round(delta * DURATION))


def more_receives(d: RunData, m: int, delta: float) -> None:
    rows = of_machine(d, m)
    internal = rows[d.events["kind"][rows] == 0]
    d.events["kind"][spread(int(round(delta * rows.size)), internal)] = 3


def longer_queue(d: RunData, m: int, delta: float) -> None:
    rows = of_machine(d, m)
    d.events["queue"][spread(int(round(delta * rows.size)), rows)] += 1


def growing_queue(d: RunData, m: int, delta: float) -> None:
    rows = of_machine(d, m)
    t = d.events["t"][rows]
    d.events["queue"][rows] += np.floor(delta * (t - t[0])).astype(d.events["queue"].dtype)


def bigger_jumps(d: RunData, m: int, delta: float) -> None:
    rows = of_machine(d, m)
    receives = rows[d.events["kind"][rows] == 3]
    d.events["jump"][spread(int(round(delta * receives.size)), receives)] += 1


PLANTS: Dict[str, Callable[[RunData, int, float], None]] = {
    "lambda_hz": more_arrivals, "rho": more_receives, "queue_mean": longer_queue, "dQ/dt": growing_queue,
    "jump_mean": bigger_jumps,
}


def check_of(tmp_path: Path, d: RunData, quantity: str, name: str) -> Tuple[bool, float, float, float]:
    a = analyse(open_run(write_run(tmp_path / f"{name}.h5", d)), histograms=False)
    c = next(c for c in a.checks if c.quantity == quantity and c.machine == MACHINE)
    return c.ok, c.measured, c.predicted, c.tolerance


def test_every_check_has_a_plant(tmp_path: Path) -> None:
    a = analyse(open_run(write_run(tmp_path / "run.h5", clean())), histograms=False)
    assert {c.quantity for c in a.checks} == set(PLANTS)
    assert all(c.ok for c in a.checks), [c for c in a.checks if not c.ok]


@pytest.mark.parametrize("quantity", sorted(PLANTS))
def test_a_departure_beyond_the_tolerance_fails_and_within_it_passes(tmp_path: Path, quantity: str) -> None:
    ok, measured, predicted, tolerance = check_of(tmp_path, clean(), quantity, "clean")
    assert ok
    room = tolerance - (measured - predicted)  # how far up the measurement may still go
    for factor, must_pass in ((1.5, False), (0.5, True)):
        d = clean()
        PLANTS[quantity](d, MACHINE, factor * room)
        ok2, measured2, _, tol2 = check_of(tmp_path, d, quantity, f"x{factor}")
        assert measured2 > measured, f"{quantity}: the plant did not move the measurement ({measured} -> {measured2})"
        assert ok2 == must_pass, (f"{quantity}: measured {measured2:.4g} against predicted {predicted:.4g} "
                                  f"within {tol2:.4g}: {'passed' if ok2 else 'failed'} at {factor} x the room")
