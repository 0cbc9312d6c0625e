"""Where the project's data files are when the analysis runs from a checkout or from an
installation: the checkout's own tree, then share/clockbench/ of an installation (`cmake
--install`) under the Python prefix and under the prefix of the clockbench program (CLOCKBENCH_BIN,
else the one on PATH: <prefix>/bin/clockbench)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import List

# The checkout this package lives in (analysis/clockbench/file/ -> the checkout's root).
CHECKOUT = Path(__file__).resolve().parents[3]


def candidates(relative: str) -> List[Path]:
    """The places of a data file (a path relative to the checkout's root, as installed under
    share/clockbench/), in the order they are tried."""
    found = [CHECKOUT / relative]
    prefixes = [Path(sys.prefix)]
    program = os.environ.get("CLOCKBENCH_BIN") or shutil.which("clockbench")
    if program:
        prefixes.append(Path(program).resolve().parent.parent)
    for prefix in prefixes:
        path = prefix / "share" / "clockbench" / relative
        if path not in found:
            found.append(path)
    return found
