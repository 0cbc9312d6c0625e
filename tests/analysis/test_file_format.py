"""The file format has one definition, schema/clockbench-1.json, and everything else follows it:
a file clockbench writes, a file recover writes and a file the Python writer writes hold exactly its
names, types, units and descriptions; docs/schema.md's tables are generated from it; and
src/io/schema.hpp spells none of it itself (CMake generates the C++ names from the table)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Dict, List, Optional

import h5py
import numpy as np
import pytest

from conftest import ROOT, run_cli
from model_sim import simulate_model
from runs import run
from test_recover import write_journal

from clockbench.file.run_file import NUMPY_TYPES, write_run
from clockbench.file.schema import ATTRIBUTES, CONFIG, GROUP_DESCRIPTIONS, GROUP_DIMENSIONS, GROUPS, TABLE

TYPES = {"str", *NUMPY_TYPES}


def _type(obj) -> str:
    """A dataset's or attribute's type in the table's words."""
    dtype = obj.dtype
    if h5py.check_string_dtype(dtype) is not None:
        return "str"
    return next((t for t, np_type in NUMPY_TYPES.items() if dtype == np.dtype(np_type)), str(dtype))


def differences(path: Path, recovered: Optional[str] = None, complete: bool = True) -> List[str]:
    """How the file at `path` departs from the table: names it has or (if `complete`) lacks, types,
    units, descriptions."""
    out: List[str] = []
    with h5py.File(path, "r") as f:
        for a in ATTRIBUTES:
            if a.name not in f.attrs:
                if complete and (a.name != "recovered" or recovered) and not (a.recovered_absent and recovered):
                    out.append(f"root attribute {a.name} missing")
            elif _type(f.attrs.get_id(a.name)) != a.type:
                out.append(f"root attribute {a.name}: {_type(f.attrs.get_id(a.name))}, the table says {a.type}")
        out += [f"root attribute {k} not in the table" for k in f.attrs if k not in {a.name for a in ATTRIBUTES}]
        columns = [CONFIG] + [c for group in GROUPS.values() for c in group.values()]
        for c in columns:
            d = f.get(c.path)
            if d is None:
                out += [f"/{c.path} missing"] if complete else []
                continue
            if _type(d) != c.type:
                out.append(f"/{c.path}: {_type(d)}, the table says {c.type}")
            for key, want in (("units", c.units), ("description", c.description_in(recovered))):
                if d.attrs.get(key) != want:
                    out.append(f"/{c.path} {key} {d.attrs.get(key)!r}, the table says {want!r}")
        for group, description in GROUP_DESCRIPTIONS.items():
            if f[group].attrs.get("description") != description:
                found = f[group].attrs.get("description")
                out.append(f"/{group} description {found!r}, the table says {description!r}")
            out += [f"/{group}/{k} not in the table" for k in f[group]
                    if k not in GROUPS[group] and k not in GROUP_DIMENSIONS[group]]
        out += [f"/{k} not in the table" for k in f if k not in (CONFIG.name, *GROUPS)]
    return out


def test_the_table_is_well_formed() -> None:
    units = set(TABLE["units"])
    names = [a.name for a in ATTRIBUTES] + [CONFIG.name] + [f"{g}/{c}" for g in GROUPS for c in GROUPS[g]]
    assert len(names) == len(set(names))
    for c in [CONFIG] + [c for group in GROUPS.values() for c in group.values()]:
        assert c.type in TYPES and c.units in units, c
        for text in (c.description, c.recovered or "", c.recovered_unjournaled or ""):
            assert text.isascii() and text == text.strip(), f"{c.path}: {text!r}"  # C string literals in C++
        assert c.added in (None, "model", "clock"), c
    assert all(a.type in TYPES for a in ATTRIBUTES)


def test_a_file_clockbench_writes_is_the_table(tmp_path: Path) -> None:
    out = tmp_path / "run.h5"
    res = run(2, ["--rates", "4,6", "--duration", "1", "--speedup", "10", "--seed", "3", "-o", out, "-q"], tmp_path)
    assert res.returncode == 0, res.stderr
    assert differences(out) == []


@pytest.mark.parametrize("version, kind", [(3, "journaled"), (2, "unjournaled")])
def test_a_file_recover_writes_is_the_table(tmp_path: Path, version: int, kind: str) -> None:
    journal = write_journal(tmp_path / "run.h5.1.journal", simulate_model(rates=(3.0, 4.0, 5.0, 8.0)), version)
    out = tmp_path / "recovered.h5"
    assert run_cli("recover", journal, "-o", out).code == 0
    assert differences(out, recovered=kind) == []


def test_a_file_the_python_writer_writes_is_the_table(tmp_path: Path) -> None:
    """The tests' files: as a file written before the end-of-run clock estimate (and outside Slurm)."""
    assert differences(write_run(tmp_path / "model.h5", simulate_model()), complete=False) == []


def test_the_check_finds_a_description_that_is_not_the_tables(tmp_path: Path) -> None:
    path = write_run(tmp_path / "model.h5", simulate_model())
    with h5py.File(path, "r+") as f:
        f["events/jump"].attrs["description"] = "lamport after - lamport before"
    assert differences(path, complete=False) == [
        "/events/jump description 'lamport after - lamport before', the table says "
        "'Lamport clock after minus before (1 except on receive)'"]


def test_docs_schema_md_tables_are_generated_from_the_table() -> None:
    res = subprocess.run(["/usr/bin/python3", str(ROOT / "schema" / "render_docs.py"), "--check"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr


def test_the_cpp_names_are_not_spelled_out_by_hand() -> None:
    """src/io/schema.hpp includes the header CMake generates from the table, and adds no name,
    unit or description of its own (no string literal)."""
    text = (ROOT / "src" / "io" / "schema.hpp").read_text()
    assert '#include "schema_table.hpp"' in text
    assert re.findall(r'"[^"\n]*"', text.replace('"schema_table.hpp"', "")) == []
    generator: Dict[str, str] = {"cmake": (ROOT / "cmake" / "schema_header.cmake").read_text(),
                                 "top": (ROOT / "CMakeLists.txt").read_text()}
    assert "schema/clockbench-1.json" in generator["top"] and "string(JSON" in generator["cmake"]
