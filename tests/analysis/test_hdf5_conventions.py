"""The netCDF-4/CF conventions of the run file (docs/schema.md, "Conventions"): xarray's h5netcdf engine
opens every group of a file clockbench writes (2 ranks, full; 4 ranks, ring, collective I/O) and of a
recovered one as it is, with named dimensions; kind carries CF flags, the -1 columns a _FillValue; the
build's provenance is the build's. A file of the older layout (written so, or stripped of the
conventions) still verifies, and verify reports each planted bad convention by name.

Expectations come from outside the writer: names and values as docs/schema.md spells them (literals
here), the build's CMake cache, /proc/cpuinfo, and h5py's reading of the same datasets."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import h5py
import numpy as np
import pytest
import xarray as xr

from conftest import run_cli
from model_sim import simulate_model
from runs import BIN, result_fields, run
from test_recover import write_journal

from clockbench.file.run_file import write_run
from clockbench.file.schema import open_run
from clockbench.file.verify import verify

DIMENSIONS = {"machines": ("machine",), "events": ("event",), "network": ("sender", "receiver")}
FILLED = {"events/peer", "events/msg_tick", "events/msg_clock", "machines/late_deliveries", "machines/missed_ticks"}
KIND_MEANINGS = "internal send-one send-all receive"
PROVENANCE = ("compiler_id", "compiler_version", "build_type", "build_flags", "cpu_model")
NOT_A_VARIABLE = "This is a netCDF dimension but not a netCDF variable."


def assert_xarray_opens(path: Path, n_machines: int, n_events: int) -> None:
    """Every group opens with engine h5netcdf and no phony_dims, with the table's dimension names and
    the run's sizes, and the same values h5py reads (-1 read as missing where it means none)."""
    want = {"machines": {"machine": n_machines}, "events": {"event": n_events},
            "network": {"sender": n_machines, "receiver": n_machines}}
    with h5py.File(path, "r") as f:
        for group, sizes in want.items():
            with xr.open_dataset(path, group=group, engine="h5netcdf") as ds:
                assert dict(ds.sizes) == sizes, group
                assert set(ds.data_vars) == {k for k in f[group] if k not in DIMENSIONS[group]}, group
                for name, var in ds.data_vars.items():
                    assert var.dims == DIMENSIONS[group][:var.ndim], f"{group}/{name}"
                    raw = f[group][name][()]
                    if f"{group}/{name}" in FILLED:
                        assert np.array_equal(np.isnan(var.values), raw == -1), f"{group}/{name}"
                        assert np.array_equal(var.values[raw != -1], raw[raw != -1]), f"{group}/{name}"
                    elif raw.dtype.kind in "iuf":
                        assert np.array_equal(var.values, raw, equal_nan=True), f"{group}/{name}"
        with xr.open_dataset(path, engine="h5netcdf") as root:
            assert root.attrs["schema"] == "clockbench/1" and "config" in root


def assert_conventions(path: Path) -> None:
    """The conventions' attributes as docs/schema.md states them."""
    with h5py.File(path, "r") as f:
        kind = f["events/kind"]
        assert kind.dtype == np.uint8
        assert kind.attrs["flag_values"].tolist() == [0, 1, 2, 3] and kind.attrs["flag_values"].dtype == np.uint8
        assert kind.attrs["flag_meanings"] == KIND_MEANINGS
        filled = set()
        for group in DIMENSIONS:
            for name, ds in f[group].items():
                if name in DIMENSIONS[group]:
                    assert ds.attrs["CLASS"] == b"DIMENSION_SCALE"
                    assert ds.attrs["NAME"].decode() == f"{NOT_A_VARIABLE}{ds.shape[0]:10d}"
                    continue
                if "_FillValue" in ds.attrs:
                    filled.add(f"{group}/{name}")
                    assert ds.attrs["_FillValue"] == -1 and ds.attrs["_FillValue"].dtype == ds.dtype
                    assert ds.fillvalue == -1
        assert filled == FILLED


def build_facts(binary: Path) -> Dict[str, str]:
    """The provenance of the build `binary` comes from, read from its CMake cache and compiler file."""
    build = binary.resolve().parent
    cache = dict(re.findall(r"^(\w+):\w+=(.*)$", (build / "CMakeCache.txt").read_text(), re.M))
    compiler = next(build.glob("CMakeFiles/*/CMakeCXXCompiler.cmake")).read_text()
    build_type = cache.get("CMAKE_BUILD_TYPE", "")
    flags = " ".join((cache.get("CMAKE_CXX_FLAGS", "") + " "
                      + cache.get(f"CMAKE_CXX_FLAGS_{build_type.upper()}", "") * bool(build_type)).split())
    return {"compiler_id": re.search(r'set\(CMAKE_CXX_COMPILER_ID "([^"]*)"\)', compiler).group(1),
            "compiler_version": re.search(r'set\(CMAKE_CXX_COMPILER_VERSION "([^"]*)"\)', compiler).group(1),
            "build_type": build_type or "none", "build_flags": flags, "cpu_model": cpu_model()}


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and value.strip():
            return value.strip()
    return "unknown"


