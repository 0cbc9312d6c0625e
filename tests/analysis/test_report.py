"""`clockbench-analyze report`: both files from a real run, a self-contained page with every section
and a pass/fail mark per check, Markdown whose images exist, partial runs marked, bad files named."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from clockbench.theory.run_analysis import analyse
from clockbench.file.schema import open_run
from runs import run

SECTIONS = ["Overview", "Provenance", "Machines", "Drift", "Plots", "Theory: measured vs predicted",
            "Configuration (/config)"]
PLOTS = ["clocks", "lag", "queues", "jumps", "mix", "lateness"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 model seconds of the classic rates (1, 2, 6) at 40x: half a second of wall time."""
    folder = tmp_path_factory.mktemp("run")
    out = folder / "classic.h5"
    proc = run(3, ["--rates", "1,2,6", "--duration", "20", "--speedup", "40", "--seed", "5", "-o", out, "-q"],
               folder)
    assert proc.returncode == 0, proc.stderr
    return out


def error_lines(err: str) -> list:
    return [ln for ln in err.splitlines() if ln.strip()]


def test_report_of_a_real_run(real_run: Path, tmp_path: Path, cli) -> None:
    out = tmp_path / "rep"
    res = cli("report", real_run, "-o", out)
    assert res.code == 0, res.err
    assert res.err == ""
    assert str(out / "report.html") in res.out and str(out / "report.md") in res.out

    page = (out / "report.html").read_text(encoding="utf-8")
    # Self-contained: no links to anything outside the page.
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page and "<script" not in page
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == len(PLOTS)
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    for title in SECTIONS:
        assert f">{title}</h" in page, title
    assert "PARTIAL" not in page
    assert "tolerance = 3 sigma" in page

    # One pass/FAIL mark per check, as many as the analysis makes.
    checks = analyse(open_run(str(real_run)), histograms=False).checks
    assert len(checks) > 0
    marks = re.findall(r'<td class="(pass|fail)">(pass|FAIL)</td>', page)
    assert len(marks) == len(checks)
    assert sum(m == "pass" for m, _ in marks) == sum(c.ok for c in checks)

    md = (out / "report.md").read_text(encoding="utf-8")
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert sorted(images) == sorted(f"run1-{p}.png" for p in PLOTS)
    for name in images:
        assert (out / name).read_bytes()[:8] == PNG_MAGIC, name
    for title in SECTIONS:
        assert title.replace("(", "").replace(")", "") in md.replace("\\", "").replace("(", "").replace(")", "")


def test_partial_run_is_marked(real_run: Path, tmp_path: Path, cli) -> None:
    partial = tmp_path / "partial.h5"
    shutil.copy(real_run, partial)
    with h5py.File(partial, "r+") as f:
        f.attrs["completed"] = np.int32(0)
        f.attrs["stop_reason"] = "SIGTERM on rank 2"
    res = cli("report", partial, "-o", tmp_path / "rep")
    assert res.code == 0, res.err
    for name in ("report.html", "report.md"):
        text = (tmp_path / "rep" / name).read_text(encoding="utf-8")
        assert "PARTIAL RUN (completed=0)" in text, name
        assert "SIGTERM on rank 2" in text, name
    page = (tmp_path / "rep" / "report.html").read_text(encoding="utf-8")
    assert '<p class="banner">PARTIAL RUN' in page


def test_bad_file_is_skipped_and_named(real_run: Path, tmp_path: Path, cli) -> None:
    bad = tmp_path / "notes.h5"
    bad.write_text("not an HDF5 file\n")
    res = cli("report", bad, real_run, "-o", tmp_path / "rep")
    assert res.code == 2
    lines = error_lines(res.err)
    assert len(lines) == 1 and lines[0].startswith(f"clockbench-analyze: error: {bad}: "), res.err
    assert "Traceback" not in res.err
    assert "skipped 1" in res.out
    page = (tmp_path / "rep" / "report.html").read_text(encoding="utf-8")
    assert "classic.h5" in page and "Skipped, could not be read" in page and str(bad) in page


def test_non_hdf5_file_alone_writes_nothing(tmp_path: Path, cli) -> None:
    bad = tmp_path / "empty.h5"
    bad.write_bytes(b"")
    res = cli("report", bad, "-o", tmp_path / "rep")
    assert res.code == 2
    lines = error_lines(res.err)
    assert lines == [f"clockbench-analyze: error: {bad}: not an HDF5 file"], res.err
    assert res.out == ""
    assert not (tmp_path / "rep").exists()


