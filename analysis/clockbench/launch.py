"""The entry of clockbench-analyze, the checkout's script and the installed command alike: the
command line, or, when the package cannot start because the file format's table is missing (a
broken installation), one line naming where it was looked for, exit 2: never a traceback."""

from __future__ import annotations

import sys
from typing import Optional, Sequence


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        from clockbench.cli import main as command_line
    except FileNotFoundError as e:  # clockbench.file.schema finds no clockbench-1.json
        print(f"clockbench-analyze: error: {e}; reinstall the analysis (its package ships the table) "
              "or run analysis/clockbench-analyze from a checkout", file=sys.stderr, flush=True)
        return 2
    return command_line(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
