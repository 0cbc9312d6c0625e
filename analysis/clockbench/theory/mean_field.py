"""Mean-field queueing theory of the model (its rules: docs/model.md): arrival rates, stability,
queue growth, event mix, mean jumps. Derivation: docs/theory.md, "The mean field".

Symbols: r_i the rates; p = p_internal; C[j, i] = c_ji, the probability that a free tick of j sends
to i; lambda_i the arrival rates, the fixed point lambda = C^T (r - lambda)^+, solved as a linear
complementarity problem in the free-tick rates x = (r - lambda)^+ (active-set Newton steps, Lemke's
algorithm where they do not settle);
rho_i = min(1, lambda_i / r_i); growth lambda_i - r_i where lambda_i >= r_i, else 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from clockbench.file.topology import adjacency as topology_adjacency

# Above this many machines of no slack, a machine is called unstable: lambda_i >= r_i (1 - EPS).
_EPS = 1e-12


def adjacency(topology: str, n: int, seed: Optional[int] = None) -> np.ndarray:
    """Who may send to whom (row sends to column), as clockbench builds it: full, ring, or
    random:K drawn from the run's `seed` (clockbench.file.topology; a ValueError without it)."""
    return topology_adjacency(topology, n, seed)


def send_matrix(adj: np.ndarray, p_internal: float) -> np.ndarray:
    """C[j, i]: probability that a free tick of j sends a message to i.

    A free tick sends to one peer with probability 2(1-p)/3 (split evenly among j's peers)
    and to all peers with probability (1-p)/3: each peer gets one message either way.
    """
    adj = np.asarray(adj, dtype=float)
    degree = adj.sum(axis=1, keepdims=True)
    one = 2.0 * (1.0 - p_internal) / 3.0
    every = (1.0 - p_internal) / 3.0
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(adj > 0, one / degree + every, 0.0)
    return np.nan_to_num(c)


@dataclass
class Prediction:
    """The theory's numbers for one configuration, per machine (arrays of length N)."""

    rates: np.ndarray          # r_i, ticks per model second
    p_internal: float
    topology: str
    arrival: np.ndarray        # lambda_i, messages per model second
    utilisation: np.ndarray    # rho_i = min(1, lambda_i / r_i): fraction of ticks that receive
    stable: np.ndarray         # bool: lambda_i < r_i, the queue stays bounded
    growth: np.ndarray         # dQ/dt, messages per model second (0 when stable)
    send_rate: np.ndarray      # messages sent per model second by each machine
    mix: np.ndarray            # N x 4 fractions of ticks: internal, send-one, send-all, receive
    residual: float            # max |lambda - C^T (r - lambda)^+|, a check of the solve

    @property
    def n(self) -> int:
        return int(self.rates.shape[0])


def predict(rates: Sequence[float], p_internal: float = 0.7, topology: str = "full",
            adj: Optional[np.ndarray] = None) -> Prediction:
    """Solve the fixed point for any topology (or an explicit adjacency matrix)."""
    r = np.asarray(rates, dtype=float)
    n = r.shape[0]
    if n < 2 or np.any(~np.isfinite(r)) or np.any(r <= 0):
        raise ValueError("need at least 2 positive, finite rates")
    if not 0.0 <= p_internal <= 1.0:
        raise ValueError("p_internal must be in [0, 1]")
    a = adjacency(topology, n) if adj is None else np.asarray(adj)
    c = send_matrix(a, p_internal)
    lam = _solve(r, c)
    pred = _prediction(r, p_internal, topology, c, lam)
    if pred.residual > 1e-9 * max(1.0, float(r.max())):
        raise ArithmeticError(f"theory: fixed point not solved (residual {pred.residual:.3g})")
    return pred


def arrivals(rates: np.ndarray, c: np.ndarray) -> np.ndarray:
    """lambda for an explicit send matrix C (e.g. with a machine's row zeroed to make it silent)."""
    return _solve(np.asarray(rates, dtype=float), c)


