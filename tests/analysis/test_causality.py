"""Vector clocks and causality statistics (analysis/clockbench/measure/causality.py) against a textbook
implementation written here: events taken one at a time in god's-eye time order, each receive
merging its send's vector, every pair of events compared by their vectors, and the longest
causal chain by dynamic programming over that order. Small replayed runs (replay.py), full and
ring, several rates and p_internal, with latency; and planted faults the command must report."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Dict, List, Tuple

import h5py
import numpy as np
import pytest

from conftest import write_run
from model_sim import from_replay
from replay import replay

from clockbench.measure.causality import CausalityError, analyse_causality, vector_clocks
from clockbench.file.schema import open_run

CASES = (
    ([1.0, 2.0, 3.0], 0.7, "full", "0", 30.0),
    ([4.0, 1.0, 4.0], 0.5, "full", "0.2", 20.0),
    ([2.0, 3.0, 1.0, 5.0, 2.0], 0.6, "ring", "exp:0.1", 15.0),
    ([6.0, 6.0, 6.0, 6.0], 1.0, "full", "0", 5.0),
)


def textbook(events: Dict[str, np.ndarray], n: int) -> Tuple[Dict[Tuple[int, int], Tuple[int, ...]], Dict[Tuple[int, int], int]]:
    """Vector clock and longest chain of every (machine, tick), events taken in god's-eye time
    order (a receive is always later than its send: it is taken strictly after the arrival)."""
    order = sorted(range(events["rank"].size), key=lambda e: (events["t"][e], events["rank"][e]))
    vc: Dict[Tuple[int, int], Tuple[int, ...]] = {}
    chain: Dict[Tuple[int, int], int] = {}
    current = [[0] * n for _ in range(n)]
    last_chain = [0] * n
    for e in order:
        i, k = int(events["rank"][e]), int(events["tick"][e])
        v = current[i]
        c = last_chain[i] + 1
        if events["kind"][e] == 3:
            sender = (int(events["peer"][e]), int(events["msg_tick"][e]))
            v = [max(a, b) for a, b in zip(v, vc[sender])]
            c = max(c, chain[sender] + 1)
        v = list(v)
        v[i] = k + 1
        vc[(i, k)] = tuple(v)
        chain[(i, k)] = c
        current[i], last_chain[i] = v, c
    return vc, chain


def run_file(tmp_path: Path, rates, p, topology, latency, duration, seed=3) -> Path:
    return write_run(tmp_path / "run.h5", from_replay(replay(rates, seed, duration, p, topology, "random", latency)))


@pytest.mark.parametrize("rates,p,topology,latency,duration", CASES)
def test_against_textbook(tmp_path: Path, rates, p, topology, latency, duration) -> None:
    run = open_run(run_file(tmp_path, rates, p, topology, latency, duration))
    ev, n = run.events, run.n_machines
    vc_ref, chain_ref = textbook(ev, n)
    vc = vector_clocks(run)
    for e in range(run.n_events):
        key = (int(ev["rank"][e]), int(ev["tick"][e]))
        assert tuple(vc.clocks[e]) == vc_ref[key], f"event {key}"
    rep = analyse_causality(run)
    assert rep.conditions.ok
    assert rep.longest_chain == max(chain_ref.values())
    # every pair, compared by its vectors
    vectors = [np.array(vc_ref[(int(ev["rank"][e]), int(ev["tick"][e]))]) for e in range(run.n_events)]
    ordered = sum(1 for a, b in itertools.combinations(vectors, 2) if np.all(a <= b) or np.all(b <= a))
    lam = ev["lamport"]
    lamport_below = sum(1 for a, b in itertools.combinations(lam, 2) if a != b)
    assert rep.pairs.pairs == run.n_events * (run.n_events - 1) // 2
    assert rep.pairs.ordered == ordered
    assert rep.pairs.lamport_below == lamport_below
    if p == 1.0:
        assert rep.pairs.ordered == sum(c * (c - 1) // 2 for c in np.bincount(ev["rank"]))  # p_internal 1: no messages, only program order


def test_staleness_against_textbook(tmp_path: Path) -> None:
    """Knowledge of machine j at machine i at god's-eye time s: V_i(s)[j] against j's own count."""
    run = open_run(run_file(tmp_path, [1.0, 2.0, 3.0], 0.7, "full", "0", 20.0))
    ev, n = run.events, run.n_machines
    vc_ref, _ = textbook(ev, n)
    rep = analyse_causality(run)
    grid = rep.staleness.grid
    for i, j in ((0, 1), (2, 0), (1, 2)):
        behind: List[float] = []
        for s in grid:
            mine = [int(k) for r, k, t in zip(ev["rank"], ev["tick"], ev["t"]) if r == i and t <= s]
            theirs = sum(1 for r, t in zip(ev["rank"], ev["t"]) if r == j and t <= s)
            known = vc_ref[(i, max(mine))][j] if mine else 0
            behind.append(theirs - known)
        assert rep.staleness.events_behind[i, j] == pytest.approx(np.mean(behind), abs=1e-9)


def test_a_receive_naming_a_missing_send_is_an_error(tmp_path: Path, cli) -> None:
    path = run_file(tmp_path, [1.0, 2.0, 3.0], 0.7, "full", "0", 10.0)
    with h5py.File(path, "r+") as f:
        kind = f["events/kind"][:]
        first = int(np.flatnonzero(kind == 3)[0])
        f["events/msg_tick"][first] = 10 ** 6
    with pytest.raises(CausalityError, match="not a send"):
        analyse_causality(open_run(path))
    res = cli("causality", str(path))
    assert res.code == 2 and len(res.err.strip().splitlines()) == 1, res.err


def test_a_planted_lamport_fault_is_reported(tmp_path: Path, cli) -> None:
    """A receive whose Lamport clock is not above its send's: the clock condition fails, exit 1."""
    path = run_file(tmp_path, [1.0, 2.0, 3.0], 0.7, "full", "0", 10.0)
    with h5py.File(path, "r+") as f:
        kind, lam = f["events/kind"][:], f["events/lamport"][:]
        first = int(np.flatnonzero(kind == 3)[0])
        lam[first] = 0
        f["events/lamport"][:] = lam
    rep = analyse_causality(open_run(path))
    assert not rep.conditions.ok and rep.conditions.lamport_not_increasing > 0
    res = cli("causality", "--json", str(path))
    assert res.code == 1
    assert json.loads(res.out)[0]["conditions_hold"] is False


