"""clockbench analysis: read, verify and explain clockbench HDF5 run files.

The one file format it reads, clockbench/1, is defined in schema/clockbench-1.json (docs/schema.md;
the package carries a copy) and loaded by clockbench.file.schema (SCHEMA, the tables of names).

The API, in plain Python and numpy (pandas and xarray are not needed; the README shows both):

    import clockbench
    run = clockbench.open_run("trial5.h5")    # a validated clockbench/1 file (SchemaError if not)
    run.attrs["seed"], run.n_machines, run.completed, run.config
    events = clockbench.columns(run)          # {"rank": array, "tick": ..., "t": ..., "lamport": ...}
    machines = clockbench.columns(run, "machines")   # one entry per machine (rank order)
    s = clockbench.summary(run)               # what `clockbench-analyze summary` says, as plain data
    s["machines"][0]["achieved_hz"], s["check"]["ok"]
    t = clockbench.prediction([1, 2, 6])      # the mean-field theory, as `theory --format json`
    t = clockbench.prediction(run=run)        # ... from a run's rates, p_internal and topology

Plain data: dicts, lists, str, int, float, bool and None (NaN becomes None), as `json.dumps` takes
them; the command line's `--format json` prints the same. Importing the package is cheap: each
function imports what it needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Union

if TYPE_CHECKING:  # pragma: no cover
    import os

    import numpy as np

    from clockbench.file.schema import Run

# The project's version (CMakeLists.txt's project(VERSION), which clockbench --version prints);
# pyproject.toml reads it from here.
__version__ = "0.1.0"

__all__ = ["__version__", "open_run", "columns", "summary", "prediction", "scaling", "Run", "SchemaError",
           "KIND_NAMES", "SCHEMA"]

# Names that clockbench.file.schema defines, loaded only when asked for.
_SCHEMA_NAMES = ("Run", "SchemaError", "KIND_NAMES", "SCHEMA")

RunOrPath = Union["Run", str, "os.PathLike[str]"]


def __getattr__(name: str) -> Any:
    if name in _SCHEMA_NAMES:
        from clockbench.file import schema
        return getattr(schema, name)
    raise AttributeError(f"module 'clockbench' has no attribute {name!r}")


def open_run(path: Union[str, "os.PathLike[str]"]) -> "Run":
    """Load and validate a clockbench/1 file. The Run has `attrs` (root attributes), `config` (the
    /config text that reruns it), and `machines`, `events` and `network`: dicts of whole columns as
    numpy arrays (integers widened to int64, floats to float64). Raises clockbench.SchemaError (one
    line: the file and what is wrong) for anything that is not a readable clockbench/1 run."""
    from clockbench.file.schema import open_run as _open_run
    return _open_run(path)


def _run(run: RunOrPath) -> "Run":
    from clockbench.file.schema import Run as _Run
    return run if isinstance(run, _Run) else open_run(run)


def columns(run: RunOrPath, group: str = "events") -> Dict[str, "np.ndarray"]:
    """A group's columns as {name: numpy array}, all of one length: "events" (one row per event,
    ordered by rank then tick; kind indexes KIND_NAMES), "machines" (one per machine), or
    "network" (N x N matrices: adjacency, sent, received). Units and meanings: docs/schema.md.
    `run`: a Run or a file name. `pandas.DataFrame(columns(run))` makes a table of it."""
    if group not in ("events", "machines", "network"):
        raise ValueError(f"unknown group {group!r} (events, machines or network)")
    return dict(getattr(_run(run), group))


def summary(run: RunOrPath) -> Dict[str, Any]:
    """Everything `clockbench-analyze summary` prints of a run, as plain data: "run" (machines,
    topology, seed, ...), "model" (phases, latency, timing verdict), "machines" (the per-machine
    table: one dict per machine, the text table's column names), "drift", "theory" (the mean-field
    prediction from the run's rates), "finite" (queues expected over the run's length), "checks"
    (measured against predicted, each with its tolerance and "ok") and "check" (passed, total, ok).
    Raises ValueError for a run without events."""
    from clockbench.documents.summary import summary_data, summary_parts
    loaded = _run(run)
    if loaded.n_events == 0:
        raise ValueError(f"{loaded.path}: the run has no events")
    return summary_data(summary_parts(loaded))


def prediction(rates: Optional[Sequence[float]] = None, p_internal: float = 0.7, topology: str = "full",
               run: Optional[RunOrPath] = None, seed: Optional[int] = None) -> Dict[str, Any]:
    """The mean-field prediction (docs/theory.md) as plain data, as `theory --format json` gives it:
    "rows", one per machine with rate_hz, lambda_hz (arrivals per model second), rho, stable,
    dQ/dt (queue growth), sends_hz and the event mix (internal, send_one, send_all, receive). From
    `rates`, `p_internal` and `topology` (random:K: with the run `seed` its graph is drawn from), or
    from a run's (`run`: a Run or a file name)."""
    if (rates is None) == (run is None):
        raise ValueError("give rates or run, not both")
    from clockbench.theory.mean_field import predict, prediction_data
    if run is not None:
        from clockbench.measure.metrics import compute
        from clockbench.theory.compare import theory_for
        loaded = _run(run)
        return prediction_data(theory_for(compute(loaded), loaded.network["adjacency"]))
    from clockbench.theory.mean_field import adjacency
    return prediction_data(predict(list(rates), p_internal, topology, adj=adjacency(topology, len(rates), seed)))


def scaling(files: Sequence[Union[str, "os.PathLike[str]"]]) -> List[Dict[str, Any]]:
    """The scaling study's table (`scaling --format json`): one record per run file, sorted by
    topology then N, each measurement beside the theory's (_th: at the run's length, _mf: mean field)."""
    from clockbench.documents.scaling import scaling_records, scaling_row
    rows = sorted((scaling_row(str(f)) for f in files), key=lambda r: (r.topology, r.n, r.seed, r.path))
    return scaling_records(rows)