@pytest.mark.parametrize("np_, extra", [(2, ["--topology", "full"]),
                                        (4, ["--topology", "ring", "--hdf5-io", "collective"])],
                         ids=["np2-full", "np4-ring-collective"])
def test_a_run_file_opens_in_xarray_as_it_is(tmp_path: Path, np_: int, extra: List[str]) -> None:
    out, js = tmp_path / "run.h5", tmp_path / "run.json"
    res = run(np_, ["--duration", 4, "--speedup", 10, "--seed", 11, "-o", out, "--json", js, "-q", *extra], tmp_path)
    assert res.returncode == 0, res.stderr
    n_events = int(result_fields(res.stdout)["events"])
    assert_xarray_opens(out, np_, n_events)
    assert_conventions(out)
    assert verify(open_run(out)).ok
    want = build_facts(BIN)
    with h5py.File(out, "r") as f:
        assert {k: f.attrs[k] for k in PROVENANCE} == want
    assert json.loads(js.read_text())["build"] == want


def test_a_recovered_file_opens_in_xarray_and_has_no_provenance(tmp_path: Path) -> None:
    journal = write_journal(tmp_path / "run.h5.1.journal", simulate_model(rates=(3.0, 4.0, 5.0)), 3)
    out = tmp_path / "recovered.h5"
    assert run_cli("recover", journal, "-o", out).code == 0
    with h5py.File(out, "r") as f:
        n_events = len(f["events/rank"])
        assert not set(PROVENANCE) & set(f.attrs), "no journal records the build"
    assert_xarray_opens(out, 3, n_events)
    assert_conventions(out)
    assert run_cli("verify", out).code == 0


def strip_conventions(path: Path) -> None:
    """What a file written before the conventions lacks: scales, _FillValue and flag attributes, the
    build's provenance (the HDF5 fill value cannot be taken back, and no reader asks for it)."""
    with h5py.File(path, "r+") as f:
        for name in PROVENANCE:
            del f.attrs[name]
        for group, dims in DIMENSIONS.items():
            for name, ds in f[group].items():
                if name in dims:
                    continue
                for axis, dim in enumerate(dims[:ds.ndim]):
                    ds.dims[axis].detach_scale(f[group][dim])
                for attr in ("_FillValue", "flag_values", "flag_meanings"):
                    if attr in ds.attrs:
                        del ds.attrs[attr]
            for dim in dims:
                del f[group][dim]


def test_files_of_the_older_layout_verify(tmp_path: Path) -> None:
    """Written by the Python writer as before the conventions, and a run of clockbench stripped of them:
    both verify; xarray needs phony_dims for them, as before."""
    old = write_run(tmp_path / "old.h5", simulate_model(), conventions=False)
    out = tmp_path / "run.h5"
    res = run(2, ["--duration", 3, "--speedup", 10, "--seed", 5, "-o", out, "-q"], tmp_path)
    assert res.returncode == 0, res.stderr
    strip_conventions(out)
    for path in (old, out):
        with h5py.File(path, "r") as f:
            assert not any("DIMENSION_LIST" in ds.attrs or "_FillValue" in ds.attrs
                           for g in DIMENSIONS for ds in f[g].values())
            assert not set(DIMENSIONS["events"]) & set(f["events"])
        result = verify(open_run(path))
        assert result.ok, [str(v) for v in result.violations]
        assert run_cli("verify", path).code == 0
        with pytest.raises(ValueError, match="phony_dims"):
            xr.open_dataset(path, group="events", engine="h5netcdf").close()
        with xr.open_dataset(path, group="events", engine="h5netcdf", phony_dims="sort") as ds:
            assert ds["lamport"].size == len(h5py.File(path, "r")["events/lamport"])


def _replace_scale(f: h5py.File, group: str, dim: str, size: int, name: str) -> None:
    """The group's scale `dim` replaced by one of `size` elements named `name`, attached as before."""
    columns = [ds for k, ds in f[group].items() if k not in DIMENSIONS[group]]
    axis = DIMENSIONS[group].index(dim)
    for ds in columns:
        ds.dims[axis].detach_scale(f[group][dim])
    del f[group][dim]
    scale = f[group].create_dataset(dim, shape=(size,), dtype="u1")
    scale.make_scale(name)
    for ds in columns:
        ds.dims[axis].attach_scale(scale)


def _wrong_size(f: h5py.File) -> None:
    n = len(f["events/rank"])
    _replace_scale(f, "events", "event", n + 1, f"{NOT_A_VARIABLE}{n + 1:10d}")


def _wrong_name(f: h5py.File) -> None:
    _replace_scale(f, "machines", "machine", 3, "machine")  # a netCDF coordinate variable, unwritten


