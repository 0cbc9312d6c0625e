"""The one Python writer of clockbench/1 files (docs/schema.md), by the table of
schema/clockbench-1.json: `recover`, the synthetic big file of bench/analysis.py and the
tests' files all write through it. Types, units and descriptions come from the table, laid out as
the C++ writer (src/io/run_writer.cpp) lays them: root attributes scalar, text as variable-length
UTF-8; /config and /machines/hostname fixed-length NUL-padded strings; every dataset with its
`units` and `description`, every group with its `description`; and the conventions of
docs/schema.md ("Conventions"): each group's dimension scales attached to its datasets, `_FillValue`
(and the HDF5 fill value) where the table has one, kind's CF flags. Without `conventions` it writes
a file as clockbench did before them (the tests' files of the older layout).

A RunData holds what the file holds; what it lacks is left out (a file written before a name was
added), and a value that does not fit the table's type is written as given: tests plant faults so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import h5py
import numpy as np

from clockbench.file.conventions import scale_name
from clockbench.file.schema import (ATTRIBUTE_TYPES, CONFIG, DIMENSION_TYPE, GROUP_DESCRIPTIONS, GROUP_DIMENSIONS,
                                    GROUPS, PathLike)

# The table's types as numpy (little-endian) dtypes.
NUMPY_TYPES = {"i32": "<i4", "i64": "<i8", "u64": "<u8", "u8": "u1", "f64": "<f8"}


@dataclass
class RunData:
    """Everything a run file holds, as plain arrays (a test may change them before writing)."""

    attrs: Dict[str, Any]
    config: Optional[str]
    machines: Dict[str, np.ndarray]
    events: Dict[str, np.ndarray]
    network: Dict[str, np.ndarray]


def write_run(path: PathLike, data: RunData, recovered: Optional[str] = None, exclusive: bool = False,
              conventions: bool = True) -> PathLike:
    """Writes `data` to `path` (replacing it, or only if it does not exist with `exclusive`).
    `recovered`: "journaled" or "unjournaled" (a journal before CBJRNL03) for a recovered file,
    whose columns carry the table's recovered descriptions. `conventions`: False leaves out the
    dimension scales, fill values and flags (a file as written before them)."""
    with h5py.File(path, "x" if exclusive else "w") as f:
        for key, value in data.attrs.items():
            _attribute(f, key, value)
        if data.config is not None:
            text = data.config.encode()
            d = f.create_dataset(CONFIG.name, data=text, dtype=h5py.string_dtype("ascii", max(1, len(text))))
            _describe(d, CONFIG.units, CONFIG.description)
        for group, table in (("machines", data.machines), ("events", data.events), ("network", data.network)):
            g = f.create_group(group)
            _text(g, "description", GROUP_DESCRIPTIONS[group])
            scales = _scales(g, group, table) if conventions else []
            for name, values in table.items():
                _column(g, group, name, values, recovered, conventions, scales)
    return path


def _scales(g: h5py.Group, group: str, table: Dict[str, np.ndarray]) -> List[h5py.Dataset]:
    """The group's dimension scales, sized by its first dataset (its rows, and columns in /network):
    netCDF dimensions without a variable, never written, so they take no room."""
    shape = np.shape(next(iter(table.values()), ()))
    out = []
    for name, size in zip(GROUP_DIMENSIONS[group], shape):
        scale = g.create_dataset(name, shape=(size,), dtype=NUMPY_TYPES[DIMENSION_TYPE])
        scale.make_scale(scale_name(size))
        out.append(scale)
    return out


def _text(obj: Any, name: str, value: str) -> None:
    obj.attrs.create(name, value, dtype=h5py.string_dtype("utf-8"))


def _describe(d: h5py.Dataset, units: str, description: str) -> None:
    _text(d, "units", units)
    _text(d, "description", description)


def _attribute(f: h5py.File, key: str, value: Any) -> None:
    kind = ATTRIBUTE_TYPES.get(key)
    is_text = isinstance(value, str)
    if kind == "str" and is_text:
        _text(f, key, value)
    elif kind in NUMPY_TYPES and not is_text and np.ndim(value) == 0:
        f.attrs.create(key, value, dtype=NUMPY_TYPES[kind])
    else:  # not in the table, or planted with another type
        f.attrs[key] = value


def _column(g: h5py.Group, group: str, name: str, values: Any, recovered: Optional[str], conventions: bool,
            scales: List[h5py.Dataset]) -> None:
    column = GROUPS[group].get(name)
    if column is None:  # not in the table: as given
        _describe(g.create_dataset(name, data=np.asarray(values)), "1", f"{name} (not in the clockbench/1 table)")
        return
    if column.type == "str":
        text = [v if isinstance(v, bytes) else str(v).encode() for v in np.asarray(values, dtype=object)]
        data = np.array(text, dtype=f"S{max([1] + [len(t) for t in text])}")
    else:
        data = np.asarray(values, dtype=NUMPY_TYPES[column.type])
    fill = column.fill_value if conventions and data.dtype.kind in "iu" else None
    d = g.create_dataset(name, data=data, fillvalue=fill)
    _describe(d, column.units, column.description_in(recovered))
    if fill is not None:
        d.attrs.create("_FillValue", fill, dtype=data.dtype)
    if conventions and column.flag_meanings and data.dtype.kind in "iu":
        d.attrs.create("flag_values", np.arange(len(column.flag_meanings)), dtype=data.dtype)
        _text(d, "flag_meanings", " ".join(column.flag_meanings))
    for axis, scale in enumerate(scales[:data.ndim]):
        d.dims[axis].attach_scale(scale)


def publish(partial: PathLike, output: PathLike) -> None:
    """Makes a finished partial file the output: readable by all (as the C++ writer's), in one rename."""
    os.chmod(partial, 0o644)
    os.replace(partial, output)
