"""The clockbench/1 file contract (required names) and a validating loader."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar, Union

import h5py
import numpy as np

from clockbench.file import share
from clockbench.file.layout import Layout, read_layout

PathLike = Union[str, "os.PathLike[str]"]
T = TypeVar("T")

# The file format's one definition (docs/schema.md), shared with the C++ writer and the docs.
TABLE_NAME = "clockbench-1.json"


def table_candidates() -> List[Path]:
    """Where the table is looked for, in order: beside this module (an installed package that ships
    it), then where share.py finds the project's data (the checkout's schema/, an installation's
    share/clockbench/schema/)."""
    here = Path(__file__).resolve().parent / TABLE_NAME
    return [here] + [p for p in share.candidates("schema/" + TABLE_NAME) if p != here]


def _find_table() -> Path:
    for path in table_candidates():
        if path.is_file():
            return path
    raise FileNotFoundError(f"the file format's table {TABLE_NAME} is in none of: "
                            + ", ".join(map(str, table_candidates())))


TABLE_PATH = _find_table()


@dataclass(frozen=True)
class Column:
    """One dataset of the file: a column of /machines or /events, a matrix of /network, /config."""

    group: str  # "machines", "events", "network", or "" for /config
    name: str
    type: str   # str, i32, i64, u64, u8, f64 (little-endian)
    units: str
    description: str
    added: Optional[str] = None  # "model" or "clock": files written before lack it
    if_absent: Any = None        # the value read in its place (a NaN for f64 when the table says null)
    recovered: Optional[str] = None              # a recovered file's description, if it differs
    recovered_unjournaled: Optional[str] = None  # ... from a journal before CBJRNL03
    note: str = ""               # more for docs/schema.md
    fill_value: Optional[int] = None     # its _FillValue (and HDF5 fill value): the value meaning none
    flag_meanings: Tuple[str, ...] = ()  # CF flag_meanings of the values 0, 1, ... (flag_values)

    @property
    def path(self) -> str:
        return f"{self.group}/{self.name}" if self.group else self.name

    @property
    def value_class(self) -> str:
        """"i" integer, "f" float, "s" string: what a reader accepts (a wider writer still reads)."""
        return {"str": "s", "f64": "f"}.get(self.type, "i")

    def description_in(self, recovered: Optional[str] = None) -> str:
        """The `description` attribute: in a written file, or a recovered one ("journaled", or
        "unjournaled" from a journal before CBJRNL03)."""
        if recovered == "unjournaled" and self.recovered_unjournaled:
            return self.recovered_unjournaled
        if recovered and self.recovered:
            return self.recovered
        return self.description


@dataclass(frozen=True)
class Attribute:
    """One root attribute."""

    name: str
    type: str
    description: str
    required: bool
    added: Optional[str] = None
    if_absent: Any = None
    recovered_absent: bool = False  # not in a recovered file: no journal records it


def _absent(entry: Dict[str, Any]) -> Any:
    value = entry.get("if_absent")
    return math.nan if value is None and entry["type"] == "f64" else value


def load_table(path: PathLike = None) -> Dict[str, Any]:
    """schema/clockbench-1.json as read (the CLI and tests use the parsed forms below)."""
    with open(path or TABLE_PATH, encoding="utf-8") as f:
        return json.load(f)


def _parse(table: Dict[str, Any]) -> Tuple[Tuple[Attribute, ...], Column, Dict[str, Dict[str, Column]],
                                           Dict[str, str]]:
    attrs = tuple(Attribute(a["name"], a["type"], a["description"], bool(a.get("required")), a.get("added"),
                            _absent(a) if "added" in a else None, a.get("recovered") == "absent")
                  for a in table["root_attributes"])
    c = table["config"]
    config = Column("", c["name"], c["type"], c["units"], c["description"], note=c.get("note", ""))
    groups = {g["name"]: {c["name"]: Column(g["name"], c["name"], c["type"], c["units"], c["description"],
                                            c.get("added"), _absent(c) if "added" in c else None,
                                            c.get("recovered"), c.get("recovered_unjournaled"), c.get("note", ""),
                                            c.get("fill_value"), tuple(c.get("flag_meanings", ())))
                          for c in g["columns"]} for g in table["groups"]}
    return attrs, config, groups, {g["name"]: g["description"] for g in table["groups"]}


TABLE = load_table()
SCHEMA: str = TABLE["schema"]  # "clockbench/1"
ATTRIBUTES, CONFIG, GROUPS, GROUP_DESCRIPTIONS = _parse(TABLE)
ATTRIBUTE_TYPES = {a.name: a.type for a in ATTRIBUTES}

# Root attributes every clockbench/1 file must carry.
ROOT_ATTRS = tuple(a.name for a in ATTRIBUTES if a.required)
# Column name -> value class: "i" integer, "f" float, "s" string.  Classes,
# not exact widths, so a writer that widens a column still reads.
MACHINE_FIELDS = {c.name: c.value_class for c in GROUPS["machines"].values() if not c.added}
EVENT_FIELDS = {c.name: c.value_class for c in GROUPS["events"].values() if not c.added}
# Added with the model-time rules (docs/model.md). A file written before them lacks them and is
# read as if it held the value given here (docs/schema.md); Run.missing names what it lacked.
# Absent /events columns stay absent (a column of fillers would cost memory and say nothing).
OPTIONAL_ROOT_ATTRS: Dict[str, Any] = {a.name: a.if_absent for a in ATTRIBUTES if a.added == "model"}
OPTIONAL_MACHINE_FIELDS: Dict[str, Tuple[str, float]] = {  # name: (value class, value if absent)
    c.name: (c.value_class, c.if_absent) for c in GROUPS["machines"].values() if c.added == "model"}
OPTIONAL_EVENT_FIELDS = {c.name: c.value_class for c in GROUPS["events"].values() if c.added == "model"}
OPTIONAL_NAMES = (tuple(OPTIONAL_ROOT_ATTRS) + tuple(f"machines/{k}" for k in OPTIONAL_MACHINE_FIELDS)
                  + tuple(f"events/{k}" for k in OPTIONAL_EVENT_FIELDS))
# Added with the end-of-run clock offset estimate (docs/model.md, "God's-eye time"), written
# together; a file without them is read as having no end estimate (t on the start offset).
CLOCK_MACHINE_FIELDS: Dict[str, Tuple[str, float]] = {
    c.name: (c.value_class, c.if_absent) for c in GROUPS["machines"].values() if c.added == "clock"}
CLOCK_NAMES = tuple(f"machines/{k}" for k in CLOCK_MACHINE_FIELDS)
_ALL_OPTIONAL_MACHINE_FIELDS = {**OPTIONAL_MACHINE_FIELDS, **CLOCK_MACHINE_FIELDS}
NETWORK_DATASETS = tuple(GROUPS["network"])
# The conventions (docs/schema.md, "Conventions"): each group's dimensions, one per axis of its
# datasets, stored as netCDF-4 stores a dimension without a variable (NAME = this text, then the size).
GROUP_DIMENSIONS: Dict[str, Tuple[str, ...]] = {g["name"]: tuple(g["dimensions"]) for g in TABLE["groups"]}
DIMENSION_WITHOUT_VARIABLE: str = TABLE["conventions"]["dimension_name"]
DIMENSION_TYPE: str = TABLE["conventions"]["dimension_type"]
# The build's provenance: root attributes a recovered file lacks (but a simulation's platform).
PROVENANCE_ATTRS = tuple(a.name for a in ATTRIBUTES if a.recovered_absent and a.added != "simulation")
CONFIG_DATASET = CONFIG.name
DATASET_ATTRS = ("units", "description")

# Event kinds, as stored in /events/kind; their names are its flag_meanings in the table.
INTERNAL, SEND_ONE, SEND_ALL, RECEIVE = 0, 1, 2, 3
KIND_NAMES: Tuple[str, ...] = GROUPS["events"]["kind"].flag_meanings

# `timing` of a run whose loop kept up with the model, and the prefix of one that did not.
TIMING_OK, TIMING_DEGRADED = "ok", "degraded"



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
    # Optional names (OPTIONAL_*) the file lacked: "phase_mode", "machines/phase_s",
    # "events/msg_arrival", ...; their values above are the defaults.
    missing: Tuple[str, ...] = ()
    # Dimension scales, fill values and flags of every dataset of the groups (docs/schema.md,
    # "Conventions"), as the file declares them; verify checks them (conventions.py).
    layout: Layout = field(default_factory=dict)

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

    @property
    def flat_out(self) -> bool:
        return int(_scalar(self.attrs.get("flat_out", 0))) == 1

    @property
    def recovered(self) -> bool:
        return int(_scalar(self.attrs.get("recovered", 0))) == 1

    @property
    def degraded(self) -> bool:
        return str(self.attrs["timing"]).startswith(TIMING_DEGRADED)


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
    for key, default in OPTIONAL_ROOT_ATTRS.items():
        if key not in attrs:
            attrs[key] = default
        elif isinstance(default, str) != isinstance(attrs[key], str):
            raise SchemaError(name, f"root attribute '{key}' is not a "
                                    + ("string" if isinstance(default, str) else "number"))
        elif not isinstance(default, str):
            try:
                attrs[key] = type(default)(_scalar(attrs[key]))
            except (ValueError, TypeError):
                raise SchemaError(name, f"root attribute '{key}' is not a number") from None
    return attrs


def _check_datasets(name: str, f: h5py.File, n: int) -> List[str]:
    """All required datasets present, and every present one typed, shaped and documented;
    returns the optional ones the file lacks."""
    wanted: List[tuple] = [(CONFIG_DATASET, "s", ())]
    wanted += [(f"machines/{k}", c, (n,)) for k, c in MACHINE_FIELDS.items()]
    wanted += [(f"events/{k}", c, None) for k, c in EVENT_FIELDS.items()]
    wanted += [(f"network/{k}", "i", (n, n)) for k in NETWORK_DATASETS]
    missing = [p for p, _, _ in wanted if not isinstance(f.get(p), h5py.Dataset)]
    if missing:
        raise SchemaError(name, "missing dataset(s): "
                          + ", ".join("/" + p for p in missing))
    optional = [(f"machines/{k}", c, (n,)) for k, (c, _) in _ALL_OPTIONAL_MACHINE_FIELDS.items()]
    optional += [(f"events/{k}", c, None) for k, c in OPTIONAL_EVENT_FIELDS.items()]
    lacking_optional = [p for p, _, _ in optional if not isinstance(f.get(p), h5py.Dataset)]
    wanted += [w for w in optional if w[0] not in lacking_optional]
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
    return lacking_optional


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
    lacking = _check_datasets(name, f, n)
    machines = {k: _column(f["machines"][k]) for k in MACHINE_FIELDS}
    for k, (cls, default) in _ALL_OPTIONAL_MACHINE_FIELDS.items():
        dtype = np.int64 if cls == "i" else np.float64
        machines[k] = (np.full(n, default, dtype) if f"machines/{k}" in lacking
                       else _column(f["machines"][k]))
    events = {k: _column(f["events"][k]) for k in EVENT_FIELDS}
    events.update({k: _column(f["events"][k]) for k in OPTIONAL_EVENT_FIELDS
                   if f"events/{k}" not in lacking})
    return Run(
        path=name,
        attrs=attrs,
        config=_text(f[CONFIG_DATASET][()]),
        machines=machines,
        events=events,
        network={k: _column(f["network"][k]) for k in NETWORK_DATASETS},
        missing=tuple([k for k in OPTIONAL_ROOT_ATTRS if k not in f.attrs] + lacking),
        layout=read_layout(f, GROUP_DIMENSIONS),
    )
