"""How late the fastest clock reaches a machine that hears the pace setter directly (the full
topology): the lag of one hop, latency included; scaling.py adds each machine's own queue to it.
Derivation: docs/theory.md, "The one-hop lag" (sections named below are its subsections).

Symbols: u the pace that reaches i, o_j a sender's own lag, ell the latency (ell_eff for a random
one, "A random latency"); D the age of the message taken last and W its wait, from the waiting-time
chain of i's tick grid ("Age and wait"); O_i the senders' offsets, B_k the time since k's last
message, exponential of mean A_k = (2 - q_k) / (2 q_k r_k) ("The identity of one hop"); the lag
b_i + a_i Q_i with the queue's share a_i and the rest b_i, a busy queue's and a short one's blended
between BUSY_FROM and BUSY_AT ("The queue's share"); the peak behind a queue of k,
peak + (u / r_i) k ("The peaks"). A machine that does not hear a setter: ring_sample.py.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Tuple

import numpy as np

from clockbench.theory.clocks import ClockPaces
from clockbench.file.model import EXP, UNIFORM, parse_latency
from clockbench.theory.finite import QueueDiffusion
from clockbench.theory.mean_field import Prediction, send_matrix

# Utilisation (lambda_i / r_i) from which the busy queue's form takes over from the chain, linearly
# up to BUSY_AT; the chain is solved at a utilisation of at most CHAIN_AT.
BUSY_FROM, BUSY_AT, CHAIN_AT = 0.9, 0.98, 0.9
# Grid of the waiting-time chain: cells per tick period, and how many of the waits' tail scales
# (the reflected walk's v / (2 |mu|), in periods) it reaches.
_CELLS, _TAIL_SCALES = 8, 12.0


def mean_latency(text: str) -> float:
    """The mean of a `--latency` setting (docs/model.md), model seconds."""
    lat = parse_latency(text)
    if lat.form == UNIFORM:
        return (lat.least + lat.most) / 2
    if lat.form == EXP:
        return float(text.strip()[len("exp:"):])
    return lat.least


def effective_latency(text: str, rate: float) -> float:
    """The age a max-clock's freshest message has beyond the sends' own spacing, for sends of
    `rate` per second and the latency `text` (docs/theory.md, "A random latency")."""
    lat = parse_latency(text)
    mean = mean_latency(text)
    if lat.constant or rate <= 0 or mean <= 0:
        return mean
    top = lat.least + 40.0 / rate + (30.0 * mean if lat.form == EXP else (lat.most - lat.least))
    x = np.linspace(0.0, top, 8001)
    if lat.form == EXP:
        arrived = x - mean * -np.expm1(-x / mean)  # int_0^x F
    else:
        width = max(lat.most - lat.least, 1e-12)
        inside = np.clip(x - lat.least, 0.0, width)
        arrived = inside ** 2 / (2 * width) + np.maximum(x - lat.most, 0.0)
    return float(np.trapz(np.exp(-rate * arrived), x)) - 1.0 / rate


@functools.lru_cache(maxsize=256)
def age_moments(lam: float, rate: float, cv2: float) -> Tuple[float, float]:
    """(E[D], E[W]) of docs/theory.md, "Age and wait", for arrivals of rate lam (squared coefficient of
    variation cv2 of a shift-plus-exponential gap) at a machine ticking at `rate`: the waiting
    time chain T' = x or x wrapped into (0, P], x = T + P - Y, on a grid of P / _CELLS."""
    period = 1.0 / rate
    c = math.sqrt(min(max(cv2, 1e-6), 1.0))
    shift, scale = (1.0 - c) / lam, c / lam  # Y = shift + exponential(scale)
    h = period / _CELLS
    rho = min(lam * period, CHAIN_AT)
    tail = (1.0 + cv2) / 2.0 / (1.0 - rho) * period
    n = int(math.ceil((2.0 * period + _TAIL_SCALES * tail) / h))
    t = (np.arange(n) + 0.5) * h
    lo, hi = np.arange(n) * h, (np.arange(n) + 1) * h
    top = t + period - shift  # x = top - exponential(scale)

    def below(z: np.ndarray) -> np.ndarray:  # P(x < z), rows: the state T, columns: z
        return np.where(z >= top[:, None], 1.0, np.exp(-np.maximum(top[:, None] - z, 0.0) / scale))

    k = below(hi[None, :]) - below(lo[None, :])
    k[:, -1] += 1.0 - below(np.array([[hi[-1]]]))[:, 0]  # beyond the grid: into the last cell
    ky = (t[:, None] + period - t[None, :]) * k  # E[Y; T' in the cell], by the cells' centres
    first = np.arange(_CELLS)  # x <= 0 wraps into (0, P]: the cells of the first period
    for s in range(1, int(math.ceil(40.0 * scale / period)) + 2):
        p = below(hi[first][None, :] - s * period) - below(lo[first][None, :] - s * period)
        k[:, first] += p
        ky[:, first] += (t[:, None] + period + s * period - t[first][None, :]) * p
    norm = k.sum(axis=1, keepdims=True)
    k, ky = k / norm, ky / norm
    m = k.T - np.eye(n)
    m[-1] = 1.0
    rhs = np.zeros(n)
    rhs[-1] = 1.0
    pi = np.maximum(np.linalg.solve(m, rhs), 0.0)
    pi /= pi.sum()
    mean_t, mean_t2 = float(pi @ t), float(pi @ t ** 2)
    pairs = float(pi @ (t * (k @ t)))          # E[T_k T_{k+1}]
    yt = float(pi @ (ky @ t))                  # E[Y_{k+1} T_{k+1}]
    y2 = shift ** 2 + 2 * shift * scale + 2 * scale ** 2
    return lam * (yt + y2 / 2), lam * (mean_t / lam + pairs - mean_t2)


