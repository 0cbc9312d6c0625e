"""What a run file declares about its datasets beyond their values: dimension scales, fill values,
CF flags (docs/schema.md, "Conventions"), read once with the file so that `verify` checks them
without opening it again. Plain facts, no judgement: conventions.py checks them against the table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

import h5py
import numpy as np


@dataclass(frozen=True)
class DatasetLayout:
    """One dataset of a group, as HDF5 describes it."""

    shape: Tuple[int, ...]
    dtype: str                                # numpy's name of its type, e.g. "int32"
    scales: Tuple[Tuple[str, ...], ...]       # per axis, the names of the dimension scales attached
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


def _attached(ds: h5py.Dataset) -> Tuple[Tuple[str, ...], ...]:
    if "DIMENSION_LIST" not in ds.attrs:
        return tuple(() for _ in ds.shape)
    return tuple(tuple(s.name.rsplit("/", 1)[-1] for s in ds.dims[axis].values()) for axis in range(ds.ndim))


def dataset_layout(ds: h5py.Dataset) -> DatasetLayout:
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
        shape=tuple(ds.shape), dtype=str(ds.dtype), scales=_attached(ds), is_scale=is_scale,
        scale_name=_text(a["NAME"]) if is_scale and "NAME" in a else None, fill_attr=fill_attr,
        fill_value=fill.item() if isinstance(fill, np.generic) else fill, flag_values=flag_values,
        flag_meanings=_text(a["flag_meanings"]) if "flag_meanings" in a else None)


def read_layout(f: h5py.File, groups: Tuple[str, ...]) -> Layout:
    """The layout of every dataset directly in `groups` (those the file has)."""
    out: Layout = {}
    for group in groups:
        g = f.get(group)
        if not isinstance(g, h5py.Group):
            continue
        for name, obj in g.items():
            if isinstance(obj, h5py.Dataset):
                out[f"{group}/{name}"] = dataset_layout(obj)
    return out
