"""The clockbench/1 file contract (required names) and a validating loader."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, TypeVar, Union

import h5py
import numpy as np

from . import SCHEMA

# Root attributes every clockbench/1 file must carry (docs/schema.md).
ROOT_ATTRS = (
    "schema", "clockbench_version", "git_sha", "created_utc", "command_line",
    "mpi_library_version", "hdf5_version", "n_machines", "duration_s",
    "speedup", "seed", "p_internal", "topology", "completed", "stop_reason",
    "end_s",
)

# Column name -> value class: "i" integer, "f" float, "s" string.  Classes,
# not exact widths, so a writer that widens a column still reads.
MACHINE_FIELDS = {
    "rank": "i", "hostname": "s", "pid": "i", "rate_hz": "f",
    "achieved_hz": "f", "ticks": "i", "sent": "i", "received": "i",
    "left_in_queue": "i", "clock_offset_s": "f",
    "clock_offset_uncertainty_s": "f", "lateness_p50_s": "f",
    "lateness_p99_s": "f", "lateness_max_s": "f",
}
EVENT_FIELDS = {
    "rank": "i", "tick": "i", "t": "f", "kind": "i", "lamport": "i",
    "jump": "i", "queue": "i", "peer": "i", "msg_tick": "i", "msg_clock": "i",
}
NETWORK_DATASETS = ("adjacency", "sent", "received", "left_in_queue")
CONFIG_DATASET = "config"
DATASET_ATTRS = ("units", "description")

# Event kinds, as stored in /events/kind.
INTERNAL, SEND_ONE, SEND_ALL, RECEIVE = 0, 1, 2, 3
KIND_NAMES = ("internal", "send-one", "send-all", "receive")

PathLike = Union[str, "os.PathLike[str]"]
T = TypeVar("T")


class SchemaError(Exception):
    """A file that is not a readable, well-formed clockbench/1 run."""

    def __init__(self, path: str, problem: str) -> None:
        # One line, always: the CLI prints it as a single error line.
        self.path = path
        self.problem = " ".join(str(problem).split())
        super().__init__(f"{path}: {self.problem}")


@dataclass
class Run:
    """A loaded run: root attributes and whole columns as numpy arrays.

    Integer columns are widened to int64 and floats to float64 so that
    analysis code never overflows a u8/i32 column in arithmetic.
    """

    path: str
    attrs: Dict[str, Any]
    config: str
    machines: Dict[str, np.ndarray]
    events: Dict[str, np.ndarray]
    network: Dict[str, np.ndarray]

    @property
    def n_machines(self) -> int:
        return int(self.attrs["n_machines"])

    @property
    def n_events(self) -> int:
        return int(self.events["rank"].shape[0])

    @property
    def completed(self) -> bool:
        return int(self.attrs["completed"]) == 1

    @property
    def stop_reason(self) -> str:
        return str(self.attrs["stop_reason"])


def open_run(path: PathLike) -> Run:
    """Load and validate a clockbench/1 file; raise SchemaError if it is not one."""
    return _read(path, _load)


def read_config_text(path: PathLike) -> str:
    """The /config text of a clockbench/1 file: `clockbench --config` reruns the experiment."""
    def config(name: str, f: h5py.File) -> str:
        _check_root(name, f)
        if CONFIG_DATASET not in f:
            raise SchemaError(name, f"missing dataset /{CONFIG_DATASET}")
        return _text(f[CONFIG_DATASET][()])
    return _read(path, config)


def _read(path: PathLike, reader: Callable[[str, h5py.File], T]) -> T:
    """Opens `path` read-only and applies `reader`, turning every failure into a SchemaError."""
    name = os.fspath(path)
    if not os.path.exists(name):
        raise SchemaError(name, "no such file")
    if os.path.isdir(name):
        raise SchemaError(name, "is a directory, not an HDF5 file")
    try:
        if not h5py.is_hdf5(name):
            raise SchemaError(name, "not an HDF5 file")
        with h5py.File(name, "r") as f:
            return reader(name, f)
    except SchemaError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:
        # h5py reports truncated or corrupt files through these; the user
        # needs the reason, not a traceback.
        raise SchemaError(name, f"unreadable HDF5 file ({exc})") from None


def _text(value: Any) -> str:
    """An HDF5 string attribute as str, whether stored fixed or variable length."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _scalar(value: Any) -> Any:
    """A numeric attribute as a Python scalar (C writers may store 1-element arrays)."""
    arr = np.asarray(value)
    if arr.size != 1:
        raise ValueError("not a scalar")
    return arr.reshape(()).item()