def _plain_dataset(f: h5py.File) -> None:
    for name, ds in f["machines"].items():
        if name != "machine":
            ds.dims[0].detach_scale(f["machines/machine"])
    del f["machines/machine"]
    f["machines"].create_dataset("machine", shape=(3,), dtype="u1")  # named so, but not a dimension scale


def _sender_twice(f: h5py.File) -> None:
    ds = f["network/sent"]
    ds.dims[1].detach_scale(f["network/receiver"])
    ds.dims[1].attach_scale(f["network/sender"])  # sender x sender


def _unattached(f: h5py.File) -> None:
    f["events/lamport"].dims[0].detach_scale(f["events/event"])


def _missing_scale(f: h5py.File) -> None:
    for name, ds in f["network"].items():
        if name not in DIMENSIONS["network"]:
            ds.dims[0].detach_scale(f["network/sender"])
    del f["network/sender"]


def _set(path: str, attr: str, value) -> Callable[[h5py.File], None]:
    def plant(f: h5py.File) -> None:
        (f[path] if path else f).attrs[attr] = value
    return plant


def _fill_without_fill_value(f: h5py.File) -> None:
    """/events/peer made again without the HDF5 fill value, but with its _FillValue and scale."""
    values, attrs = f["events/peer"][()], {k: v for k, v in f["events/peer"].attrs.items() if k != "DIMENSION_LIST"}
    f["events/peer"].dims[0].detach_scale(f["events/event"])
    del f["events/peer"]
    f["events"].create_dataset("peer", data=values)
    f["events/peer"].attrs.update(attrs)
    f["events/peer"].dims[0].attach_scale(f["events/event"])


# What is planted, the rule verify must report, and a piece of its message.
PLANTS: Dict[str, Tuple[Callable[[h5py.File], None], str, str]] = {
    "scale-size": (_wrong_size, "dimension-scales", "but its axis of the group has"),
    "scale-name": (_wrong_name, "dimension-scales", "a netCDF dimension without a variable"),
    "scale-axis": (_sender_twice, "dimension-scales", "/network/sent has dimension scales (sender; sender)"),
    "scale-unattached": (_unattached, "dimension-scales", "/events/lamport has dimension scales (none)"),
    "scale-missing": (_missing_scale, "dimension-scales", "/network/sender missing"),
    "scale-plain": (_plain_dataset, "dimension-scales", "/machines/machine is not a dimension scale"),
    "fill-value": (_set("events/peer", "_FillValue", np.int32(0)), "fill-value", "_FillValue is 0"),
    "fill-type": (_set("events/msg_clock", "_FillValue", np.int32(-1)), "fill-value", "(int32), expected -1 (int64"),
    "fill-unknown": (_set("events/rank", "_FillValue", np.int32(-1)), "fill-value", "the table gives it none"),
    "fill-hdf5": (_fill_without_fill_value, "fill-value", "the HDF5 fill value 0"),
    "flag-meanings": (_set("events/kind", "flag_meanings", "internal send receive all"), "flags",
                      "expected 'internal send-one send-all receive'"),
    "flag-values": (_set("events/kind", "flag_values", np.array([1, 2, 3, 4], dtype="u1")), "flags",
                    "expected [0, 1, 2, 3]"),
    "flag-type": (_set("events/kind", "flag_values", np.arange(4, dtype="<i8")), "flags", "(int64)"),
    "flag-elsewhere": (_set("events/queue", "flag_meanings", "empty full"), "flags", "the table gives it none"),
    "provenance-partial": (lambda f: f.attrs.__delitem__("cpu_model"), "provenance", "without cpu_model"),
    "provenance-number": (_set("", "build_type", np.int32(3)), "provenance", "expected text"),
}


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    """A file of the Python writer with every convention and the build's provenance, verified clean."""
    d = simulate_model(seed=7)
    d.attrs.update({"compiler_id": "GNU", "compiler_version": "12.2.0", "build_type": "Release",
                    "build_flags": "-O3 -DNDEBUG", "cpu_model": "unknown"})
    path = write_run(tmp_path_factory.mktemp("conventions") / "clean.h5", d)
    assert verify(open_run(path)).ok
    assert_conventions(path)
    return path


@pytest.mark.parametrize("name", sorted(PLANTS))
def test_verify_reports_each_bad_convention(tmp_path: Path, written: Path, name: str) -> None:
    plant, rule, text = PLANTS[name]
    path = tmp_path / "planted.h5"
    path.write_bytes(written.read_bytes())
    with h5py.File(path, "r+") as f:
        plant(f)
    found = [v for v in verify(open_run(path)).violations if v.check == rule]
    assert found and text in found[0].message, [str(v) for v in verify(open_run(path)).violations]
    res = run_cli("verify", path)
    assert res.code == 1 and text in res.out, res.out + res.err
