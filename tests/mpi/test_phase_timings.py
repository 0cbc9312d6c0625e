"""clockbench --timings: one CLOCKBENCH_TIMINGS line, from rank 0 only, after the result line, with
every phase in run order (docs/measurements.md, "Phases of a run"); phases that did not happen are
0; the timed window is at least the run's wall duration, which the loop waits out by construction.
Then one CLOCKBENCH_LOOP line: the ranks' tick loops summed (docs/measurements.md, "Where a tick's
time goes"), whose ticks and messages are the file's own counts. How long anything takes is a figure
of bench/run, never judged here."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import h5py
import pytest

from runs import result_fields, run

PHASES = ["mpi_init_s", "setup_s", "reserve_s", "clock_estimate_s", "warm_up_s", "start_wait_s", "ticking_s",
          "drain_s", "end_estimate_s", "settle_s", "journal_s", "write_s", "report_s", "finalize_s"]


LOOP = ["ranks", "ticks", "messages", "cpu_user_s", "cpu_sys_s", "sleeps", "polls", "board_checks",
        "voluntary_switches", "involuntary_switches", "journal_cpu_s", "realtime_ranks", "cpu_us_per_tick", "user_us_per_tick",
        "sys_us_per_tick", "sleeps_per_tick", "polls_per_tick", "board_checks_per_tick", "messages_per_tick",
        "switches_per_tick", "cores"]


def timings(stdout: str, prefix: str = "CLOCKBENCH_TIMINGS") -> List[List[str]]:
    return [ln.split()[1:] for ln in stdout.splitlines() if ln.startswith(prefix + " ")]


def loop_account(stdout: str) -> Dict[str, float]:
    lines = timings(stdout, "CLOCKBENCH_LOOP")
    assert len(lines) == 1, stdout  # rank 0's only
    pairs = [kv.split("=", 1) for kv in lines[0]]
    assert [k for k, _ in pairs] == LOOP
    return {k: float(v) for k, v in pairs}


@pytest.mark.parametrize("np_, journal", [(2, True), (3, False), (8, True)])
def test_loop_account_of_a_paced_run(tmp_path: Path, np_: int, journal: bool) -> None:
    out = tmp_path / "run.h5"
    args = ["--duration", 4, "--speedup", 20, "--seed", 3, "--timings", "-q", "-o", out]
    proc = run(np_, args + ([] if journal else ["--flush-interval", 0]), tmp_path)
    assert proc.returncode == 0, proc.stderr
    a = loop_account(proc.stdout)
    assert proc.stdout.index("CLOCKBENCH_TIMINGS") < proc.stdout.index("CLOCKBENCH_LOOP")
    with h5py.File(out, "r") as f:
        events, sent = f["events/tick"].shape[0], int(f["network/sent"][:].sum())
    assert (a["ranks"], a["ticks"], a["messages"]) == (np_, events, sent)
    assert all(a[k] >= 0 for k in LOOP)
    # Every paced tick looks at the board once at least. On one host the board gates the network:
    # a rank polls after a look at the board that counts a message on its way, at the end of a
    # grace, or on a wake between ticks; never on its own.
    assert a["board_checks"] >= a["ticks"]
    assert 0 < a["polls"] <= a["board_checks"] + a["sleeps"]
    assert (a["journal_cpu_s"] > 0) == journal
    assert a["realtime_ranks"] == 0  # --realtime not given (tests/mpi/test_realtime.py)
    cpu = a["cpu_user_s"] + a["cpu_sys_s"]
    assert a["cpu_us_per_tick"] == pytest.approx(1e6 * cpu / a["ticks"], rel=1e-3)
    assert a["messages_per_tick"] == pytest.approx(sent / events, rel=1e-3)
    assert a["switches_per_tick"] == pytest.approx(
        (a["voluntary_switches"] + a["involuntary_switches"]) / a["ticks"], rel=1e-3)
    t = {k: float(v) for k, v in (kv.split("=", 1) for kv in timings(proc.stdout)[0])}
    assert a["cores"] == pytest.approx(cpu / t["ticking_s"], rel=1e-3)


@pytest.mark.parametrize("np_", [3, 6])
def test_one_host_paced_run_without_messages_leaves_the_network_alone(tmp_path: Path, np_: int) -> None:
    # No machine ever sends (every free tick internal), so the board never counts a message and no
    # sender is ever behind: a rank whose senders are all on its host's board has no reason to
    # poll the network, on a tick or on a wake between ticks. (Only at the end of a grace would it,
    # should a sender be descheduled for 64 of its ticks: rare, allowed for one tick in 20.) A loop
    # that polled on its own would poll at least once a tick.
    proc = run(np_, ["--duration", 30, "--speedup", 100, "--seed", 5, "--p-internal", 1, "--no-output", "--timings",
                     "-q"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    a = loop_account(proc.stdout)
    assert a["messages"] == 0 and a["ticks"] >= 30 * np_
    assert a["board_checks"] >= a["ticks"]
    assert a["polls"] <= a["ticks"] / 20


def test_loop_account_of_a_flat_out_run_looks_at_no_board(tmp_path: Path) -> None:
    proc = run(2, ["--rates", "max", "--duration", 0.2, "--max-ticks", 100000, "--no-output", "--timings", "-q"],
               tmp_path)
    assert proc.returncode == 0, proc.stderr
    a = loop_account(proc.stdout)
    fields = result_fields(proc.stdout)
    assert a["ticks"] == int(fields["events"]) and a["messages"] == int(fields["messages_sent"])
    assert a["board_checks"] == 0 and a["polls"] >= a["ticks"] and a["journal_cpu_s"] == 0


@pytest.mark.parametrize("np_", [2, 3, 8])
def test_timings_line_of_a_paced_run(tmp_path: Path, np_: int) -> None:
    out = tmp_path / "run.h5"
    proc = run(np_, ["--duration", 4, "--speedup", 20, "--seed", 3, "--timings", "-q", "-o", out], tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = timings(proc.stdout)
    assert len(lines) == 1, proc.stdout  # rank 0's only
    pairs = [kv.split("=", 1) for kv in lines[0]]
    assert [k for k, _ in pairs] == PHASES + ["sum_s"]
    t: Dict[str, float] = {k: float(v) for k, v in pairs}
    assert all(v >= 0 for v in t.values())
    assert t["sum_s"] == pytest.approx(sum(t[k] for k in PHASES), rel=1e-4, abs=1e-5)
    # The loop ticks until model time 4 s at 20x: 0.2 wall s at least, and waits out the end.
    assert t["ticking_s"] >= 0.2 * (1 - 1e-6)
    assert t["write_s"] > 0 and t["journal_s"] > 0
    # The result line comes first; the timings follow MPI_Finalize.
    assert proc.stdout.index("CLOCKBENCH_RESULT") < proc.stdout.index("CLOCKBENCH_TIMINGS")


def test_no_output_no_journal_phases_are_zero(tmp_path: Path) -> None:
    proc = run(2, ["--rates", "max", "--duration", 0.2, "--max-ticks", 100000, "--no-output", "--timings", "-q"],
               tmp_path)
    assert proc.returncode == 0, proc.stderr
    t = {k: float(v) for k, v in (kv.split("=", 1) for kv in timings(proc.stdout)[0])}
    assert t["write_s"] == 0 and t["journal_s"] == 0
    assert result_fields(proc.stdout)["output"] == "none"


def test_without_the_option_no_line(tmp_path: Path) -> None:
    proc = run(2, ["--duration", 2, "--speedup", 20, "--no-output"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert timings(proc.stdout) == [] and timings(proc.stdout, "CLOCKBENCH_LOOP") == []
