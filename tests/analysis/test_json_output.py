"""Machine-readable results, read back: `clockbench --json FILE` against the result line, the
per-machine table and the run file; `summary`, `theory` and `scaling` with --format json and csv
against their text and the file; `summary --check`'s exit code. Each comparison is a checker that
returns what differs, shown to catch planted defects (a value changed, a key or a row missing)."""

from __future__ import annotations

import copy
import csv
import io
import json
import math
import os
import re
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import h5py
import numpy as np
import pytest

from clockbench.file.run_file import write_run
from conftest import run_cli
from model_sim import simulate_model
from runs import result_fields, run

Problems = List[str]


# ---- comparing a rounded text cell with an unrounded value ----------------------------------------

def cell_matches(cell: str, value: Any, words: Optional[Dict[str, Any]] = None) -> bool:
    """Whether a text table's cell shows `value`: '-' (or 'nan') for None, a word of `words` for
    its value, a number to the decimals it has (half a unit of its last digit, or 6 significant
    digits for a %g form with an exponent)."""
    words = words or {}
    if cell in words:
        w = words[cell]
        return w(value) if callable(w) else value == w
    if cell == "-" and value == "":
        return True  # a machine without a host name
    if cell in ("-", "nan") or value is None:
        return value is None and cell in ("-", "nan", "")
    if isinstance(value, str):
        return cell == value
    if isinstance(value, bool):
        return False
    cell = cell.lstrip("±")
    try:
        shown = float(cell)
    except ValueError:
        return False
    mantissa = cell.split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    if "e" in cell:
        return math.isclose(shown, value, rel_tol=1e-5)
    return abs(shown - value) <= 0.5 * 10.0 ** -decimals * (1 + 1e-9) + 1e-12 * abs(value)


def text_table(lines: Sequence[str], first: str) -> List[Dict[str, str]]:
    """The rows of a right-aligned text table whose header starts with `first`, up to a blank line
    or a line of another width, as header -> cell."""
    start = next(i for i, ln in enumerate(lines) if ln.split()[:1] == [first] and len(ln.split()) > 2)
    headers = lines[start].split()
    rows = []
    for ln in lines[start + 1:]:
        cells = ln.split()
        if len(cells) != len(headers) or not cells[0].isdigit():
            break
        rows.append(dict(zip(headers, cells)))
    return rows


def compare_rows(text_rows: List[Dict[str, str]], records: List[Dict[str, Any]], what: str,
                 words: Optional[Dict[str, Any]] = None) -> Problems:
    """Every cell of the text rows against the records' values of the same column name."""
    problems: Problems = []
    if len(text_rows) != len(records):
        return [f"{what}: {len(text_rows)} text rows, {len(records)} records"]
    for k, (row, rec) in enumerate(zip(text_rows, records)):
        if set(row) - set(rec):
            problems.append(f"{what} row {k}: columns {sorted(set(row) - set(rec))} missing from the record")
        for col, cell in row.items():
            if col in rec and not cell_matches(cell, rec[col], words):
                problems.append(f"{what} row {k}, {col}: the text says {cell}, the record {rec[col]!r}")
    return problems


def attr_text(value: Any) -> str:
    """An HDF5 string attribute as str."""
    return value.decode() if isinstance(value, bytes) else str(value)


