"""The Open MPI settings every run here needs, read from their one source, scripts/mpi-env (its
`export NAME=VALUE` lines; the checkout's, else an installation's share/clockbench/scripts/), so
that the Python runners start ranks exactly as the scripts do."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Dict

from clockbench.file import share

def _source() -> Path:
    places = share.candidates("scripts/mpi-env")
    return next((p for p in places if p.is_file()), places[0])  # the first, to name in the error


SOURCE = _source()
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
