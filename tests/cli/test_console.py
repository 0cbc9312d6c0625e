"""What a user sees on the console, as the README promises it ("Running it yourself", "Options"):
the default output name and the random seed, printed and recorded; the header, the progress line,
the per-machine table and the result line, their figures against the file; -q; and --config with
options on the command line beside it. Expectations come from the file, from mpirun and CMake, and
from the README's definitions, never from the program's own formatting code."""

from __future__ import annotations

import datetime
import re
import subprocess
from pathlib import Path
from typing import Dict, List

import h5py
import numpy as np
import pytest

from runs import ANALYZE, ROOT, result_fields, run

# The keys the README names for the result line, in the order a script may rely on.
RESULT_KEYS = ["status", "completed", "machines", "topology", "seed", "rates", "p_internal", "duration_s", "end_s",
               "speedup", "events", "messages_sent", "messages_received", "left_in_queue", "max_rate_error",
               "max_lateness_p99_s", "wall_s", "events_per_s", "messages_per_s", "capped", "timing",
               "late_deliveries", "missed_ticks", "write_s", "output"]
TABLE_COLUMNS = ["machine", "rate_hz", "achieved_hz", "ticks", "sent", "received", "left", "max_queue", "max_jump",
                 "late_p99_ms", "late", "missed", "events_per_s", "msgs_per_s"]


def project_version() -> str:
    return re.search(r"project\(clockbench VERSION (\S+)", (ROOT / "CMakeLists.txt").read_text()).group(1)


def mpi_version() -> str:
    out = subprocess.run(["mpirun", "--version"], capture_output=True, text=True, check=True).stdout
    return re.search(r"\(Open MPI\) (\S+)", out).group(1)


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, object]:
    """The README's `mpirun -np 3 build/clockbench`, shortened to 6 wall s by --speedup 10 alone:
    no -o, no --seed. 6 s of wall time is more than the 5 s between two progress lines."""
    folder = tmp_path_factory.mktemp("default")
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    proc = run(3, ["--speedup", 10], folder)
    after = datetime.datetime.now(datetime.timezone.utc)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == 1, files
    return {"proc": proc, "path": folder / files[0], "before": before, "after": after}


def test_default_output_name_carries_the_start_time_and_the_drawn_seed(default_run) -> None:
    path: Path = default_run["path"]
    m = re.fullmatch(r"clockbench-(\d{8}-\d{6})-s(\d+)\.h5", path.name)
    assert m, path.name
    named = datetime.datetime.strptime(m.group(1), "%Y%m%d-%H%M%S").replace(tzinfo=datetime.timezone.utc)
    assert default_run["before"] <= named <= default_run["after"], (named, default_run["before"])
    seed = int(m.group(2))
    stdout = default_run["proc"].stdout
    assert re.search(rf"^  seed: +{seed}$", stdout, re.M), stdout
    assert result_fields(stdout)["seed"] == str(seed)
    assert result_fields(stdout)["output"] == path.name
    with h5py.File(path, "r") as f:
        assert int(f.attrs["seed"]) == seed
        assert f"\nseed={seed}\n" in f["config"][()].decode()  # a rerun gets the same seed


