"""Clock offsets across clocks that differ (docs/model.md, "God's-eye time"): every rank runs in its
own Linux time namespace with a planted CLOCK_MONOTONIC offset, sub-second parts included
(plant_clock.py), so that the ranks of one host read clocks as different as those of different
hosts (one hardware clock underneath: their rates are the same). With the estimate forced on (all
ranks share one host name here), each rank's recorded offset is its planted offset minus rank 0's
within the recorded uncertainty, which is microseconds; the end estimate agrees and the rate
difference is 0 within the uncertainties; `verify` passes. With the estimate off, the same planted
run gives a file that `verify` fails: receives stamped before their sends. Ranks given host names
of their own (a UTS namespace each) show the estimate as a cluster runs it: one rank per host
measures, the others share its estimate."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Sequence

import h5py
import numpy as np
import pytest

from runs import BIN, MPI_ENV, result_fields, verify

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "analysis"))
from clockbench.file.schema import open_run  # noqa: E402
from clockbench.file.verify import verify as verify_run  # noqa: E402

PLANT = Path(__file__).resolve().with_name("plant_clock.py")
NS = 1_000_000_000
# Planted CLOCK_MONOTONIC offsets, ns, by rank: rank 0's too, so the recorded ones are differences;
# ahead of and behind rank 0, by up to about a second.
PLANTED = (250_000_000, 823_456_789, -387_654_321, 1_000_000_001, 615_384_615, -271_828_183, 1_141_592_654, 1_000)
# Days apart, and one behind (a negative offset may take the clock down to 0, not below).
DAYS_APART = (2 * 86400 * NS + 500_000_000, -750_000_000, 5 * 86400 * NS + 123_456_789)
# A paced run: ticks at 1 to 6 Hz for 10 model s, one wall second; mostly sends.
PACED = ["--duration", "10", "--speedup", "10", "--p-internal", "0.3", "--seed", "11"]
# The Cristian bound is exact for the clock readings; this is float rounding of seconds ~1e5.
FLOAT_SLACK_S = 1e-9
MICROSECONDS = 1e-3  # "microseconds, not milliseconds": every uncertainty is below this


def run_planted(np_: int, planted: Sequence[int], args: Sequence[str], cwd: Path, estimate: str,
                hosts: Sequence[str] = (), timeout: float = 120) -> subprocess.CompletedProcess:
    """clockbench on np_ ranks, each in its own time namespace (and with `hosts`, its own host
    name), with --clock-estimate `estimate`: "force", "off" or "auto"."""
    env = {**os.environ, **MPI_ENV}
    named = ["--hosts", ",".join(hosts[:np_])] if hosts else []
    command = ["mpiexec", "-q", "-n", str(np_), sys.executable, str(PLANT),
               ",".join(str(p) for p in planted[:np_]), *named, str(BIN), "--clock-estimate", estimate,
               *map(str, args)]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def machines(path: Path) -> Dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        return {k: f["machines"][k][:] for k in f["machines"]}


def check_offsets(m: Dict[str, np.ndarray], planted: Sequence[int], on_rank_0s_host: Sequence[int] = ()) -> List[str]:
    """Asserts the recorded offsets against the planted ones; returns the figures, one line a rank.
    The ranks `on_rank_0s_host` read rank 0's clock: 0 exactly, nothing estimated."""
    n = len(m["rank"])
    start, u_start = m["clock_offset_s"], m["clock_offset_uncertainty_s"]
    end, u_end = m["clock_offset_end_s"], m["clock_offset_end_uncertainty_s"]
    ppm, interval = m["clock_rate_ppm"], m["clock_offset_interval_s"]
    lines = []
    for r in range(n):
        want = (planted[r] - planted[0]) / NS
        lines.append(f"rank {r}: planted {want:+.9f} s, start {start[r] - want:+.3e} s (u {u_start[r]:.2e}), "
                     f"end {end[r] - want:+.3e} s (u {u_end[r]:.2e}), {ppm[r]:+.4f} ppm over {interval[r]:.3f} s")
    figures = "\n".join(lines)
    for r in (0, *on_rank_0s_host):  # the reference
        assert start[r] == end[r] == u_start[r] == u_end[r] == ppm[r] == 0.0, figures
    for r in sorted(set(range(1, n)) - set(on_rank_0s_host)):
        want = (planted[r] - planted[0]) / NS
        assert 0 < u_start[r] < MICROSECONDS and 0 < u_end[r] < MICROSECONDS, figures
        assert abs(start[r] - want) <= u_start[r] + FLOAT_SLACK_S, figures
        assert abs(end[r] - want) <= u_end[r] + FLOAT_SLACK_S, figures
        # One hardware clock: the rates are equal, so only the two estimates' errors show.
        assert interval[r] > 0 and abs(ppm[r]) <= (u_start[r] + u_end[r] + 2 * FLOAT_SLACK_S) / interval[r] * 1e6, \
            figures
    return lines