def test_command_on_a_good_file(tmp_path: Path, cli) -> None:
    path = run_file(tmp_path, [2.0, 3.0, 4.0], 0.7, "ring", "0", 10.0)
    res = cli("causality", str(path))
    assert res.code == 0, res.err
    assert "vector-clock condition: holds" in res.out


def concurrent_share(path: Path) -> float:
    """The textbook's share of concurrent pairs of a file."""
    run = open_run(path)
    vc_ref, _ = textbook(run.events, run.n_machines)
    vectors = list(vc_ref.values())
    pairs = list(itertools.combinations(vectors, 2))
    concurrent = sum(1 for a, b in pairs if not (all(x <= y for x, y in zip(a, b)) or all(y <= x for x, y in zip(a, b))))
    return concurrent / len(pairs)


def test_report_has_the_causality_section(tmp_path: Path, cli) -> None:
    path = run_file(tmp_path, [1.0, 2.0, 3.0], 0.8, "full", "0", 20.0)
    res = cli("report", str(path), "-o", str(tmp_path / "rep"))
    assert res.code == 0, res.err
    md = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    section = md.split("### Causality", 1)[1].split("\n### ", 1)[0]
    assert f"{100 * concurrent_share(path):.3g} %" in section
    assert "| holds |" in section and "knows 0 (s behind)" in section


def test_notebook_compares_the_variants_causality(tmp_path: Path) -> None:
    """Two variants of different p_internal: the table's shares are the textbook's, and the sentence
    names the variant with more concurrency (fewer messages) as the one with more."""
    from clockbench.documents import notebook
    from clockbench.exercise import MATRICES, Settings, Trial
    from clockbench.measure.metrics import jump_profiles
    from clockbench.theory.run_analysis import analyse
    from clockbench.file.verify import verify

    matrix = MATRICES["assignment"]
    settings = Settings(matrix, str(tmp_path), 3, 20.0, 1.0, 1, "clockbench", "2026-11-28 00:00:00 UTC")
    trials, shares = [], {}
    for k, (v, p) in enumerate([(matrix.variants[0], 0.9), (matrix.variants[1], 0.3)], 1):
        path = write_run(tmp_path / f"trial{k}.h5", from_replay(replay([2.0, 3.0, 4.0], k, 20.0, p)))
        run = open_run(path)
        trials.append(Trial(k, v, k, str(path), ["clockbench"], verified=verify(run),
                            analysis=analyse(run, histograms=False), jumps=jump_profiles(run)))
        shares[v.key] = concurrent_share(path)
    md = notebook.build_notebook(settings, trials).to_markdown()
    section = md.split("## Causality across the variants", 1)[1].split("\n## ", 1)[0]
    for key, share in shares.items():
        assert f"| {key} | 1 | {100 * share:.3g} % |" in section, section
    more = max(shares, key=shares.get)
    assert f"Concurrency: variant {more} " in section