def test_two_runs_without_a_seed_draw_different_ones(default_run, tmp_path: Path) -> None:
    proc = run(2, ["--duration", 1, "--speedup", 20, "-q", "--no-output"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert result_fields(proc.stdout)["seed"] != result_fields(default_run["proc"].stdout)["seed"]


def test_header_names_version_commit_mpi_rates_seed_and_output(default_run) -> None:
    stdout: str = default_run["proc"].stdout
    lines = stdout.splitlines()
    with h5py.File(default_run["path"], "r") as f:
        sha = str(f.attrs["git_sha"])
        rates = f["machines/rate_hz"][:]
        hdf5 = str(f.attrs["hdf5_version"])
    assert lines[0].startswith(f"clockbench {project_version()} (git {sha}"), lines[0]
    header = {ln.split(":", 1)[0].strip(): ln.split(":", 1)[1].strip() for ln in lines[1:8]}
    assert header["MPI"].startswith(f"Open MPI v{mpi_version()}") and hdf5 in header["MPI"], header
    assert header["machines"] == "3, topology full, p_internal 0.7"  # the README's defaults
    # Drawn from the default range 1..6, integers, and the ones the file records.
    assert np.all((rates >= 1) & (rates <= 6) & (rates == np.round(rates))), rates
    assert header["rates"] == ",".join(f"{r:g}" for r in rates) + " Hz (model) drawn from 1..6 (integers)"
    assert header["duration"] == "60 model s at speedup 10 = 6 wall s"
    assert header["output"] == default_run["path"].name


def test_progress_line_comes_every_5_wall_seconds_without_a_terminal(default_run) -> None:
    progress = [ln for ln in default_run["proc"].stdout.splitlines() if ln.startswith("  running: model t ")]
    # 6 wall s of ticking (never less, however loaded the machine): at least one at 5 s.
    assert len(progress) >= 1, default_run["proc"].stdout
    m = re.match(r"  running: model t ([\d.]+) / 60\.0 s \( *(\d+)%\), ([\d.]+) wall s left; rank 0: (\d+) ticks",
                 progress[0])
    assert m, progress[0]
    # The percentage of the model time shown (both rounded from the same figure: one apart at most).
    assert 0 < float(m.group(1)) < 60 and abs(int(m.group(2)) - float(m.group(1)) / 60 * 100) <= 1


def table_rows(stdout: str) -> List[List[str]]:
    lines = stdout.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.split()[:2] == ["machine", "rate_hz"])
    assert lines[start].split() == TABLE_COLUMNS, lines[start]
    return [ln.split() for ln in lines[start + 1:] if ln.split() and ln.split()[0].isdigit()]


def test_table_and_result_line_agree_with_the_file(default_run) -> None:
    stdout: str = default_run["proc"].stdout
    fields = result_fields(stdout)
    assert list(fields) == RESULT_KEYS
    rows = table_rows(stdout)
    with h5py.File(default_run["path"], "r") as f:
        mach = {k: f["machines"][k][:] for k in ("rate_hz", "ticks", "sent", "received", "left_in_queue",
                                                "late_deliveries", "missed_ticks")}
        rank, kind = f["events/rank"][:], f["events/kind"][:]
        attrs = dict(f.attrs)
        sent_matrix = f["network/sent"][:]
    assert [int(r[0]) for r in rows] == [0, 1, 2]
    for i, r in enumerate(rows):
        cols = dict(zip(TABLE_COLUMNS, r))
        assert float(cols["rate_hz"]) == mach["rate_hz"][i]
        assert int(cols["ticks"]) == np.count_nonzero(rank == i) == mach["ticks"][i]
        assert int(cols["received"]) == np.count_nonzero((rank == i) & (kind == 3))
        assert int(cols["sent"]) == int(sent_matrix[i].sum())
        assert int(cols["left"]) == mach["left_in_queue"][i]
        assert int(cols["late"]) == mach["late_deliveries"][i] and int(cols["missed"]) == mach["missed_ticks"][i]
    events = len(rank)
    assert fields["status"] == "ok" and fields["completed"] == "1" and fields["machines"] == "3"
    assert fields["rates"] == ",".join(f"{r:g}" for r in mach["rate_hz"])
    assert int(fields["events"]) == events
    assert int(fields["messages_sent"]) == int(sent_matrix.sum())
    assert int(fields["messages_received"]) == np.count_nonzero(kind == 3)
    assert int(fields["messages_sent"]) == int(fields["messages_received"]) + int(fields["left_in_queue"])
    assert float(fields["end_s"]) == attrs["end_s"] == 60.0 and float(fields["speedup"]) == 10.0
    # README: totals per wall second of the tick window end_s / speedup.
    assert float(fields["events_per_s"]) == pytest.approx(events / 6.0, abs=0.5)
    assert float(fields["messages_per_s"]) == pytest.approx(int(sent_matrix.sum()) / 6.0, abs=0.5)
    assert fields["capped"] == "0"
    assert fields["timing"] == ("ok" if str(attrs["timing"]) == "ok" else "degraded")
    assert int(fields["late_deliveries"]) == int(attrs["late_deliveries"]) == int(mach["late_deliveries"].sum())
    assert int(fields["missed_ticks"]) == int(attrs["missed_ticks"]) == int(mach["missed_ticks"].sum())
    assert float(fields["write_s"]) > 0 and float(fields["wall_s"]) > 0


def test_quiet_prints_only_the_result_line(tmp_path: Path) -> None:
    proc = run(3, ["--duration", 10, "--speedup", 20, "--seed", 3, "-q", "-o", "q.h5"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("CLOCKBENCH_RESULT "), proc.stdout
    # Errors and warnings only on stderr (a loaded machine may warn of degraded timing).
    assert all(ln.startswith("clockbench: warning: ") for ln in proc.stderr.splitlines() if ln.strip()), proc.stderr


def test_no_output_with_no_seed_still_reports_and_writes_nothing(tmp_path: Path) -> None:
    proc = run(2, ["--duration", 2, "--speedup", 20, "--no-output", "-q"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    fields = result_fields(proc.stdout)
    assert fields["output"] == "none" and float(fields["write_s"]) == 0
    assert list(tmp_path.iterdir()) == []


def test_options_beside_config_override_the_file(tmp_path: Path) -> None:
    """A stored /config rerun with --seed, --duration and --rates given on the command line: the
    command line wins, and the new file's /config says what really ran."""
    first = run(3, ["--duration", 10, "--speedup", 20, "--seed", 5, "--rates", "1,2,6", "-q", "-o", "a.h5"], tmp_path)
    assert first.returncode == 0, first.stderr
    shown = subprocess.run(["/usr/bin/python3", str(ANALYZE), "config", str(tmp_path / "a.h5")], capture_output=True,
                           text=True, check=True).stdout
    (tmp_path / "a.toml").write_text(shown)
    again = run(3, ["--config", "a.toml", "--seed", 11, "--duration", 4, "--rates", "2,3,5", "-q", "-o", "b.h5"],
                tmp_path)
    assert again.returncode == 0, again.stderr
    with h5py.File(tmp_path / "b.h5", "r") as f:
        assert int(f.attrs["seed"]) == 11 and float(f.attrs["duration_s"]) == 4.0
        assert list(f["machines/rate_hz"][:]) == [2.0, 3.0, 5.0]
        assert float(f.attrs["speedup"]) == 20.0  # not given again: the file's
        config = f["config"][()].decode()
    assert "\nseed=11\n" in config and "\nduration=4\n" in config and "\nrates=[2,3,5]\n" in config
    assert "\nspeedup=20\n" in config
