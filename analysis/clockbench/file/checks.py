"""What the checks of `verify` share: the violation record, the checker that collects violations
in a fixed order, and the messages of a run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List

import numpy as np

from clockbench.file.schema import Run


@dataclass
class Violation:
    """The first occurrence of one kind of broken invariant, and how often it occurs."""

    check: str
    message: str
    count: int = 1

    def __str__(self) -> str:
        more = f" (+{self.count - 1} more like this)" if self.count > 1 else ""
        return self.message + more


@dataclass
class Messages:
    """Every message the events send, one row each, and the receive that took it (-1: none).

    Rows index the checked event table; the order is that of the sends (send-ones, then
    send-alls expanded over the sender's peers)."""

    sender: np.ndarray
    receiver: np.ndarray
    send_row: np.ndarray
    receive_row: np.ndarray


class Checker:
    """Runs the checks in a fixed order so reports are deterministic."""

    def __init__(self, run: Run) -> None:
        self.n = run.n_machines
        self.violations: List[Violation] = []

    def failed(self, checks: frozenset) -> bool:
        """Whether any of `checks` has been flagged so far."""
        return any(v.check in checks for v in self.violations)

    def flag(self, check: str, bad: np.ndarray, describe: Callable[[int], str]) -> None:
        """Record `check` if any of `bad` is set, describing the first one."""
        idx = np.flatnonzero(bad)
        if idx.size:
            self.violations.append(Violation(check, describe(int(idx[0])), int(idx.size)))