def csv_records(text: str) -> List[Dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def csv_value(cell: str, value: Any) -> bool:
    """A CSV cell holds `value` exactly (every digit): '' for None, True/False for booleans."""
    if value is None:
        return cell == ""
    if isinstance(value, bool):
        return cell == str(value)
    if isinstance(value, (int, float)):
        return cell != "" and float(cell) == float(value)
    return cell == str(value)


def compare_csv(rows: List[Dict[str, str]], records: List[Dict[str, Any]], what: str) -> Problems:
    if len(rows) != len(records):
        return [f"{what}: {len(rows)} CSV rows, {len(records)} records"]
    problems = []
    for k, (row, rec) in enumerate(zip(rows, records)):
        if list(row) != list(rec):
            problems.append(f"{what} row {k}: CSV columns {list(row)} are not the record's {list(rec)}")
            continue
        problems += [f"{what} row {k}, {c}: CSV {row[c]!r}, record {rec[c]!r}" for c in rec
                     if not csv_value(row[c], rec[c])]
    return problems


# ---- clockbench --json ------------------------------------------------------------------------------

TABLE_COLUMNS = ["machine", "rate_hz", "achieved_hz", "ticks", "sent", "received", "left", "max_queue", "max_jump",
                 "late_p99_ms", "late", "missed", "events_per_s", "msgs_per_s"]


def check_result_json(doc: Dict[str, Any], stdout: str, table: bool) -> Problems:
    """The --json document against what clockbench printed: every key of the result line with the
    same value, in the same order; every machine's row of the table (when printed)."""
    problems: Problems = []
    line = result_fields(stdout)
    result = doc.get("result", {})
    if list(result) != list(line):
        problems.append(f"result keys {list(result)} are not the line's {list(line)}")
    for key, text in line.items():
        value = result.get(key)
        if isinstance(value, str):
            ok = value == text
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            ok = float(text) == value and (not isinstance(value, int) or str(value) == text)
        else:
            ok = False
        if not ok:
            problems.append(f"result {key}: the line says {text}, the JSON {value!r}")
    machines = doc.get("machines", [])
    if [list(m) for m in machines] != [TABLE_COLUMNS] * len(machines):
        problems.append(f"machine keys differ from the table's {TABLE_COLUMNS}")
    if len(machines) != int(line["machines"]):
        problems.append(f"{len(machines)} machines in the JSON, {line['machines']} in the line")
    if table:
        rows = text_table(stdout.splitlines(), "machine")
        problems += compare_rows(rows, machines, "table", words={"max": None})
    return problems


def check_result_against_file(doc: Dict[str, Any], path: Path) -> Problems:
    """The --json document against the run file it describes."""
    problems: Problems = []
    with h5py.File(path, "r") as f:
        a, m = f.attrs, f["machines"]
        res = doc["result"]
        expect = {"seed": int(a["seed"]), "machines": int(a["n_machines"]), "end_s": float(a["end_s"]),
                  "events": int(f["events/rank"].shape[0]), "messages_sent": int(f["network/sent"][()].sum()),
                  "completed": int(a["completed"]), "late_deliveries": int(a["late_deliveries"]),
                  "missed_ticks": int(a["missed_ticks"])}
        problems += [f"result {k}: JSON {res.get(k)!r}, file {v!r}" for k, v in expect.items() if res.get(k) != v]
        if doc.get("git_sha") != attr_text(a["git_sha"]) or doc.get("clockbench_version") != attr_text(a["clockbench_version"]):
            problems.append("version or git SHA differ from the file's")
        for i, rec in enumerate(doc["machines"]):
            for key, column in (("ticks", "ticks"), ("sent", "sent"), ("received", "received"),
                                ("left", "left_in_queue"), ("late", "late_deliveries"), ("missed", "missed_ticks")):
                if rec[key] != int(m[column][i]):
                    problems.append(f"machine {i} {key}: JSON {rec[key]}, file {int(m[column][i])}")
            for key, column, scale in (("achieved_hz", "achieved_hz", 1.0), ("late_p99_ms", "lateness_p99_s", 1e3)):
                if not math.isclose(rec[key], scale * float(m[column][i]), rel_tol=1e-12, abs_tol=1e-12):
                    problems.append(f"machine {i} {key}: JSON {rec[key]}, file {scale * float(m[column][i])}")
    return problems


@pytest.fixture(scope="module")
def clockbench_json(tmp_path_factory) -> Dict[str, Any]:
    """One short run on 3 ranks with -o and --json, and what it printed."""
    folder = tmp_path_factory.mktemp("json-run")
    proc = run(3, ["--rates", "2,3,5", "--duration", "6", "--speedup", "20", "--seed", "11", "-o", "run.h5",
                   "--json", "run.json"], folder)
    assert proc.returncode == 0, proc.stderr
    return {"folder": folder, "stdout": proc.stdout, "doc": json.loads((folder / "run.json").read_text())}


def test_clockbench_json_holds_the_line_and_the_table(clockbench_json) -> None:
    doc, out = clockbench_json["doc"], clockbench_json["stdout"]
    assert doc["format"] == "clockbench-result/1"
    assert not check_result_json(doc, out, table=True), "\n".join(check_result_json(doc, out, table=True))
    problems = check_result_against_file(doc, clockbench_json["folder"] / "run.h5")
    assert not problems, "\n".join(problems)
    assert sorted(p.name for p in clockbench_json["folder"].iterdir()) == ["run.h5", "run.json"]


@pytest.mark.parametrize("plant", [
    lambda d: d["result"].__setitem__("events", d["result"]["events"] + 1),        # a value off by one
    lambda d: d["result"].pop("timing"),                                            # a key missing
    lambda d: d["result"].__setitem__("topology", "ring"),                          # a word changed
    lambda d: d["machines"][1].__setitem__("achieved_hz", d["machines"][1]["achieved_hz"] + 0.01),
    lambda d: d["machines"].pop(),                                                  # a machine missing
    lambda d: d["machines"][0].__setitem__("sent", d["machines"][0]["sent"] + 1),
], ids=["events", "no-timing", "topology", "achieved", "machine-missing", "sent"])
def test_the_result_checkers_catch_planted_defects(clockbench_json, plant) -> None:
    doc = copy.deepcopy(clockbench_json["doc"])
    plant(doc)
    assert check_result_json(doc, clockbench_json["stdout"], table=True) or \
        check_result_against_file(doc, clockbench_json["folder"] / "run.h5")


def test_clockbench_json_of_a_quiet_flat_out_run_without_output(tmp_path: Path) -> None:
    """-q prints only the line; the JSON still has every machine. Flat out, rate_hz is null."""
    proc = run(2, ["--rates", "max", "--max-ticks", "3000", "--duration", "1", "--no-output", "-q", "--seed", "4",
                   "--json", "r.json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    assert not check_result_json(doc, proc.stdout, table=False), check_result_json(doc, proc.stdout, table=False)
    assert doc["result"]["rates"] == "max" and doc["result"]["output"] == "none"
    assert [m["rate_hz"] for m in doc["machines"]] == [None, None]
    assert sum(m["ticks"] for m in doc["machines"]) == doc["result"]["events"]
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_clockbench_json_force_replaces_an_existing_file(tmp_path: Path) -> None:
    (tmp_path / "r.json").write_text("old results\n")
    proc = run(2, ["--rates", "2,3", "--duration", "1", "--speedup", "20", "--no-output", "-q", "--json", "r.json",
                   "--force"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "r.json").read_text())["result"]["machines"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_a_json_file_that_cannot_be_written_is_an_error(tmp_path: Path) -> None:
    """--json into a full file system: the run and its line as usual, then one error line, exit 1
    (every rank), no partial JSON left; the run's file, written elsewhere, is kept."""
    full = tmp_path / "full"
    full.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs", str(full)], capture_output=True)
    assert mounted.returncode == 0, "this test needs root to mount a tmpfs: " + mounted.stderr.decode()
    try:
        # Fill it: creating the (empty) probe file before the run still works, writing the JSON not.
        fd = os.open(full / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"x" * 512):
                pass
        except OSError:
            pass
        os.close(fd)
        proc = run(3, ["--rates", "2,3,5", "--duration", "2", "--speedup", "20", "-o", "run.h5", "--json",
                       "full/r.json"], tmp_path)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        errors = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert errors == ["clockbench: error: --json: cannot write 'full/r.json': No space left on device"], errors
        assert result_fields(proc.stdout)["status"] == "ok"
        assert sorted(p.name for p in full.iterdir()) == ["filler"]
        assert (tmp_path / "run.h5").is_file()
    finally:
        subprocess.run(["umount", "-l", str(full)], check=False)


def test_clockbench_version_names_the_build(clockbench_json) -> None:
    """clockbench --version: the project version and the git SHA the build knows, which it also
    writes into every file."""
    proc = run(1, ["--version"], clockbench_json["folder"])
    assert proc.returncode == 0, proc.stderr
    doc = clockbench_json["doc"]
    assert proc.stdout == f"clockbench {doc['clockbench_version']} (git {doc['git_sha']})\n"
    cmake = (Path(__file__).resolve().parents[2] / "CMakeLists.txt").read_text()
    assert re.search(r"project\(clockbench VERSION (\S+)", cmake).group(1) == doc["clockbench_version"]


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    """(command...) -> its text, JSON (parsed; a fresh copy each time) and CSV rows, each run once."""
    seen: Dict[tuple, tuple] = {}
    folder = tmp_path_factory.mktemp("printed")

    def get(command: tuple) -> tuple:
        if command not in seen:
            report = ["-o", folder / str(len(seen))] if command[0] == "scaling" else []
            outs = [run_cli(*command, *report), run_cli(*command, "--format", "json"),
                    run_cli(*command, "--format", "csv")]
            assert all(o.code == 0 for o in outs), [o.err for o in outs]
            seen[command] = (outs[0].out, outs[1].out, csv_records(outs[2].out))
        text, data, rows = seen[command]
        return text, json.loads(data), copy.deepcopy(rows)
    return get


# ---- summary ------------------------------------------------------------------------------------------

def summary_problems(text: str, data: Dict[str, Any]) -> Problems:
    """summary's text of one run against its JSON: the per-machine table, the checks, the verdict,
    the drift, the run line."""
    lines = text.splitlines()
    problems = compare_rows(text_table(lines, "machine"), data["machines"], "machines")
    checks = []
    start = next(i for i, ln in enumerate(lines) if ln.split()[:2] == ["machine", "quantity"])
    for ln in lines[start + 1:]:
        if ln.startswith("theory check:"):
            break
        cells = dict(zip(lines[start].split(), ln.split()))
        cells["ok"] = cells.pop("check")
        checks.append(cells)
    problems += compare_rows(checks, data["checks"], "checks", words={"pass": True, "FAIL": False})
    verdict = re.search(r"theory check: (\d+) of (\d+) pass", text)
    if (int(verdict.group(1)), int(verdict.group(2))) != (data["check"]["passed"], data["check"]["total"]):
        problems.append(f"verdict: {verdict.group(0)}, JSON {data['check']}")
    drift = re.search(r"max (\S+), mean (\S+);", text)
    if not cell_matches(drift.group(1), data["drift"]["max"]) or not cell_matches(drift.group(2), data["drift"]["mean"]):
        problems.append(f"drift: {drift.group(0)}, JSON {data['drift']}")
    r = data["run"]
    if f"{r['machines']} machines, topology {r['topology']}, p_internal {r['p_internal']:g}, seed {r['seed']}" \
            not in lines[0]:
        problems.append(f"run line {lines[0]!r} against {r}")
    return problems


def summary_file_problems(data: Dict[str, Any], path: Path) -> Problems:
    """summary's JSON against the run file."""
    problems: Problems = []
    with h5py.File(path, "r") as f:
        a, m, rank, kind = f.attrs, f["machines"], f["events/rank"][()], f["events/kind"][()]
        expect = {"machines": int(a["n_machines"]), "seed": int(a["seed"]), "topology": attr_text(a["topology"]),
                  "end_s": float(a["end_s"]), "duration_s": float(a["duration_s"])}
        problems += [f"run {k}: JSON {data['run'][k]!r}, file {v!r}" for k, v in expect.items() if data["run"][k] != v]
        for i, rec in enumerate(data["machines"]):
            ticks = int(np.count_nonzero(rank == i))
            receives = int(np.count_nonzero((rank == i) & (kind == 3)))
            if rec["ticks"] != ticks or not math.isclose(rec["receive"] * ticks, receives, abs_tol=1e-9):
                problems.append(f"machine {i}: JSON {rec['ticks']} ticks, {rec['receive']} receive; file {ticks}, "
                                f"{receives}")
            for key, column in (("rate_hz", "rate_hz"), ("achieved_hz", "achieved_hz"), ("phase_s", "phase_s"),
                                ("queue_final", "left_in_queue")):
                if rec[key] != m[column][i]:
                    problems.append(f"machine {i} {key}: JSON {rec[key]}, file {m[column][i]}")
    return problems


def summary_csv_problems(rows: List[Dict[str, str]], data: List[Dict[str, Any]]) -> Problems:
    """summary's CSV (one row per machine of every run) against its JSON."""
    records = []
    for run_data in data:
        by = {(c["machine"], c["quantity"]): c for c in run_data["checks"]}
        for rec in run_data["machines"]:
            out = {"file": run_data["file"], **rec}
            for q in ("lambda_hz", "rho", "dQ/dt", "queue_mean", "jump_mean"):
                c = by.get((rec["machine"], q))
                for k in ("measured", "predicted", "tolerance", "mean_field"):
                    out[f"{q}_{k}"] = c[k] if c else None
                out[f"{q}_check"] = ("pass" if c["ok"] else "FAIL") if c else None
            records.append(out)
    return compare_csv(rows, records, "summary csv")


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> List[Path]:
    folder = tmp_path_factory.mktemp("summary-runs")
    return [write_run(folder / "a.h5", simulate_model(rates=(2.0, 3.0, 8.0), duration_s=20.0, seed=3)),
            write_run(folder / "b.h5", simulate_model(rates=(1.0, 4.0, 5.0, 6.0), duration_s=15.0, seed=5,
                                                      topology="ring"))]


def test_summary_json_and_csv_say_what_the_text_says(two_runs, cli) -> None:
    res = cli("summary", *two_runs, "--format", "json")
    assert res.code == 0 and res.err == "", res.err
    doc = json.loads(res.out)
    assert doc["format"] == "clockbench-summary/1" and [r["file"] for r in doc["runs"]] == list(map(str, two_runs))
    for path, data in zip(two_runs, doc["runs"]):
        text = cli("summary", path)
        assert text.code == 0, text.err
        problems = summary_problems(text.out, data) + summary_file_problems(data, path)
        assert not problems, "\n".join(problems)
    res = cli("summary", *two_runs, "--format", "csv")
    assert res.code == 0, res.err
    problems = summary_csv_problems(csv_records(res.out), doc["runs"])
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("plant,in_csv", [
    (lambda d: d["machines"][1].__setitem__("queue_mean", d["machines"][1]["queue_mean"] + 0.1), True),
    (lambda d: d["machines"][0].__setitem__("ticks", d["machines"][0]["ticks"] - 1), True),
    (lambda d: d["machines"][2].__setitem__("host", "elsewhere"), True),
    (lambda d: d["checks"][0].__setitem__("ok", not d["checks"][0]["ok"]), True),
    (lambda d: d["checks"].pop(), True),
    (lambda d: d["check"].__setitem__("passed", d["check"]["passed"] - 1), False),
    (lambda d: d["drift"].__setitem__("max", d["drift"]["max"] + 1), False),
    (lambda d: d["run"].__setitem__("seed", d["run"]["seed"] + 1), False),
    (lambda d: d["machines"][0].__setitem__("rate_hz", 2.5), True),
], ids=["queue-mean", "ticks", "host", "check-ok", "check-missing", "passed", "drift", "seed", "rate"])
def test_the_summary_checkers_catch_planted_defects(two_runs, printed, plant, in_csv: bool) -> None:
    path = two_runs[0]
    text, data, rows = printed(("summary", path))
    data = data["runs"][0]
    plant(data)
    assert summary_problems(text, data) or summary_file_problems(data, path)
    if in_csv:  # the CSV has the machines and their checks, not the run-wide figures
        assert summary_csv_problems(rows, [data])


def test_summary_check_exits_1_when_a_theory_check_fails(tmp_path: Path, cli) -> None:
    """--check: 0 when every check passes, 1 when one fails (whatever the format), 2 for a file that
    cannot be read; without --check a failed check still exits 0."""
    good = write_run(tmp_path / "good.h5", simulate_model(rates=(2.0, 3.0, 8.0), duration_s=20.0, seed=3))
    data = simulate_model(rates=(2.0, 3.0, 8.0), duration_s=20.0, seed=3)
    data.machines["rate_hz"] = data.machines["rate_hz"] * 3  # the theory predicts from rates the run did not have
    bad = write_run(tmp_path / "bad.h5", data)
    assert json.loads(cli("summary", good, "--format", "json").out)["runs"][0]["check"]["ok"] is True
    assert json.loads(cli("summary", bad, "--format", "json").out)["runs"][0]["check"]["ok"] is False
    assert cli("summary", "--check", good).code == 0
    for fmt in ("text", "json", "csv"):
        assert cli("summary", "--check", "--format", fmt, bad).code == 1, fmt
    assert cli("summary", bad).code == 0
    assert cli("summary", "--check", good, bad).code == 1
    (tmp_path / "not.h5").write_bytes(b"not hdf5")
    res = cli("summary", "--check", bad, tmp_path / "not.h5")
    assert res.code == 2 and res.err.count("\n") == 1


# ---- theory -------------------------------------------------------------------------------------------

THEORY_TEXT_COLUMNS = ["machine", "rate_hz", "lambda_hz", "rho", "queue", "dQ/dt", "sends_hz", "mix"]


def theory_problems(text: str, data: Dict[str, Any]) -> Problems:
    """theory's text table against its JSON rows (and the closed form line)."""
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.split()[:2] == ["machine", "rate_hz"])
    rows = []
    for ln in lines[start + 1:start + 1 + data["machines"]]:
        cells = dict(zip(THEORY_TEXT_COLUMNS, ln.split()))
        cells["stable"] = cells.pop("queue")
        for name, value in zip(("internal", "send_one", "send_all", "receive"), cells.pop("mix").split("/")):
            cells[name] = value
        rows.append(cells)
    problems = compare_rows(rows, data["rows"], "theory", words={"stable": True, "GROWS": False})
    if f"theory: {data['machines']} machines, topology {data['topology']}, p_internal {data['p_internal']:g}" \
            not in text:
        problems.append("the theory line differs")
    closed = re.search(r"lambda = \[(.*)\]: (agrees|DISAGREES)", text)
    if (closed is None) != (data.get("closed_form") is None):
        problems.append("closed form in one and not the other")
    elif closed:
        shown = [float(x) for x in closed.group(1).split(",")]
        if not np.allclose(shown, data["closed_form"]["lambda_hz"], atol=0.5e-4) or \
                (closed.group(2) == "agrees") != data["closed_form"]["agrees"]:
            problems.append(f"closed form: {closed.group(0)}, JSON {data['closed_form']}")
    return problems


@pytest.mark.parametrize("args", [["--rates", "1,2,6"], ["--rates", "1,1.5,2,9", "--p-internal", "0.3"],
                                  ["--rates", "2,3,4,5,9", "--topology", "ring"], ["FILE"]],
                         ids=["classic", "growing", "ring", "file"])
def test_theory_json_and_csv_say_what_the_text_says(args, two_runs, cli) -> None:
    args = [str(two_runs[1]) if a == "FILE" else a for a in args]
    text = cli("theory", *args)
    res = cli("theory", *args, "--format", "json")
    assert text.code == 0 and res.code == 0, text.err + res.err
    data = json.loads(res.out)
    assert data["format"] == "clockbench-theory/1"
    assert data["source"] == (args[0] if args[0] != "--rates" else None)
    problems = theory_problems(text.out, data)
    assert not problems, "\n".join(problems)
    if args[0] == "--rates":
        assert [r["rate_hz"] for r in data["rows"]] == [float(x) for x in args[1].split(",")]
    rows = csv_records(cli("theory", *args, "--format", "csv").out)
    assert not compare_csv(rows, data["rows"], "theory csv"), compare_csv(rows, data["rows"], "theory csv")


@pytest.mark.parametrize("plant,in_rows", [
    (lambda d: d["rows"][2].__setitem__("lambda_hz", d["rows"][2]["lambda_hz"] + 0.001), True),
    (lambda d: d["rows"][0].__setitem__("stable", not d["rows"][0]["stable"]), True),
    (lambda d: d["rows"][1].__setitem__("receive", d["rows"][1]["receive"] + 0.01), True),
    (lambda d: d["rows"].pop(), True),
    (lambda d: d["closed_form"]["lambda_hz"].__setitem__(0, d["closed_form"]["lambda_hz"][0] + 0.01), False),
], ids=["lambda", "stable", "mix", "row-missing", "closed-form"])
def test_the_theory_checkers_catch_planted_defects(printed, plant, in_rows: bool) -> None:
    text, data, rows = printed(("theory", "--rates", "1,2,6"))
    plant(data)
    assert theory_problems(text, data)
    if in_rows:  # the CSV has the rows only
        assert compare_csv(rows, data["rows"], "theory csv")


# ---- scaling ------------------------------------------------------------------------------------------

def scaling_problems(text: str, records: List[Dict[str, Any]]) -> Problems:
    """scaling's text table against its records; 'bounded' is a mean-field growth of 0."""
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.split()[:2] == ["topology", "N"])
    headers, rows = lines[start].split(), []
    for ln in lines[start + 1:]:
        if len(ln.split()) != len(headers):
            break
        rows.append(dict(zip(headers, ln.split())))
    return compare_rows(rows, records, "scaling", words={"bounded": lambda v: abs(v) < 1e-9})


@pytest.fixture(scope="module")
def scaling_runs(tmp_path_factory) -> List[Path]:
    folder = tmp_path_factory.mktemp("scaling-runs")
    return [write_run(folder / f"{topo}-{len(rates)}.h5",
                      simulate_model(rates=rates, duration_s=15.0, seed=len(rates), topology=topo))
            for topo, rates in (("full", (1.0, 3.0, 6.0)), ("full", (1.0, 2.0, 4.0, 5.0, 6.0)),
                                ("ring", (1.0, 2.0, 3.0, 5.0, 6.0)))]


def test_scaling_json_and_csv_say_what_the_text_says(scaling_runs, tmp_path: Path, cli) -> None:
    text = cli("scaling", *scaling_runs, "-o", tmp_path / "text")
    res = cli("scaling", *scaling_runs, "--format", "json", "-o", tmp_path / "json")
    assert text.code == 0 and res.code == 0, text.err + res.err
    doc = json.loads(res.out)
    assert doc["format"] == "clockbench-scaling/1" and doc["skipped"] == []
    assert doc["report"]["html"] == str(tmp_path / "json" / "scaling.html") and Path(doc["report"]["html"]).is_file()
    problems = scaling_problems(text.out, doc["runs"])
    assert not problems, "\n".join(problems)
    with h5py.File(doc["runs"][0]["file"], "r") as f:
        assert (doc["runs"][0]["N"], doc["runs"][0]["seed"], doc["runs"][0]["topology"]) == \
            (int(f.attrs["n_machines"]), int(f.attrs["seed"]), attr_text(f.attrs["topology"]))
    assert sorted(r["file"] for r in doc["runs"]) == sorted(map(str, scaling_runs))
    csv_out = cli("scaling", *scaling_runs, "--format", "csv")  # no -o: no report, the records only
    assert csv_out.code == 0, csv_out.err
    assert not compare_csv(csv_records(csv_out.out), doc["runs"], "scaling csv")


def test_scaling_text_still_needs_a_folder(scaling_runs, cli) -> None:
    res = cli("scaling", *scaling_runs)
    assert res.code == 2 and res.out == ""
    assert res.err.count("\n") == 1 and "-o/--output" in res.err


@pytest.mark.parametrize("plant", [
    lambda r: r[0].__setitem__("drift_max", r[0]["drift_max"] + 1),
    lambda r: r[1].__setitem__("lag_slope_mf", r[1]["lag_slope_mf"] + 0.5),
    lambda r: r[2].__setitem__("growing", r[2]["growing"] + 0.2),
    lambda r: r.pop(),
], ids=["drift", "bounded", "growing", "row-missing"])
def test_the_scaling_checker_catches_planted_defects(scaling_runs, printed, plant) -> None:
    text, records, rows = printed(("scaling", *scaling_runs))
    records = records["runs"]
    plant(records)
    assert scaling_problems(text, records)
    assert compare_csv(rows, records, "scaling csv")