def assert_paced_on_time(m: Dict[str, np.ndarray], timing: str) -> None:
    """A run paced on the right offsets misses no tick; on a loaded machine the run may say it did
    not keep up, and then a rank may miss its last tick (due within the grace of the end), no more.
    A rank paced on a wrong offset (the planted ones are 0.39 s and days) would start its ticks that
    much late and miss every tick due in its last 0.39 s, several at these rates."""
    if timing == "ok":
        assert (m["missed_ticks"] == 0).all(), m["missed_ticks"]
    else:
        assert (m["missed_ticks"] <= 1).all(), (timing, m["missed_ticks"])


def test_the_planted_offset_is_in_a_ranks_clock(tmp_path: Path) -> None:
    """The wrapper itself: a process it starts reads its rank's planted offset."""
    env = {**os.environ, "OMPI_COMM_WORLD_RANK": "2"}
    out = subprocess.run([sys.executable, str(PLANT), ",".join(map(str, PLANTED)), "/bin/cat",
                          "/proc/self/timens_offsets"], env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[:3] == ["monotonic", "-1", "612345679"]  # -387654321 ns


@pytest.mark.parametrize("np_", [2, 3, 8], ids=["np2", "np3", "np8"])
def test_offsets_are_recovered_and_verify_needs_them(np_: int, tmp_path: Path) -> None:
    on, off = tmp_path / "on.h5", tmp_path / "off.h5"
    proc = run_planted(np_, PLANTED, [*PACED, "-o", on, "-q"], tmp_path, "force")
    assert proc.returncode == 0, proc.stderr
    assert result_fields(proc.stdout)["status"] == "ok"
    m = machines(on)
    print("\n".join(check_offsets(m, PLANTED)))
    # Paced on the offsets: every rank ran every tick due in the 10 s, none missed.
    assert_paced_on_time(m, result_fields(proc.stdout)["timing"])
    v = verify(on)
    assert v.returncode == 0, v.stdout + v.stderr

    # The same planted clocks with the estimate off: every offset taken as 0.
    proc = run_planted(np_, PLANTED, [*PACED, "-o", off, "-q"], tmp_path, "off")
    assert proc.returncode == 0, proc.stderr
    m = machines(off)
    assert (m["clock_offset_s"] == 0).all() and (m["clock_offset_uncertainty_s"] == 0).all()
    v = verify(off)
    assert v.returncode == 1 and v.stdout.startswith(f"FAIL {off}"), v.stdout + v.stderr
    found = {x.check: str(x) for x in verify_run(open_run(off)).violations}
    assert "receive-after-send" in found, found
    assert "before it was sent" in found["receive-after-send"]
    assert "more than the clock offset uncertainty 0 s allows" in found["receive-after-send"]


def test_clocks_days_apart_and_one_behind(tmp_path: Path) -> None:
    out = tmp_path / "days.h5"
    proc = run_planted(3, DAYS_APART, [*PACED, "-o", out, "-q"], tmp_path, "force")
    assert proc.returncode == 0, proc.stderr
    m = machines(out)
    print("\n".join(check_offsets(m, DAYS_APART)))
    assert_paced_on_time(m, result_fields(proc.stdout)["timing"])
    v = verify(out)
    assert v.returncode == 0, v.stdout + v.stderr


def test_the_ranks_of_a_host_share_its_estimate(tmp_path: Path) -> None:
    """--clock-estimate auto: ranks named as rank 0's host read its clock (offset 0 exactly); on
    each other host one rank measures and the others take its estimate, bit for bit."""
    hosts = ["ha", "ha", "hb", "hb", "hb", "hc"]
    planted = [PLANTED[hosts.index(h)] for h in hosts]  # one clock per host
    out = tmp_path / "hosts.h5"
    proc = run_planted(6, planted, [*PACED, "-o", out, "-q"], tmp_path, "auto", hosts=hosts)
    assert proc.returncode == 0, proc.stderr
    m = machines(out)
    assert [h.decode() for h in m["hostname"]] == hosts
    for name in ("clock_offset_s", "clock_offset_uncertainty_s", "clock_offset_end_s",
                 "clock_offset_end_uncertainty_s", "clock_rate_ppm", "clock_offset_interval_s",
                 "clock_offset_start_t_s"):
        assert m[name][2] == m[name][3] == m[name][4], (name, m[name])
    print("\n".join(check_offsets(m, planted, on_rank_0s_host=[1])))
    v = verify(out)
    assert v.returncode == 0, v.stdout + v.stderr


def test_flat_out_on_planted_clocks_verifies(tmp_path: Path) -> None:
    """Flat out, a message's arrival is its send's t as the loop stamped it: the file's t, moved onto
    the offset's line, must still agree within that move."""
    out = tmp_path / "flat.h5"
    proc = run_planted(3, PLANTED, ["--rates", "max", "--max-ticks", "2000000", "--duration", "0.5", "--seed", "5",
                                    "-o", out, "-q"], tmp_path, "force")
    assert proc.returncode == 0, proc.stderr
    print("\n".join(check_offsets(machines(out), PLANTED)))
    v = verify(out)
    assert v.returncode == 0, v.stdout + v.stderr
