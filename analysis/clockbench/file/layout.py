"""What a run file declares about its datasets beyond their values: dimension scales, fill values,
CF flags (docs/schema.md, "Conventions"), read once with the file so that `verify` checks them
without opening it again. Plain facts, no judgement: conventions.py checks them against the table.
Which scales a dataset has is asked of HDF5 (H5DSis_attached, H5DSget_num_scales) for the scales the
table names: the analysis itself follows no object reference of a file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence, Tuple

import h5py
import h5py.h5ds
import numpy as np


@dataclass(frozen=True)
class DatasetLayout:
    """One dataset of a group, as HDF5 describes it."""

    shape: Tuple[int, ...]
    dtype: str                                # numpy's name of its type, e.g. "int32"
    scales: Tuple[Tuple[str, ...], ...]       # per axis, the table's scales attached ("?": any other)
    is_scale: bool = False                    # CLASS = DIMENSION_SCALE
    scale_name: Optional[str] = None          # a scale's NAME attribute
    fill_attr: Optional[Tuple[Any, str]] = None        # (_FillValue, its type) if it has one
    fill_value: Any = None                    # the HDF5 fill value of its creation
    flag_values: Optional[Tuple[Tuple[Any, ...], str]] = None  # (values, their type) if it has them
    flag_meanings: Optional[str] = None


# "events/peer" -> its layout, for every dataset of the file's groups.
Layout = Dict[str, DatasetLayout]


def _text(value: Any) -> str:
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray) and value.size == 1:
        return _text(value.reshape(()).item())
    return str(value)


def _attached(ds: h5py.Dataset, scales: Sequence[h5py.Dataset]) -> Tuple[Tuple[str, ...], ...]:
    if "DIMENSION_LIST" not in ds.attrs:
        return tuple(() for _ in ds.shape)
    out = []
    for axis in range(ds.ndim):
        names = [s.name.rsplit("/", 1)[-1] for s in scales if h5py.h5ds.is_attached(ds.id, s.id, axis)]
        out.append(tuple(names + ["?"] * max(0, h5py.h5ds.get_num_scales(ds.id, axis) - len(names))))
    return tuple(out)


def dataset_layout(ds: h5py.Dataset, scales: Sequence[h5py.Dataset] = ()) -> DatasetLayout:
    """`scales`: the group's dimension scales the table names (those the file has)."""
    a = ds.attrs
    fill_attr = None
    if "_FillValue" in a:
        raw = np.asarray(a["_FillValue"])
        fill_attr = (raw.reshape(-1)[0].item() if raw.size == 1 else tuple(raw.reshape(-1).tolist()), str(raw.dtype))
    flag_values = None
    if "flag_values" in a:
        raw = np.asarray(a["flag_values"])
        flag_values = (tuple(raw.reshape(-1).tolist()), str(raw.dtype))
    is_scale = _text(a.get("CLASS", b"")) == "DIMENSION_SCALE"
    fill = ds.fillvalue
    return DatasetLayout(
        shape=tuple(ds.shape), dtype=str(ds.dtype), scales=_attached(ds, scales), is_scale=is_scale,
        scale_name=_text(a["NAME"]) if is_scale and "NAME" in a else None, fill_attr=fill_attr,
        fill_value=fill.item() if isinstance(fill, np.generic) else fill, flag_values=flag_values,
        flag_meanings=_text(a["flag_meanings"]) if "flag_meanings" in a else None)


def read_layout(f: h5py.File, dimensions: Dict[str, Tuple[str, ...]]) -> Layout:
    """The layout of every dataset directly in the groups of `dimensions` (group: the names of its
    dimension scales), those the file has."""
    out: Layout = {}
    for group, names in dimensions.items():
        g = f.get(group)
        if not isinstance(g, h5py.Group):
            continue
        scales = [g[n] for n in names if isinstance(g.get(n), h5py.Dataset) and h5py.h5ds.is_scale(g[n].id)]
        for name, obj in g.items():
            if isinstance(obj, h5py.Dataset):
                out[f"{group}/{name}"] = dataset_layout(obj, scales)
    return out
