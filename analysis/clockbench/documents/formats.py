"""Machine-readable forms of the analysis's results (`summary`, `theory` and `scaling` with
`--format json|csv`, and the API of clockbench/__init__.py): plain data (dict, list, str, int,
float, bool, None: what json and csv take) and its JSON and CSV texts.

NaN and the infinities become None: JSON null (strict JSON has no NaN), an empty CSV cell.
Floats keep every digit (Python's shortest round-trip form); the text tables round them."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any, Iterable, Sequence

import numpy as np

FORMATS = ("text", "json", "csv")


def plain(x: Any) -> Any:
    """x with numpy scalars and arrays made Python ones, tuples lists, and NaN/inf None."""
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return plain(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        f = float(x)
        return f if math.isfinite(f) else None
    if isinstance(x, bytes):
        return x.decode("utf-8", "replace")
    if x is None or isinstance(x, str):
        return x
    if isinstance(x, np.generic):
        return plain(x.item())
    raise TypeError(f"no plain form for {type(x).__name__}")


def json_text(data: Any) -> str:
    """Strict JSON (no NaN), indented, ending in a newline."""
    return json.dumps(plain(data), indent=2, allow_nan=False) + "\n"


def csv_text(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A header line, then one line per row (RFC 4180 quoting; None as an empty cell)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    for row in rows:
        values = plain(list(row))
        assert len(values) == len(headers), (len(values), len(headers))
        writer.writerow(["" if v is None else v for v in values])
    return out.getvalue()


def records_csv(records: Sequence[dict]) -> str:
    """Records that share their keys (the first one's, in its order) as a CSV table."""
    headers = list(records[0]) if records else []
    return csv_text(headers, ([r[h] for h in headers] for r in records))