def _solve(r: np.ndarray, c: np.ndarray) -> np.ndarray:
    """lambda = C^T (r - lambda)^+, as a linear complementarity problem in the free-tick rates
    x = (r - lambda)^+:  w = (I + C^T) x - r,  x >= 0, w >= 0, x.w = 0  (w_i = lambda_i - r_i
    on an overloaded machine, 0 on a stable one). I + C^T is strictly copositive (C >= 0), for
    which Lemke's algorithm always ends with a solution; the caller checks its residual."""
    x = r.copy()
    for _ in range(_GUESS_ROUNDS):  # x = (r - C^T x)^+ a few times: a guess of who is stable
        x = np.maximum(r - c.T @ x, 0.0)
    return c.T @ complementary(np.eye(r.shape[0]) + c.T, -r, x > 0)


# Rounds of the plain iteration that make the active-set steps' first guess.
_GUESS_ROUNDS = 30


def complementary(m: np.ndarray, q: np.ndarray, guess: np.ndarray) -> np.ndarray:
    """z >= 0 with w = M z + q >= 0, z.w = 0, starting from the guess of which z_i > 0: the
    active-set (semismooth) Newton steps, each one linear solve on the guessed set, settle in a few
    steps where Lemke's algorithm pivots once per machine that changes side (O(N^3) each); where
    they cycle or end off the cone, Lemke's algorithm decides (docs/theory.md, "Solving the fixed
    point")."""
    n = q.shape[0]
    on = np.asarray(guess, dtype=bool).copy()
    for _ in range(_NEWTON_STEPS):
        z = np.zeros(n)
        if on.any():
            try:
                z[on] = np.linalg.solve(m[np.ix_(on, on)], -q[on])
            except np.linalg.LinAlgError:
                break
        w = m @ z + q
        scale = 1e-12 * max(1.0, float(np.abs(q).max()))
        nxt = np.where(on, z > scale, w < -scale)
        if np.array_equal(nxt, on):
            if np.all(z >= -scale) and np.all(w[~on] >= -scale):
                return np.maximum(z, 0.0)
            break
        on = nxt
    return _lemke(m, q)


# Active-set steps before Lemke's algorithm takes over.
_NEWTON_STEPS = 60


def _lemke(m: np.ndarray, q: np.ndarray, max_pivots: int = 10_000) -> np.ndarray:
    """Lemke's complementary pivoting for w = M z + q, w, z >= 0, w.z = 0; returns z.

    Tableau rows: w - M z - e z0 = q. Variables 0..n-1 are w, n..2n-1 are z, 2n is z0."""
    n = q.shape[0]
    if np.all(q >= 0):
        return np.zeros(n)
    tab = np.hstack([np.eye(n), -m, -np.ones((n, 1)), q.reshape(-1, 1)])
    basis = list(range(n))
    art = 2 * n

    def pivot(row: int, col: int) -> int:
        tab[row] /= tab[row, col]
        rows = np.flatnonzero(tab[:, col] != 0.0)
        rows = rows[rows != row]
        tab[rows] -= tab[rows, col][:, None] * tab[row][None, :]
        leaving, basis[row] = basis[row], col
        return leaving

    leaving = pivot(int(np.argmin(q)), art)
    for _ in range(max_pivots):
        entering = leaving + n if leaving < n else leaving - n  # the complement of what left
        col = tab[:, entering]
        rows = np.flatnonzero(col > 1e-12)
        if rows.size == 0:
            raise ArithmeticError("Lemke's algorithm ended on a ray: no solution found")
        ratios = tab[rows, -1] / col[rows]
        ties = rows[ratios <= ratios.min() + 1e-12]
        # Let the artificial variable leave whenever it can: that ends the search.
        row = next((int(k) for k in ties if basis[k] == art), int(ties[0]))
        leaving = pivot(row, entering)
        if leaving == art:
            z = np.zeros(n)
            for k, var in enumerate(basis):
                if n <= var < 2 * n:
                    z[var - n] = max(0.0, tab[k, -1])
            return z
    raise ArithmeticError("Lemke's algorithm did not converge")


def _prediction(r: np.ndarray, p: float, topology: str, c: np.ndarray, lam: np.ndarray) -> Prediction:
    rho = np.minimum(1.0, lam / r)
    free = r * (1.0 - rho)  # free ticks per second
    stable = lam < r * (1 - _EPS)
    mix = np.column_stack([(1 - rho) * p, (1 - rho) * 2 * (1 - p) / 3, (1 - rho) * (1 - p) / 3, rho])
    residual = float(np.max(np.abs(lam - c.T @ np.maximum(0.0, r - lam))))
    return Prediction(rates=r, p_internal=p, topology=topology, arrival=lam, utilisation=rho,
                      stable=stable, growth=np.where(stable, 0.0, lam - r), send_rate=c.sum(axis=1) * free,
                      mix=mix, residual=residual)


