"""Everything the report and the notebook say about one run, computed once from its file: the
metrics, the theory from the run's parameters, the checks, the histograms and the provenance.
The loaded events are not kept, so many runs (or one big one) fit in memory."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

from clockbench.theory.compare import Check, compare, tally, theory_for
from clockbench.measure.distributions import Distributions, compute_distributions
from clockbench.measure.metrics import RunMetrics, compute
from clockbench.file.schema import Run
from clockbench.theory.mean_field import Prediction

# Root attributes shown as the run's provenance, in this order.
PROVENANCE_ATTRS = ("clockbench_version", "git_sha", "mpi_library_version", "hdf5_version",
                    "command_line", "created_utc", "events_io_mode")


@dataclass
class RunAnalysis:
    """One analysed run. `pred` is None when the theory does not apply (e.g. one machine)."""

    path: str
    attrs: Dict[str, object]
    config: str
    hostnames: List[str]          # one per machine
    n_events: int
    metrics: RunMetrics
    pred: Optional[Prediction]
    checks: List[Check] = field(default_factory=list)
    dists: Optional[Distributions] = None

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def passed(self) -> int:
        return tally(self.checks)[0]

    @property
    def rates(self) -> np.ndarray:
        return np.array([m.rate_hz for m in self.metrics.machines])

    def provenance(self) -> List[List[str]]:
        """(name, value) rows: what built and ran this file, and where."""
        rows = [[k, str(self.attrs[k])] for k in PROVENANCE_ATTRS if k in self.attrs]
        hosts = Counter(self.hostnames)
        rows.append(["hostnames", ", ".join(f"{h} ({c} machine{'s' if c > 1 else ''})"
                                            for h, c in sorted(hosts.items()))])
        return rows


def analyse(run: Run, histograms: bool = True) -> RunAnalysis:
    """Metrics, theory and checks of a loaded run (and its histograms, unless not wanted)."""
    metrics = compute(run)
    try:
        pred: Optional[Prediction] = theory_for(metrics, run.network["adjacency"])
    except ValueError:  # fewer than 2 machines, or no usable rates: nothing to predict
        pred = None
    checks = compare(metrics, pred, run.network["adjacency"]) if pred is not None else []
    return RunAnalysis(path=run.path, attrs=dict(run.attrs), config=run.config,
                       hostnames=[str(h) for h in run.machines["hostname"]], n_events=run.n_events,
                       metrics=metrics, pred=pred, checks=checks,
                       dists=compute_distributions(run) if histograms else None)


def rates_text(rates: np.ndarray) -> str:
    """Rates as a compact list, e.g. '1,2,6'; long lists are summarised."""
    if rates.size > 8:
        return f"{rates.size} rates in {rates.min():g}..{rates.max():g} Hz"
    return ",".join(f"{r:g}" for r in rates)


# The theory's solve is exact to this relative accuracy: a queue grows only where lambda exceeds r
# by more (at rho = 1 exactly the mean field's growth is 0).
SOLVE_TOLERANCE = 1e-9


def growing(pred: Prediction) -> np.ndarray:
    """Per machine, whether the theory says its queue grows: lambda > r strictly."""
    return pred.arrival > pred.rates * (1 + SOLVE_TOLERANCE)


def growing_predicted(a: RunAnalysis) -> List[int]:
    """Machines whose queue the theory says grows without bound (rho > 1 strictly)."""
    return [] if a.pred is None else [int(i) for i in np.flatnonzero(growing(a.pred))]
