"""The exercise's matrices of runs (variants of rates and p_internal) and the records of an
experiment's trials: plain data, shared by the runner (experiment/runner.py) and the notebook."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from clockbench.measure.metrics import JumpProfile
from clockbench.theory.run_analysis import RunAnalysis
from clockbench.file.verify import VerifyResult

# 60 model s at 30x is 2 s of wall time per run (what the assignment takes with it:
# docs/measurements.md, "Run times of the analysis").
DEFAULT_SPEEDUP = 30.0
DEFAULT_SEED_BASE = 1
NOTEBOOK_STEM = "notebook"



@dataclass(frozen=True)
class Variant:
    """One arm of a matrix: its rate range and internal probability, and why it is there."""

    key: str
    label: str
    rate_min: float
    rate_max: float
    p_internal: float
    runs: int
    why: str

    def args(self) -> List[str]:
        return ["--rate-min", f"{self.rate_min:g}", "--rate-max", f"{self.rate_max:g}",
                "--p-internal", f"{self.p_internal:g}"]


@dataclass(frozen=True)
class Matrix:
    name: str
    description: str
    n: int
    duration_s: float
    variants: Tuple[Variant, ...]


MATRICES: Dict[str, Matrix] = {
    "assignment": Matrix(
        "assignment",
        "The exercise of the scale-model assignment: five one-minute runs with rates varying by an order "
        "of magnitude, then five with a smaller variation of the rates, then five with a smaller "
        "probability of internal events.",
        n=3, duration_s=60.0, variants=(
            Variant("A", "rates 1..6, p_internal 0.7", 1, 6, 0.7, 5,
                    "the exercise as set: integer rates drawn from 1..6 (up to 6x apart), 7 in 10 free "
                    "ticks internal."),
            Variant("B", "rates 4..6, p_internal 0.7", 4, 6, 0.7, 5,
                    "a smaller variation of the rates: drawn from 4..6, at most 1.5x apart. For N=3 and "
                    "p=0.7 every queue is stable when 6 r_min >= the sum of the other two rates (docs/theory.md), "
                    "which always holds in 4..6 (6 x 4 = 24 >= 6 + 6): B shows the machines without "
                    "run-away queues, keeping the top of A's range so that runs stay comparable in length."),
            Variant("C", "rates 1..6, p_internal 0.4", 1, 6, 0.4, 5,
                    "a smaller probability of internal events: 0.4 instead of 0.7, so 6 in 10 free ticks "
                    "send; rates drawn from 1..6 as in A, so only the send probability changes."),
        )),
}


@dataclass
class Trial:
    """One run of the matrix and what became of it."""

    index: int            # 1-based, in the order run
    variant: Variant
    seed: int
    path: str
    command: List[str]
    wall_s: float = 0.0
    result: Dict[str, str] = field(default_factory=dict)  # the CLOCKBENCH_RESULT fields
    verified: Optional[VerifyResult] = None
    analysis: Optional[RunAnalysis] = None
    jumps: Optional[List[JumpProfile]] = None  # per machine, from the events (not kept in the analysis)


@dataclass
class Settings:
    """How a matrix was run: recorded in the notebook."""

    matrix: Matrix
    folder: str
    n: int
    duration_s: float
    speedup: float
    seed_base: int
    binary: str
    started_utc: str
    wall_s: float = 0.0
