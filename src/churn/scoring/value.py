"""Customer lifetime value (model_clv) over `value.clv_horizon_days`.

Method "bgnbd_gamma_gamma" (the default): expected purchases in the horizon from the
BG/NBD model (which already weighs in the chance the customer is gone) x expected spend
per purchase from the Gamma-Gamma model (which shrinks a customer's own average towards
the population's, the fewer purchases they have, the more) x margin.

Method "aov_frequency" (the fallback, when the models cannot be fitted, e.g. too few
repeat customers): average order value x purchase rate (purchase days per day of
tenure) x horizon x margin, i.e. the customer is assumed to stay the whole horizon.

Both models are fitted on the snapshot being valued (population-level parameters), on
an evenly spaced subsample of at most `max_fit_rows` rows, so valuing a million
customers stays quick and deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import digamma, gammaln

from churn.modeling import bgnbd

MIN_REPEAT_CUSTOMERS = 50


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    v: float


def fit_gamma_gamma(x: np.ndarray, m: np.ndarray) -> GammaGammaParams:
    """Maximum likelihood on customers with x >= 1 repeat purchases and mean spend m > 0
    (Fader, Hardie and Lee 2005, "RFM and CLV", eq. 3)."""
    keep = (x > 0) & (m > 0) & np.isfinite(m)
    x, m = x[keep].astype(float), m[keep].astype(float)
    if len(x) < MIN_REPEAT_CUSTOMERS:
        raise ValueError(f"Gamma-Gamma needs at least {MIN_REPEAT_CUSTOMERS} repeat customers, got {len(x)}")

    log_m, log_x = np.log(m), np.log(x)

    def negll_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, v = np.exp(theta)
        px, xm_v = p * x, x * m + v
        ll = gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v) + (px - 1) * log_m + px * log_x
        ll -= (px + q) * np.log(xm_v)
        shared = digamma(px + q)
        d_p = x * (shared - digamma(px) + log_m + log_x - np.log(xm_v))
        d_q = shared - digamma(q) + np.log(v) - np.log(xm_v)
        d_v = q / v - (px + q) / xm_v
        # Gradient in the log parameters, from numpy's own sums (no BLAS kernel involved).
        grad = -np.array([p * d_p.mean(), q * d_q.mean(), v * d_v.mean()])
        return -float(ll.mean()), grad

    start = np.log([1.0, 2.0, float(np.median(m))])
    # An analytic gradient, so the optimum is found far below the 6 significant digits kept
    # and they are the same whichever BLAS kernel the CPU selects (with a finite-difference
    # gradient the optimiser stopped ~1e-5 apart on two kernels: a different 6th digit).
    result = optimize.minimize(
        negll_and_grad,
        start,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 1000, "ftol": 1e-15, "gtol": 1e-11},
    )
    theta = bgnbd.polish(negll_and_grad, result.x)
    p, q, v = (bgnbd.significant(float(t)) for t in np.exp(theta))  # the same on any machine
    if not np.isfinite(result.fun) or q <= 1:
        raise ValueError("Gamma-Gamma fit gave no finite mean spend (q <= 1)")
    return GammaGammaParams(p, q, v)


def expected_spend(params: GammaGammaParams, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """E[spend per purchase | x, m]: the population mean for x = 0, the customer's own
    mean weighted in as x grows."""
    p, q, v = params.p, params.q, params.v
    population = p * v / (q - 1)
    own = np.where(np.isfinite(m) & (m > 0), m, population)
    weight = p * x / (p * x + q - 1)
    return (1 - weight) * population + weight * own


def _subsample(n: int, max_rows: int) -> np.ndarray:
    return np.arange(n) if n <= max_rows else np.linspace(0, n - 1, max_rows).round().astype(int)


VALUE_INPUTS = ["active_days", "tenure_days", "recency_days", "monetary_mean"]  # what customer_value reads


def customer_value(
    snapshot: pd.DataFrame, horizon_days: int, margin: float, max_fit_rows: int = 100_000
) -> pd.DataFrame:
    """model_clv, expected_purchases, expected_order_value and model_clv_method per snapshot row.

    Reads the VALUE_INPUTS columns only.
    """
    summary = bgnbd.summary_from_snapshot(snapshot)
    x, t_x, T = (summary[c].to_numpy() for c in ("x", "t_x", "T"))
    aov = snapshot["monetary_mean"].to_numpy(dtype=float)
    try:
        idx = _subsample(len(snapshot), max_fit_rows)
        bg = bgnbd.fit(x[idx], t_x[idx], T[idx])
        gg = fit_gamma_gamma(x[idx], aov[idx])
        purchases = bgnbd.expected_purchases(bg, float(horizon_days), x, t_x, T)
        spend = expected_spend(gg, x, aov)
        method = "bgnbd_gamma_gamma"
    except ValueError:
        tenure = snapshot["tenure_days"].to_numpy(dtype=float)
        rate = snapshot["active_days"].to_numpy(dtype=float) / np.maximum(tenure, 1.0)
        purchases = rate * horizon_days
        spend = np.nan_to_num(aov, nan=0.0)
        method = "aov_frequency"
    clv = np.clip(margin * purchases * spend, 0.0, None)
    return pd.DataFrame(
        {
            "model_clv": np.round(clv, 2),
            "expected_purchases": np.round(purchases, 4),
            "expected_order_value": np.round(spend, 2),
            "model_clv_method": pd.Series(method, index=snapshot.index, dtype="string"),
        },
        index=snapshot.index,
    )
