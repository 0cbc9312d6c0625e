"""Hop-by-hop lag in a sparse topology (the ring): how late the fastest clock reaches each machine.

In the full topology every machine hears from the fastest one directly. In a ring a machine far
from it learns the fastest clock only through a chain of neighbours, and each hop j -> i adds a
lag (clock units, with s the clock slope of the stretch, scaling.py):

    h_ji = s (A_j + delta_i) - r_i A_j - 1/2,   A_j = (2 - q_j) / (2 q_j r_j),   q_j = c_ji (1 - rho_j)

Why: j sends to i on a fraction q_j of its ticks (c_ji the send probability of a free tick,
theory.send_matrix; 1 - rho_j its free ticks), so the messages i takes from j are a renewal of
ticks 1/r_j apart, a geometric number apart; at a random time the last one was taken
A_j = E[X^2] / (2 E[X]) ago (inspection paradox). Meanwhile the sender's clock moved on by
s (A_j + delta_i), delta_i the time the message took from its send to its receive: the latency D,
half of i's tick period (it waits for i's next tick) and, where i is stable, its queue wait
E[Q_i] / lambda_i. The receiver's own ticks made up r_i A_j of it (it counts on between
receives), and its receive adds one, less the half tick its counting loses on average. A hop never
makes up more than it lost: h >= 0.

Machine i's hop lag is the least sum of h over a path of stable machines from a source (a stable
machine running at its stretch's fastest pace, sigma_i = r_i: its lag is 0), by Dijkstra. An
unstable machine never sends, so it ends a path; its own queue wait is the finite-T model's
(scaling.LagModel), so the hop into it counts delta_i without that wait, and so does the last hop
into a stable machine, whose queue the model draws at random.

A machine that hears several senders keeps the freshest clock: its lag is E[min over senders],
the ages taken as exponentials of mean A_j (expected_min), iterated to a fixed point. Where every
machine hears a source directly (the full topology) no hop lag is added: there the formula
over-predicts the one-hop lag by about 3 clock units (N = 3, p = 0.7), which the finite-T
tests' allowance covers.
"""

from __future__ import annotations

import math

import numpy as np

from .clocks import ClockPaces
from .model import EXP, UNIFORM, parse_latency
from .finite import QueueDiffusion
from .theory import Prediction, send_matrix


def mean_latency(text: str) -> float:
    """The mean of a `--latency` setting (docs/model.md), model seconds."""
    lat = parse_latency(text)
    if lat.form == UNIFORM:
        return (lat.least + lat.most) / 2
    if lat.form == EXP:
        return float(text.strip()[len("exp:"):])
    return lat.least


def hop_lags(pred: Prediction, adj: np.ndarray, clocks: ClockPaces, queues: QueueDiffusion,
             latency_s: float = 0.0) -> np.ndarray:
    """Each machine's expected hop lag behind its stretch's source, clock units (module docstring).

    clocks: the paces of clocks.paces (clock units per model second; its setters are the sources);
    queues: their diffusion (finite.py), whose stationary mean v / (2 |mu|) less the lattice offset
    sets a stable machine's queue wait."""
    r, n = pred.rates, pred.n
    pace = clocks.slope
    c = send_matrix(adj, pred.p_internal)
    rho = np.minimum(pred.utilisation, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        queue = np.maximum(queues.variance / (2 * np.abs(queues.drift)) - queues.lattice, 0.0)
        wait = np.where(pred.stable & (queues.drift < 0) & (pred.arrival > 0), queue / pred.arrival, 0.0)
    source = clocks.setter
    lag = np.where(source, 0.0, math.inf)
    heard = (np.asarray(adj) > 0) & pred.stable[:, None] & (c > 0)  # heard[j, i]: j sends to i
    if np.all(source | heard[source].any(axis=0)):
        # Every machine hears a source directly (the full topology): one hop's bounded lag, which
        # the finite-T tests allow for (tests/analysis/test_theory_finite.py), not modelled here.
        return np.zeros(n)
    q = c * (1.0 - rho)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        age = np.where(heard, (2.0 - q) / (2.0 * q * r[:, None]), math.inf)  # A_j, per receiver
    for _ in range(3 * n):  # Bellman-Ford: values settle once they have crossed the longest path
        sent = lag + np.where(source, 0.0, pace * wait)  # what j's messages carry, behind its source
        new = lag.copy()
        for i in np.flatnonzero(~source):
            senders = np.flatnonzero(heard[:, i] & np.isfinite(sent))
            if senders.size:
                base = sent[senders] + pace[i] * (latency_s + 0.5 / r[i]) - 0.5
                new[i] = max(0.0, expected_min(base, age[senders, i], max(pace[i] - r[i], 0.0)))
        if np.allclose(new, lag, rtol=1e-9, atol=1e-9, equal_nan=False) and np.all(np.isfinite(new) == np.isfinite(lag)):
            break
        lag = new
    return np.where(np.isfinite(lag), lag, 0.0)


def expected_min(base: np.ndarray, mean_age: np.ndarray, slope: float) -> float:
    """E[min_k (base_k + slope X_k)], X_k independent exponentials of means mean_age_k: the lag of a
    machine that keeps the freshest of its senders' clocks. The integral of prod_k P(. > y) over y,
    exact piece by piece between the sorted base values."""
    order = np.argsort(base)
    b, a = base[order], mean_age[order]
    if slope <= 0:
        return float(b[0])
    total, rate, log_s = float(b[0]), 0.0, 0.0  # log of prod P(. > y) at the piece's start
    for k in range(b.size):
        rate += 1.0 / (slope * a[k])  # the survival falls at this rate per clock unit from b[k] on
        end = b[k + 1] if k + 1 < b.size else math.inf
        width = end - b[k]
        total += math.exp(log_s) * (1.0 - math.exp(-rate * width)) / rate
        log_s -= rate * width
        if log_s < -700:
            break
    return total
