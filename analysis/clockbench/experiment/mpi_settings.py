"""The Open MPI settings every run here needs, read from their one source, scripts/mpi-env (its
`export NAME=VALUE` lines), so that the Python runners start ranks exactly as the scripts do."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Dict

SOURCE = Path(__file__).resolve().parents[3] / "scripts" / "mpi-env"
_LINE = re.compile(r"^export ([A-Za-z_][A-Za-z0-9_]*)=(\S*)\s*$")


@functools.lru_cache(maxsize=None)
def mpi_env(source: Path = SOURCE) -> Dict[str, str]:
    """NAME -> VALUE of every `export NAME=VALUE` line of the source."""
    try:
        text = source.read_text()
    except OSError as e:
        raise RuntimeError(f"cannot read the Open MPI settings {source}: {e.strerror}") from None
    found = dict(m.groups() for m in map(_LINE.match, text.splitlines()) if m)
    if not found:
        raise RuntimeError(f"{source} holds no `export NAME=VALUE` line")
    return found
