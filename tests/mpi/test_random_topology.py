"""--topology random:K under mpiexec (docs/model.md, "Topologies"): the file's graph is the one the
independent reading of the model (tests/analysis/replay.py) draws from the seed, every machine has
K peers, `verify` passes, the events equal the independent simulation's, `--config` reruns the
same graph, and the crash journal's header keeps K (a journal copied mid-run recovers into a
random:K file that verifies); bad values and a K too large for N are one line, exit 2, before any
run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import List

import h5py
import numpy as np
import pytest

from runs import ANALYZE, HANG_S, attrs, run, start, verify, wait_for, wait_until_ticking
from test_timing import events, first_difference, simulated, timed_run

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "analysis"))
from replay import random_peer_graph  # noqa: E402

# (ranks, K, options): 6 and 9 machines, one cycle and two; a latency drawn per message.
CASES = [(6, 2, ["--seed", 61]), (9, 4, ["--seed", 94]), (8, 4, ["--seed", 84, "--latency", "uniform:0.01,0.3"])]


def graph_of(path: Path) -> List[List[int]]:
    with h5py.File(path, "r") as f:
        adj = f["network/adjacency"][:]
    return [[int(j) for j in np.flatnonzero(row)] for row in adj]


@pytest.mark.parametrize("n,k,options", CASES, ids=[f"np{c[0]}-random:{c[1]}" for c in CASES])
def test_a_random_run_is_the_models(tmp_path: Path, n: int, k: int, options: List) -> None:
    out = tmp_path / "run.h5"
    args = ["--topology", f"random:{k}", "--duration", 12, "--speedup", 12, *options]
    fields = timed_run(n, args, out, tmp_path)  # verified, timing ok
    assert fields["topology"] == f"random:{k}"
    a = attrs(out)
    assert str(a["topology"]) == f"random:{k}"
    graph = graph_of(out)
    assert graph == random_peer_graph(n, k, int(a["seed"]))
    assert all(len(peers) == k for peers in graph)
    assert graph != random_peer_graph(n, k, int(a["seed"]) + 1)  # the seed decides it
    assert first_difference(events(out), simulated(out)) == ""
    # No message left the graph.
    with h5py.File(out, "r") as f:
        sent = f["network/sent"][:]
    off = np.ones((n, n), bool)
    for i, peers in enumerate(graph):
        off[i, peers] = False
    assert sent[off].sum() == 0 and sent.sum() > 0
    # The stored configuration reruns the same graph.
    with h5py.File(out, "r") as f:
        text = f["config"][()]
    config = tmp_path / "run.cfg"
    config.write_bytes(text if isinstance(text, bytes) else text.encode())
    assert f'topology="random:{k}"' in config.read_text()
    again = tmp_path / "again.h5"
    r = run(n, ["--config", config, "-q", "-o", again], tmp_path)
    assert r.returncode == 0, r.stderr
    assert graph_of(again) == graph


BAD = [(3, "random", "--topology: 'random' is not full, ring or random:K"),
       (3, "random:0", "--topology: 'random:0': K must be an even whole number, at least 2"),
       (3, "random:3", "--topology: 'random:3': K must be an even whole number, at least 2"),
       (3, "random:x", "--topology: 'random:x': K must be an even whole number, at least 2"),
       (6, "random:8", "--topology random:8 with 6 machines: every machine would have every other as a peer; "
                       "use --topology full"),
       (6, "random:4", "--topology random:4 with 6 machines: random:K is a sparse graph, K at most N/2 (3 here)")]


@pytest.mark.parametrize("n,value,words", BAD, ids=[f"np{b[0]}-{b[1]}" for b in BAD])
def test_bad_random_topologies_are_one_line_exit_2(tmp_path: Path, n: int, value: str, words: str) -> None:
    r = run(n, ["--topology", value, "-o", tmp_path / "x.h5"], tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("clockbench: error: ") and words in lines[0], r.stderr
    assert r.stdout == "" and list(tmp_path.iterdir()) == []


def test_the_journal_of_a_random_run_recovers_its_topology(tmp_path: Path) -> None:
    out = tmp_path / "run.h5"
    proc = start(6, ["--topology", "random:2", "--duration", 8, "--speedup", 2, "--seed", 62,
                     "--flush-interval", "0.3", "-o", out], tmp_path)
    wait_until_ticking(proc, out, 6)
    snapshot = tmp_path / "snapshot.journal"
    shutil.copytree(next(tmp_path.glob("run.h5.*.journal")), snapshot)
    assert wait_for(proc, HANG_S) == 0
    proc.communicate()
    recovered = tmp_path / "recovered.h5"
    p = subprocess.run(["/usr/bin/python3", str(ANALYZE), "recover", str(snapshot), "-o", str(recovered)],
                       cwd=tmp_path, capture_output=True, text=True, timeout=HANG_S)
    assert p.returncode == 0, p.stdout + p.stderr
    v = verify(recovered)
    assert v.returncode == 0, v.stdout + v.stderr
    assert str(attrs(recovered)["topology"]) == "random:2"
    assert graph_of(recovered) == graph_of(out) == random_peer_graph(6, 2, 62)
    config = subprocess.run(["/usr/bin/python3", str(ANALYZE), "config", str(recovered)], capture_output=True,
                            text=True, timeout=HANG_S)
    assert 'topology="random:2"' in config.stdout, config.stdout + config.stderr
