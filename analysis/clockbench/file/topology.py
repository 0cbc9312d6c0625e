"""The peer graph a file's `topology` root attribute names (docs/model.md, "Topologies"): `full`,
`ring` or `random:K`, the last drawn from the run's seed exactly as clockbench draws it, so that
`verify` can hold /network/adjacency (and so every send) to the topology itself.

The draws are xoshiro256** seeded by splitmix64 (docs/model.md, "Random streams"), in Python
integers masked to 64 bits; tests/test_topology (C++) and the runs of tests/analysis check that
this reading and the engine's give the same graphs.
"""

from __future__ import annotations

from typing import List, Optional, Set

import numpy as np

MASK64 = (1 << 64) - 1
TOPOLOGY_STREAM = 3 << 32
REPAIR_DRAWS_PER_MACHINE = 64  # a cycle's repair gives up after this many draws per machine
GRAPH_ATTEMPTS = 8


class TopologyError(ValueError):
    """A topology text that names no graph, or a random:K that does not fit N; one line."""


def random_k(topology: str) -> int:
    """K of `random:K`; 0 for `full` and `ring`; TopologyError for anything else."""
    if topology in ("full", "ring"):
        return 0
    text = topology[len("random:"):] if topology.startswith("random:") else ""
    if not text.isdigit() or int(text) < 2 or int(text) % 2:
        raise TopologyError(f"topology '{topology}' is not full, ring or random:K (K even, at least 2)")
    return int(text)


def check_fits(topology: str, n: int) -> None:
    """TopologyError unless `topology` can join n machines (random:K: K <= N/2, as clockbench)."""
    k = random_k(topology)
    if k and 2 * k > n:
        raise TopologyError(f"topology {topology} with {n} machines: random:K needs K <= N/2")


def _splitmix64(state: int) -> tuple:
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


class _Stream:
    """xoshiro256** of stream `stream` of run seed `seed`."""

    def __init__(self, seed: int, stream: int) -> None:
        _, state = _splitmix64((seed & MASK64) ^ ((0xD1B54A32D192ED03 * (stream + 1)) & MASK64))
        words = []
        for _ in range(4):
            state, out = _splitmix64(state)
            words.append(out)
        self.s = words

    def next(self) -> int:
        s = self.s
        x = (s[1] * 5) & MASK64
        result = ((((x << 7) | (x >> 57)) & MASK64) * 9) & MASK64
        t = (s[1] << 17) & MASK64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = ((s[3] << 45) | (s[3] >> 19)) & MASK64
        return result

    def below(self, m: int) -> int:
        threshold = (1 << 64) % m
        while True:
            x = self.next()
            if x >= threshold:
                return x % m


def _cycle(n: int, g: _Stream, peers: List[Set[int]]) -> Optional[List[int]]:
    """One random cyclic order sharing no edge with `peers`, or None when its repair gives up."""
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        j = g.below(i + 1)
        order[i], order[j] = order[j], order[i]

    def clash(x: int) -> int:
        return 1 if order[(x + 1) % n] in peers[order[x % n]] else 0
    draws = 0
    while True:
        bad = next((x for x in range(n) if clash(x)), None)
        if bad is None:
            return order
        a = (bad + 1) % n
        while True:
            draws += 1
            if draws > REPAIR_DRAWS_PER_MACHINE * n:
                return None
            j = g.below(n)
            touched = {bad, a, (j - 1) % n, j}
            before = sum(clash(x) for x in touched)
            order[a], order[j] = order[j], order[a]
            if sum(clash(x) for x in touched) < before:
                break
            order[a], order[j] = order[j], order[a]


def random_graph(n: int, k: int, seed: int) -> List[List[int]]:
    """Every machine's ascending peers under random:K for run seed `seed`."""
    g = _Stream(seed, TOPOLOGY_STREAM)
    for _ in range(GRAPH_ATTEMPTS):
        peers: List[Set[int]] = [set() for _ in range(n)]
        for _c in range(k // 2):
            order = _cycle(n, g, peers)
            if order is None:
                break
            for x in range(n):
                a, b = order[x], order[(x + 1) % n]
                peers[a].add(b)
                peers[b].add(a)
        else:
            return [sorted(p) for p in peers]
    raise TopologyError(f"random:{k}: no graph for {n} machines and seed {seed} (clockbench refuses such a run)")


def adjacency(topology: str, n: int, seed: Optional[int] = None) -> np.ndarray:
    """N x N, row sends to column, 1 where the topology joins two machines. random:K needs the
    run's seed."""
    k = random_k(topology)
    if topology == "full":
        return (1 - np.eye(n, dtype=np.uint8)).astype(np.uint8)
    adj = np.zeros((n, n), dtype=np.uint8)
    if topology == "ring":
        for i in range(n):
            adj[i, (i + 1) % n] = adj[i, (i - 1) % n] = 1
        np.fill_diagonal(adj, 0)
        return adj
    check_fits(topology, n)
    if seed is None:
        raise TopologyError(f"topology {topology} is drawn from a run's seed: give the seed (or the run)")
    for i, row in enumerate(random_graph(n, k, int(seed))):
        adj[i, row] = 1
    return adj
