"""The netCDF-4/CF conventions of a run file (docs/schema.md, "Conventions"): each group's dimension
scales, `_FillValue` where a value means none, kind's CF flags, the build's provenance. A file
written before them lacks them and is valid; `verify` checks each where the file has it, against
the table (schema/clockbench-1.json), and the Python writer lays them out by the same table."""

from __future__ import annotations

from typing import List

import numpy as np

from clockbench.file.checks import Checker
from clockbench.file.layout import DatasetLayout
from clockbench.file.schema import DIMENSION_WITHOUT_VARIABLE, GROUP_DIMENSIONS, GROUPS, PROVENANCE_ATTRS, Run


def scale_name(size: int) -> str:
    """The NAME of a dimension scale that is a netCDF dimension without a variable, as netCDF-4 writes it."""
    return f"{DIMENSION_WITHOUT_VARIABLE}{size:10d}"


def _group_sizes(run: Run, group: str) -> List[int]:
    """The sizes of a group's dimensions, from what the file holds."""
    return {"machines": [run.n_machines], "events": [run.n_events],
            "network": [run.n_machines, run.n_machines]}[group]


def check_conventions(c: Checker, run: Run) -> None:
    """Every convention the file has, as the table has it; a file without them passes."""
    _check_scales(c, run)
    _check_fill_values(c, run)
    _check_flags(c, run)
    _check_provenance(c, run)


def _check_scales(c: Checker, run: Run) -> None:
    problems: List[str] = []
    for group, dims in GROUP_DIMENSIONS.items():
        entries = {path.split("/", 1)[1]: d for path, d in run.layout.items() if path.startswith(group + "/")}
        columns = {name: d for name, d in entries.items() if name in GROUPS[group]}
        if not any(name in entries for name in dims) and not any(any(d.scales) for d in columns.values()):
            continue  # a file written before the conventions
        for dim, size in zip(dims, _group_sizes(run, group)):
            scale = entries.get(dim)
            where = f"/{group}/{dim}"
            if scale is None:
                problems.append(f"{where} missing, where the group has other dimension scales")
            elif not scale.is_scale:
                problems.append(f"{where} is not a dimension scale (no CLASS DIMENSION_SCALE)")
            elif scale.shape != (size,):
                problems.append(f"{where} has shape {scale.shape}, but its axis of the group has {size} elements")
            elif scale.scale_name != scale_name(size):
                problems.append(f"{where} NAME is {scale.scale_name!r}, expected {scale_name(size)!r} "
                                "(a netCDF dimension without a variable, then its size)")
        for name, d in columns.items():
            if tuple(d.scales) != tuple((dim,) for dim in dims[:len(d.shape)]):
                problems.append(f"/{group}/{name} has dimension scales {_scales_text(d)}, expected "
                                + ", ".join(dims[:len(d.shape)]) + " (one per axis)")
    c.flag("dimension-scales", np.ones(len(problems), dtype=bool), lambda i: problems[i])


def _scales_text(d: DatasetLayout) -> str:
    return "(" + "; ".join(",".join(s) or "none" for s in d.scales) + ")"


def _check_fill_values(c: Checker, run: Run) -> None:
    problems: List[str] = []
    for path, d in run.layout.items():
        group, name = path.split("/", 1)
        column = GROUPS[group].get(name)
        if d.fill_attr is None:
            continue
        value, dtype = d.fill_attr
        if column is None or column.fill_value is None:
            problems.append(f"/{path} has a _FillValue ({value!r}), but the table gives it none")
        elif dtype != d.dtype or value != column.fill_value:
            problems.append(f"/{path} _FillValue is {value!r} ({dtype}), expected {column.fill_value} ({d.dtype}, "
                            "the column's type)")
        elif d.fill_value != column.fill_value:
            problems.append(f"/{path} has the HDF5 fill value {d.fill_value!r}, but _FillValue {value!r}")
    c.flag("fill-value", np.ones(len(problems), dtype=bool), lambda i: problems[i])


def _check_flags(c: Checker, run: Run) -> None:
    problems: List[str] = []
    for path, d in run.layout.items():
        if d.flag_values is None and d.flag_meanings is None:
            continue
        group, name = path.split("/", 1)
        column = GROUPS[group].get(name)
        words = column.flag_meanings if column else ()
        if not words:
            problems.append(f"/{path} has CF flags, but the table gives it none")
            continue
        want_values, want_meanings = tuple(range(len(words))), " ".join(words)
        if d.flag_values is None or d.flag_meanings is None:
            problems.append(f"/{path} has " + ("flag_meanings without flag_values" if d.flag_values is None
                                               else "flag_values without flag_meanings"))
        elif d.flag_values[0] != want_values or d.flag_values[1] != d.dtype:
            problems.append(f"/{path} flag_values are {list(d.flag_values[0])} ({d.flag_values[1]}), expected "
                            f"{list(want_values)} ({d.dtype}, the column's type)")
        elif d.flag_meanings != want_meanings:
            problems.append(f"/{path} flag_meanings are {d.flag_meanings!r}, expected {want_meanings!r}")
    c.flag("flags", np.ones(len(problems), dtype=bool), lambda i: problems[i])


def _check_provenance(c: Checker, run: Run) -> None:
    present = [a for a in PROVENANCE_ATTRS if a in run.attrs]
    problems = [f"root attribute {a} is {run.attrs[a]!r}, expected text" for a in present
                if not isinstance(run.attrs[a], str)]
    if present and len(present) < len(PROVENANCE_ATTRS):
        lacking = [a for a in PROVENANCE_ATTRS if a not in run.attrs]
        problems.append(f"the build's provenance is incomplete: {', '.join(present)} without {', '.join(lacking)}")
    c.flag("provenance", np.ones(len(problems), dtype=bool), lambda i: problems[i])
