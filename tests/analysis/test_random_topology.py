"""random:K in the analysis (docs/model.md, "Topologies"; docs/theory.md, "Sending"): the analysis
package draws the graph as the independent reading of the model in replay.py does, the theory on a
random:K graph agrees with the independent simulator (simulate.py) on it, and `theory --topology
random:K` needs the seed and refuses a K that does not fit."""

from __future__ import annotations

import json

import numpy as np
import pytest

from replay import random_peer_graph
from simulate import simulate_model
from test_theory import K as SIGMAS
from test_theory import START

from clockbench.file.topology import TopologyError, adjacency, random_graph
from clockbench.theory.mean_field import predict


def test_the_analysis_draws_the_models_graph() -> None:
    for n in range(4, 31):
        for k in range(2, n // 2 + 1, 2):
            for seed in (0, 7, 2 ** 64 - 1):
                assert random_graph(n, k, seed) == random_peer_graph(n, k, seed), (n, k, seed)
    adj = adjacency("random:4", 12, 5)
    assert (adj == adj.T).all() and (adj.sum(axis=1) == 4).all() and not adj.diagonal().any()
    with pytest.raises(TopologyError, match="needs K <= N/2"):
        adjacency("random:4", 7, 5)
    with pytest.raises(TopologyError, match="give the seed"):
        adjacency("random:4", 12)
    for bad in ("random", "random:3", "random:0", "star", "random:-2"):
        with pytest.raises(TopologyError, match="is not full, ring or random:K"):
            adjacency(bad, 12, 5)


# Twelve machines, rates 1..6 twice; random:4 has slow machines whose peers are mostly fast and the
# other way round, so per-machine arrival rates differ from the full topology's.
RATES = (1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6)
DURATION = 20_000.0


@pytest.mark.parametrize("k,seed,p", [(4, 3, 0.7), (2, 9, 0.4), (6, 5, 0.7)])
def test_the_theory_on_a_random_graph_matches_the_simulator(k: int, seed: int, p: float) -> None:
    topology = f"random:{k}"
    pred = predict(RATES, p, topology, adj=adjacency(topology, len(RATES), seed))
    sim = simulate_model(RATES, p, topology, DURATION, seed)
    tol = SIGMAS * np.sqrt(np.maximum(pred.arrival, 0.0) / DURATION) + START / DURATION
    assert np.all(np.abs(sim.arrival_rate - pred.arrival) <= tol), (pred.arrival, sim.arrival_rate, tol)
    # Not the full topology's answer: the graph matters.
    full = predict(RATES, p, "full")
    assert np.max(np.abs(full.arrival - pred.arrival)) > 3 * np.max(tol)


def test_theory_command_takes_random_k_with_a_seed(cli) -> None:
    res = cli("theory", "--rates", "1,2,3,4,5,6", "--topology", "random:2", "--seed", "5", "--format", "json")
    assert res.code == 0, res.err
    data = json.loads(res.out)
    graph = np.zeros((6, 6), np.uint8)  # the graph of seed 5 as replay.py reads docs/model.md
    for i, peers in enumerate(random_peer_graph(6, 2, 5)):
        graph[i, peers] = 1
    want = predict([1, 2, 3, 4, 5, 6], 0.7, "random:2", adj=graph)
    assert data["topology"] == "random:2"
    np.testing.assert_allclose([m["lambda_hz"] for m in data["rows"]], want.arrival, rtol=1e-12)
    assert not np.allclose(want.arrival, predict([1, 2, 3, 4, 5, 6], 0.7, "ring").arrival)


def test_the_package_predicts_for_a_random_graph_given_its_seed() -> None:
    import clockbench
    graph = np.zeros((6, 6), np.uint8)
    for i, peers in enumerate(random_peer_graph(6, 2, 5)):
        graph[i, peers] = 1
    got = clockbench.prediction([1, 2, 3, 4, 5, 6], topology="random:2", seed=5)
    want = predict([1, 2, 3, 4, 5, 6], 0.7, "random:2", adj=graph)
    np.testing.assert_allclose([r["lambda_hz"] for r in got["rows"]], want.arrival, rtol=1e-12)
    with pytest.raises(ValueError, match="give the seed"):
        clockbench.prediction([1, 2, 3, 4, 5, 6], topology="random:2")


@pytest.mark.parametrize("args,words", [
    (["--topology", "random:2"], "--topology random:2 needs --seed: its graph is drawn from the run seed"),
    (["--topology", "random:4", "--seed", "1"], "topology random:4 with 6 machines: random:K needs K <= N/2"),
    (["--topology", "random:3", "--seed", "1"], "topology 'random:3' is not full, ring or random:K"),
    (["--topology", "random:x", "--seed", "1"], "topology 'random:x' is not full, ring or random:K"),
])
def test_theory_command_refuses_bad_random_k(cli, args, words) -> None:
    res = cli("theory", "--rates", "1,2,3,4,5,6", *args)
    assert res.code == 2 and res.out == "", res.out + res.err
    lines = res.err.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], res.err