def _capped_min(cap: float, base: np.ndarray, mean_age: np.ndarray, slope: float) -> float:
    """E[min(cap, min_k (base_k + slope X_k))] >= 0, X_k exponentials of means mean_age_k: the
    integral of prod_k P(base_k + slope X_k > y) over y from 0 to cap."""
    if cap <= 0:
        return 0.0
    if base.size == 0 or slope <= 0:
        return float(min(cap, base.min())) if base.size else float(cap)
    edges = np.unique(np.clip(np.concatenate([[0.0, cap], base]), 0.0, cap))
    total = 0.0
    for a, b in zip(edges[:-1], edges[1:]):
        on = base <= a  # the terms already falling on this piece
        rate = float(np.sum(1.0 / (slope * mean_age[on])))
        log_s = float(-np.sum((a - base[on]) / (slope * mean_age[on])))
        total += math.exp(log_s) * ((b - a) if rate == 0 else -math.expm1(-rate * (b - a)) / rate)
    return total


def _arrival_structure(pred: Prediction, adj: np.ndarray):
    """Per (sender j, receiver i): messages per second j -> i from stable senders, and A_j (the
    mean time since j's last send at a random moment, docs/theory.md, "The identity of one hop")."""
    r = pred.rates
    c = send_matrix(adj, pred.p_internal)
    rho = np.minimum(pred.utilisation, 1.0)
    heard = (np.asarray(adj) > 0) & pred.stable[:, None] & (c > 0)
    flow = np.where(heard, c * (r * (1.0 - rho))[:, None], 0.0)
    q = c * (1.0 - rho)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        age = np.where(heard & (q > 0), (2.0 - q) / (2.0 * q * r[:, None]), math.inf)
    return heard, flow, age


def settled_queue(mu, v, rate):
    """The reflected walk's recorded mean in the steady state, v / (2 |mu|) less the lattice
    offset half a message less |mu| / r of it (finite.py); inf where the queue grows."""
    mu, v, rate = np.asarray(mu, dtype=float), np.asarray(v, dtype=float), np.asarray(rate, dtype=float)
    lattice = 0.5 * np.maximum(0.0, 1.0 - np.abs(mu) / rate)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mu < 0, np.maximum(v / (2 * np.abs(mu)) - lattice, 0.0), math.inf)


@dataclass
class OneHop:
    """Per machine, one hop from a pace setter (docs/theory.md, "The one-hop lag"), clock units: the expected lag
    b + a E[Q] with the queue's share a per message, b beyond it (both for E[lag] in the steady
    state and as the queue builds up), and the lag at the peak behind a queue of k messages,
    peak + (u / r) k. Setters: 0."""

    base: np.ndarray
    per_message: np.ndarray
    peak: np.ndarray
    mean: np.ndarray   # the steady expected lag (inf for a growing queue)


