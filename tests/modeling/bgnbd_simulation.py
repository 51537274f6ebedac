"""Customers drawn from the BG/NBD process, to test the fit against known parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd

from churn.modeling.bgnbd import BgNbdParams


def simulate(params: BgNbdParams, T, horizon: float, seed: int) -> pd.DataFrame:
    """Draw customers from the BG/NBD process: x, t_x, T over [0, T] and x_future, the
    purchases in (T, T + horizon]. The first purchase is at time 0; after each repeat
    purchase the customer drops out with probability p."""
    rng = np.random.default_rng(seed)
    T = np.asarray(T, dtype=float)
    n = T.size
    lam = rng.gamma(params.r, 1.0 / params.alpha, n)
    p = rng.beta(params.a, params.b, n)
    t = np.zeros(n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    x_future = np.zeros(n)
    going = np.ones(n, dtype=bool)
    while going.any():
        idx = np.flatnonzero(going)
        t[idx] += rng.exponential(1.0, idx.size) / lam[idx]
        within = t[idx] <= T[idx] + horizon
        buy = idx[within]
        past = buy[t[buy] <= T[buy]]
        x[past] += 1
        t_x[past] = t[past]
        x_future[buy[t[buy] > T[buy]]] += 1
        going[idx[~within]] = False
        going[buy[rng.random(buy.size) < p[buy]]] = False
    return pd.DataFrame({"x": x, "t_x": t_x, "T": T, "x_future": x_future})