def test_report_shows_each_runs_model_and_marks_a_degraded_one(tmp_path: Path, cli) -> None:
    from conftest import write_run
    from model_sim import Faults, simulate_model
    good = write_run(tmp_path / "good.h5", simulate_model(latency="0.05", phase="zero"))
    bad = write_run(tmp_path / "bad.h5", simulate_model(latency="exp:0.2", faults=Faults(missed={2: 3})))
    res = cli("report", good, bad, "-o", tmp_path / "rep")
    assert res.code == 0, res.err
    page = (tmp_path / "rep" / "report.html").read_text(encoding="utf-8")
    md = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    for text in (page, md):
        assert "phase | latency_s | grace_s | state | timing" in text.replace("</th><th>", " | ")
        assert "The mean-field theory already covers phases and latency" in text
        assert "model: phase zero, latency 0.05 model s, grace 0.002 s; timing ok" in text
        assert "model: phase random, latency exp:0.2 model s, grace 0.002 s; TIMING degraded: 0 late " \
               "deliveries, 3 missed ticks" in text
    good_row = re.search(r"<tr><td>good\.h5</td>.*?</tr>", page).group(0)
    assert "<td>zero</td><td>0.05</td><td>0.002</td><td>completed</td><td>ok</td>" in good_row
    assert '<td class="fail">DEGRADED (0 late, 3 missed)</td>' in page
    assert '<p class="banner">TIMING DEGRADED: the real-time loop did not keep up with the model (0 late ' \
           'deliveries, 3 missed ticks' in page
    assert "Runs whose timing degraded: bad.h5 (DEGRADED (0 late, 3 missed))" in page
    assert "| **DEGRADED (0 late, 3 missed)** |" in md
    assert "> **TIMING DEGRADED: the real-time loop did not keep up" in md
    assert "TIMING DEGRADED" not in page.split("Run 2: bad.h5")[0].split("Run 1: good.h5")[1]


def md_table(md: str, first_column: str) -> list:
    """The rows of the first Markdown table whose header starts with `first_column`, as dicts."""
    lines = md.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(f"| {first_column} |"))
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    rows = []
    for ln in lines[start + 2:]:
        if not ln.startswith("|"):
            break
        rows.append(dict(zip(header, (c.strip().strip("*") for c in ln.strip("|").split("|")))))
    return rows


def test_report_figures_agree_with_the_file(real_run: Path, tmp_path: Path, cli) -> None:
    """The overview and the machine table of report.md against /events and the attributes, each
    figure recomputed here from the file (rounded as the report shows it)."""
    res = cli("report", real_run, "-o", tmp_path / "rep")
    assert res.code == 0, res.err
    md = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    with h5py.File(real_run, "r") as f:
        ev = {k: f["events"][k][:] for k in ("rank", "t", "kind", "jump", "queue")}
        rates, phases = f["machines/rate_hz"][:], f["machines/phase_s"][:]
        late, missed = f["machines/late_deliveries"][:], f["machines/missed_ticks"][:]
    overview = md_table(md, "file")[0]
    assert overview["file"] == "classic.h5" and overview["N"] == "3" and overview["topology"] == "full"
    assert overview["rates_hz"] == "1,2,6" and overview["p_internal"] == "0.7" and overview["seed"] == "5"
    assert float(overview["duration_s"]) == 20 and int(overview["events"]) == len(ev["rank"])
    machines = md_table(md, "machine")
    assert [int(m["machine"]) for m in machines] == [0, 1, 2]
    for i, m in enumerate(machines):
        mine = ev["rank"] == i
        n = int(mine.sum())
        kinds = ev["kind"][mine]
        recv = mine & (ev["kind"] == 3)
        t = ev["t"][mine]
        assert float(m["rate_hz"]) == rates[i] and int(m["ticks"]) == n
        assert float(m["achieved_hz"]) == pytest.approx((n - 1) / (t.max() - t.min()), abs=5e-5)
        for name, code in (("internal", 0), ("send_one", 1), ("send_all", 2), ("receive", 3)):
            assert float(m[name]) == pytest.approx(np.count_nonzero(kinds == code) / n, abs=5e-4), (i, name)
        assert int(m["jump_max"]) == (int(ev["jump"][recv].max()) if recv.any() else 0)
        assert int(m["queue_max"]) == int(ev["queue"][mine].max())
        assert float(m["phase_s"]) == pytest.approx(phases[i], abs=5e-5)
        assert int(m["late_deliveries"]) == late[i] and int(m["missed_ticks"]) == missed[i]