def closed_form_full(rates: Sequence[float], p_internal: float = 0.7) -> np.ndarray:
    """The closed form for the full topology, as an independent check of `predict`.

    c = 2(1-p)/(3(N-1)) + (1-p)/3. For the stable set S (the fastest machines),
    theta = c R_S / (1 + c(|S|-1)); i is stable iff r_i >= theta. Stable machines get
    lambda_i = (theta - c r_i) / (1 - c); unstable ones lambda_i = theta.
    """
    r = np.asarray(rates, dtype=float)
    n = r.shape[0]
    c = 2 * (1 - p_internal) / (3 * (n - 1)) + (1 - p_internal) / 3
    order = np.argsort(-r, kind="stable")
    theta = 0.0
    # Largest k such that the k fastest machines are self-consistently stable.
    for k in range(n, 0, -1):
        s = order[:k]
        theta = c * r[s].sum() / (1 + c * (k - 1))
        if np.all(r[s] >= theta):
            break
    stable = r >= theta
    if c >= 1.0:  # N = 2, p = 0: every free tick sends; a lone stable machine hears from nobody
        if stable.sum() != 1:
            raise ValueError("closed form undefined for c = 1 with two stable machines")
        return np.where(stable, 0.0, theta)
    return np.where(stable, (theta - c * r) / (1 - c), theta)


def mean_jump(clock_slope: np.ndarray, pred: Prediction) -> np.ndarray:
    """E[J_i] = 1 + (s_i - r_i) / min(lambda_i, r_i): the clock gains s_i per second, one per
    tick from ticking, and the rest only on the min(lambda_i, r_i) receives per second."""
    recv = np.minimum(pred.arrival, pred.rates)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(recv > 0, 1 + (clock_slope - pred.rates) / recv, 1.0)


# The columns of `theory`'s table, as its JSON rows and CSV header name them.
PREDICTION_COLUMNS = ("machine", "rate_hz", "lambda_hz", "rho", "stable", "dQ/dt", "sends_hz",
                      "internal", "send_one", "send_all", "receive")


def prediction_rows(pred: Prediction) -> List[Dict[str, Any]]:
    """One record per machine, with PREDICTION_COLUMNS as keys: the table of format_prediction,
    unrounded (stable: the queue stays bounded; the last four: the predicted event mix)."""
    return [dict(zip(PREDICTION_COLUMNS, (i, float(pred.rates[i]), float(pred.arrival[i]),
                                          float(pred.utilisation[i]), bool(pred.stable[i]), float(pred.growth[i]),
                                          float(pred.send_rate[i]), *(float(x) for x in pred.mix[i]))))
            for i in range(pred.n)]


def prediction_data(pred: Prediction) -> Dict[str, Any]:
    """The prediction as plain data (what `theory --format json` prints)."""
    return {"machines": pred.n, "topology": pred.topology, "p_internal": float(pred.p_internal),
            "residual": float(pred.residual), "rows": prediction_rows(pred)}


def format_prediction(pred: Prediction) -> List[str]:
    """A table of the prediction, one row per machine."""
    lines = [f"theory: {pred.n} machines, topology {pred.topology}, p_internal {pred.p_internal:g}",
             f"{'machine':>7} {'rate_hz':>8} {'lambda_hz':>10} {'rho':>6} {'queue':>9} {'dQ/dt':>8} "
             f"{'sends_hz':>9}  mix internal/one/all/receive"]
    for i in range(pred.n):
        mix = "/".join(f"{x:.3f}" for x in pred.mix[i])
        lines.append(f"{i:>7} {pred.rates[i]:>8g} {pred.arrival[i]:>10.4f} {pred.utilisation[i]:>6.3f} "
                     f"{'stable' if pred.stable[i] else 'GROWS':>9} {pred.growth[i]:>8.4f} "
                     f"{pred.send_rate[i]:>9.4f}  {mix}")
    return lines
