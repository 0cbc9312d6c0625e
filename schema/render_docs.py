#!/usr/bin/python3
"""Writes docs/schema.md's tables of the file format from schema/clockbench-1.json, the format's one
definition: each table sits between a `<!-- generated: NAME ... -->` line and `<!-- end: NAME -->`,
and the prose around them is kept. `--check` changes nothing and exits 1, with a diff, if the
document's tables are not the table's (tests/analysis/test_file_format.py runs it).

    /usr/bin/python3 schema/render_docs.py [--check]
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "schema" / "clockbench-1.json"
DOC = ROOT / "docs" / "schema.md"
BLOCK = re.compile(r"(<!-- generated: (?P<name>[\w-]+) [^\n]*-->\n)(?P<body>.*?)(<!-- end: (?P=name) -->)", re.S)


def _meaning(entry: Dict) -> str:
    note = entry.get("note")
    return entry["description"] + (f"; {note}" if note else "")


def _absent(entry: Dict) -> str:
    value = entry.get("if_absent")
    if value is None:
        return "NaN" if entry["type"] == "f64" else "absent"
    if value == "":
        return "the empty string"  # an empty code span would print as two backticks
    return f"`{value}`" if isinstance(value, str) else json.dumps(value)


def _rows(header: List[str], rows: List[List[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _conventions(column: Dict) -> str:
    """A column's conventions (docs/schema.md, "Conventions"), after its meaning."""
    out = ""
    if "fill_value" in column:
        out += f" (`_FillValue` {column['fill_value']}: no value)"
    words = column.get("flag_meanings")
    if words:
        out += (f" (CF `flag_values` {', '.join(map(str, range(len(words))))}, `flag_meanings` "
                f"`{' '.join(words)}`)")
    return out


def _columns(group: Dict) -> str:
    return _rows(["field", "type", "units", "meaning"],
                 [[f"`{c['name']}`", c["type"], c["units"], _meaning(c) + _conventions(c)] for c in group["columns"]])


def blocks(table: Dict) -> Dict[str, str]:
    """Each generated block's text, by name."""
    attrs = table["root_attributes"]
    out = {"root-attributes": _rows(["name", "type", "meaning"],
                                    [[f"`{a['name']}`", a["type"], _meaning(a)
                                      + ("" if a.get("required") or "added" in a else " (not required of a reader)")
                                      + (" (not in a recovered file)" if a.get("recovered") == "absent" else "")]
                                     for a in attrs])}
    added = [a for a in attrs if "added" in a]
    out["root-attributes"] += ("\nFiles written before the model-time attributes existed lack them and are read as "
                               + ", ".join(f"`{a['name']}` {_absent(a)}" for a in added) + ".\n")
    c = table["config"]
    out["config"] = f"`/config` ({c['type']}, units `{c['units']}`, description \"{c['description']}\"): {c['note']}.\n"
    for group in table["groups"]:
        dims = ", ".join(f"`{d}`" for d in group["dimensions"])
        text = (f"Group description: \"{group['description']}\". Dimension scales (netCDF dimensions, one per axis of "
                f"every dataset): {dims}.\n\n" + _columns(group))
        later = [col for col in group["columns"] if "added" in col]
        if later:
            text += ("\nAdded later, so a file written before lacks them: "
                     + ", ".join(f"`{col['name']}` ({col['added']}; read as {_absent(col)})" for col in later) + ".\n")
        out[group["name"]] = text
    rows = []
    for group in table["groups"]:
        for col in group["columns"]:
            both = "recovered_unjournaled" in col
            for key, journal in (("recovered", "CBJRNL03" if both else "any"),
                                 ("recovered_unjournaled", "CBJRNL01/02")):
                if key in col:
                    rows.append([f"`/{group['name']}/{col['name']}`", journal, col[key]])
    out["recovered"] = _rows(["dataset", "journal", "its description in the recovered file"], rows)
    return out


def render(doc: str, table: Dict) -> str:
    wanted = blocks(table)
    found = [m.group("name") for m in BLOCK.finditer(doc)]
    if sorted(found) != sorted(wanted):
        raise SystemExit(f"{DOC}: generated blocks {found}, expected {sorted(wanted)}")
    return BLOCK.sub(lambda m: m.group(1) + wanted[m.group("name")] + m.group(4), doc)


def main(argv: List[str]) -> int:
    doc = DOC.read_text(encoding="utf-8")
    new = render(doc, json.loads(TABLE.read_text(encoding="utf-8")))
    if "--check" in argv:
        if new != doc:
            sys.stdout.writelines(difflib.unified_diff(doc.splitlines(True), new.splitlines(True), str(DOC),
                                                       f"{DOC} from {TABLE.name}"))
            print(f"{DOC.relative_to(ROOT)}: its tables are not {TABLE.relative_to(ROOT)}'s; "
                  "run /usr/bin/python3 schema/render_docs.py")
            return 1
        return 0
    if new != doc:
        DOC.write_text(new, encoding="utf-8")
        print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
