"""The README's first command, scripts/run-classic, end to end into a temporary folder: the run,
its verification, the theory check and the report, as the README promises (3 machines, rates
drawn from 1..6, 60 model seconds)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_run_classic_runs_verifies_checks_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "classic.h5"
    res = subprocess.run([str(ROOT / "scripts" / "run-classic"), "--seed", "5", "-o", str(out)],
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    text = res.stdout
    result = re.search(r"^CLOCKBENCH_RESULT status=ok completed=1 machines=3 topology=full seed=5 rates=(\S+) "
                       r".* duration_s=60 end_s=60 .*output=(\S+)$", text, re.M)
    assert result, text[-3000:]
    rates = [float(r) for r in result.group(1).split(",")]
    assert len(rates) == 3 and all(r in (1, 2, 3, 4, 5, 6) for r in rates), rates
    assert result.group(2) == str(out) and out.is_file()
    assert re.search(rf"^OK {re.escape(str(out))}: 3 machines, \d+ events .*all invariants hold$", text, re.M), text[-2000:]
    # the theory check, as the README says the command shows it
    assert re.search(r"^theory from the run's rates", text, re.M), text[-3000:]
    assert re.search(r"^theory check: \d+ of \d+ pass", text, re.M), text[-3000:]
    report = tmp_path / "classic-report"
    assert (report / "report.html").stat().st_size > 0 and (report / "report.md").stat().st_size > 0
    assert f"Open {report}/report.html in a browser" in text