def _kind_ok(dtype: np.dtype, want: str) -> bool:
    if want == "s":
        return h5py.check_string_dtype(dtype) is not None or dtype.kind in "SUO"
    if want == "i":
        return dtype.kind in "iu"
    return dtype.kind == "f"


def _check_root(name: str, f: h5py.File) -> Dict[str, Any]:
    # Check `schema` before anything else: a different file type or version
    # must be named as such, not reported as a pile of missing fields.
    if "schema" not in f.attrs:
        raise SchemaError(name, "no root attribute 'schema' (not a clockbench file)")
    found = _text(f.attrs["schema"])
    if found != SCHEMA:
        if found.startswith("clockbench/"):
            raise SchemaError(name, f"unsupported schema version '{found}' "
                                    f"(this tool reads '{SCHEMA}')")
        raise SchemaError(name, f"schema is '{found}', expected '{SCHEMA}' "
                                "(not a clockbench file)")
    missing = [a for a in ROOT_ATTRS if a not in f.attrs]
    if missing:
        raise SchemaError(name, "missing root attribute(s): " + ", ".join(missing))
    attrs: Dict[str, Any] = {}
    for key in f.attrs:
        raw = f.attrs[key]
        is_str = isinstance(raw, (str, bytes, np.bytes_)) or (
            isinstance(raw, np.ndarray) and raw.dtype.kind in "SUO")
        attrs[key] = _text(raw) if is_str else raw
    for key in ("n_machines", "completed"):
        try:
            attrs[key] = int(_scalar(attrs[key]))
        except (ValueError, TypeError):
            raise SchemaError(name, f"root attribute '{key}' is not an integer") from None
    if attrs["n_machines"] < 1:
        raise SchemaError(name, f"n_machines is {attrs['n_machines']}, must be >= 1")
    if attrs["completed"] not in (0, 1):
        raise SchemaError(name, f"completed is {attrs['completed']}, must be 0 or 1")
    return attrs


def _check_datasets(name: str, f: h5py.File, n: int) -> None:
    """All required datasets present, typed, shaped and documented."""
    wanted: List[tuple] = [(CONFIG_DATASET, "s", ())]
    wanted += [(f"machines/{k}", c, (n,)) for k, c in MACHINE_FIELDS.items()]
    wanted += [(f"events/{k}", c, None) for k, c in EVENT_FIELDS.items()]
    wanted += [(f"network/{k}", "i", (n, n)) for k in NETWORK_DATASETS]
    missing = [p for p, _, _ in wanted if not isinstance(f.get(p), h5py.Dataset)]
    if missing:
        raise SchemaError(name, "missing dataset(s): "
                          + ", ".join("/" + p for p in missing))
    n_events = None
    for p, cls, shape in wanted:
        ds = f[p]
        if not _kind_ok(ds.dtype, cls):
            want = {"i": "integer", "f": "float", "s": "string"}[cls]
            raise SchemaError(name, f"/{p} has type {ds.dtype}, expected {want}")
        lacking = [a for a in DATASET_ATTRS if a not in ds.attrs]
        if lacking:
            raise SchemaError(name, f"/{p} lacks attribute(s) {', '.join(lacking)}")
        if shape is None:  # an /events column: 1-D, all the same length
            if ds.ndim != 1:
                raise SchemaError(name, f"/{p} has shape {ds.shape}, expected 1-D")
            if n_events is None:
                n_events = ds.shape[0]
            elif ds.shape[0] != n_events:
                raise SchemaError(name, f"/{p} has {ds.shape[0]} rows but "
                                        f"/events/rank has {n_events}")
        elif ds.shape != shape:
            what = "n_machines" if len(shape) == 1 else "n_machines x n_machines"
            raise SchemaError(name, f"/{p} has shape {ds.shape}, expected "
                                    f"{shape} ({what} = {n})")
    if n_events == 0:
        raise SchemaError(name, "no events")


def _column(ds: h5py.Dataset) -> np.ndarray:
    """A whole column in one read, widened to int64/float64 (or str)."""
    if ds.dtype.kind in "iu":
        return ds.astype(np.int64)[()]
    if ds.dtype.kind == "f":
        return ds.astype(np.float64)[()]
    return np.array([_text(v) for v in ds[()]], dtype=object)


def _load(name: str, f: h5py.File) -> Run:
    attrs = _check_root(name, f)
    n = attrs["n_machines"]
    _check_datasets(name, f, n)
    return Run(
        path=name,
        attrs=attrs,
        config=_text(f[CONFIG_DATASET][()]),
        machines={k: _column(f["machines"][k]) for k in MACHINE_FIELDS},
        events={k: _column(f["events"][k]) for k in EVENT_FIELDS},
        network={k: _column(f["network"][k]) for k in NETWORK_DATASETS},
    )