def one_hop_lags(pred: Prediction, adj: np.ndarray, clocks: ClockPaces, queues: QueueDiffusion,
                 latency: str = "0") -> OneHop:
    """The lags of one hop (docs/theory.md, "The identity of one hop", "The queue's share"), when
    every machine that is not a pace setter hears one directly."""
    r, n = pred.rates, pred.n
    heard, flow, age = _arrival_structure(pred, adj)
    u, lam0, v = clocks.incoming, queues.busy_arrival, queues.variance
    settled = settled_queue(queues.drift, queues.variance, queues.rates)
    out = OneHop(np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n))
    for _ in range(4):  # the senders' offsets o_j are their own lags: a few rounds settle them
        offset = np.where(clocks.setter, 0.0, np.where(np.isfinite(out.mean), out.mean, 0.0))
        new = OneHop(np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n))
        for i in np.flatnonzero(~clocks.setter):
            senders = np.flatnonzero(heard[:, i])
            if senders.size == 0 or u[i] <= 0 or lam0[i] <= 0:
                continue
            fresh = flow[senders, i][clocks.setter[senders]].sum()
            ell = effective_latency(latency, float(fresh if fresh > 0 else flow[senders, i].sum()))
            util = pred.arrival[i] / r[i]
            busy = float(np.clip((util - BUSY_FROM) / (BUSY_AT - BUSY_FROM), 0.0, 1.0)) if pred.stable[i] else 1.0
            o_busy = _offsets(offset[senders], age[senders, i], flow[senders, i], u[i] - lam0[i])
            o_idle = _offsets(offset[senders], age[senders, i], flow[senders, i], u[i] - r[i])
            o = (1.0 - busy) * o_idle + busy * o_busy
            c2 = min(v[i] / lam0[i], 1.0)
            b_busy = u[i] * ell - 1.0 + o_busy + (u[i] - r[i]) / (2 * r[i]) + u[i] * (1.0 - c2) / (2 * lam0[i])
            a_busy = u[i] / lam0[i]
            b_idle, a_idle = b_busy, a_busy
            if busy < 1:
                b_idle, a_idle = _idle_share(float(pred.arrival[i]), float(r[i]), float(lam0[i]), float(v[i]),
                                             float(u[i]), u[i] * ell - 1.0 + o_idle)
            new.base[i] = (1.0 - busy) * b_idle + busy * b_busy
            new.per_message[i] = (1.0 - busy) * a_idle + busy * a_busy
            new.peak[i] = u[i] * ell - 1.0 + o + u[i] / r[i] + (u[i] - r[i]) / r[i]
            new.mean[i] = new.base[i] + new.per_message[i] * settled[i] if pred.stable[i] else math.inf
        out = new
    return out


# Relative step in the load for the steady lag's sensitivity to the queue (_idle_share).
_LOAD_STEP = 0.03


def _idle_share(lam: float, rate: float, lam0: float, v: float, u: float, offset: float) -> Tuple[float, float]:
    """(b, a) of a stable queue: E[lag] = offset + (u - r) E[D] + r E[W] in the steady state, and
    its sensitivity a = dE[lag] / dE[Q] to the queue, from the chain and the reflected walk at the
    load and _LOAD_STEP below it (E[Q] = v / (2 |mu|) less the lattice, all rates scaled with the
    load). The chain is solved at a utilisation of at most CHAIN_AT."""
    points = []
    for scale in (1.0, 1.0 - _LOAD_STEP):
        load = min(lam * scale, CHAIN_AT * rate)
        k = load / lam
        d_age, w_age = age_moments(load, rate, v / lam)
        lag = offset + (u - rate) * d_age + rate * w_age
        queue = float(settled_queue(lam0 * k - rate, v * k, rate))
        points.append((lag, queue))
    (lag1, q1), (lag2, q2) = points
    a = (lag1 - lag2) / (q1 - q2) if q1 > q2 + 1e-12 else u / lam0
    a = min(max(a, 0.0), u / lam0)
    return lag1 - a * q1, a


def _offsets(offset: np.ndarray, mean_age: np.ndarray, flow: np.ndarray, slope: float) -> float:
    """O_i of docs/theory.md, "The identity of one hop": the sender of the message taken last (share f_j) against the
    others' last messages, older by exponential B_k."""
    share = flow / flow.sum()
    total = 0.0
    for j in range(offset.size):
        others = np.arange(offset.size) != j
        total += share[j] * _capped_min(float(offset[j]), offset[others], mean_age[others], max(slope, 1e-9))
    return total


def hears_setter(pred: Prediction, adj: np.ndarray, clocks: ClockPaces) -> bool:
    """Whether every machine that is not a pace setter hears one directly (the full topology):
    then one_hop_lags applies, else ring_sample."""
    heard, _, _ = _arrival_structure(pred, adj)
    return bool(np.all(clocks.setter | heard[clocks.setter].any(axis=0)))
