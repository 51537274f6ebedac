"""Incremental retention of treatment over control, with honest uncertainty.

Pure: per-customer outcomes in, one row per (action, segment) cell out. A cell compares
customers who got the action with the control customers the plan held back from the same
action (the shadow action), so the difference estimates what the action did for that
kind of customer.

- retention = share with a purchase in [campaign day, + churn.horizon_days)
- incremental retention = rate(treatment) - rate(control), with Newcombe's hybrid score
  interval (method 10, from two Wilson intervals), which keeps its coverage for small
  groups and rates near 0 or 1, where the Wald interval does not.
- min_detectable_effect = the smallest true difference a two-sided 5% test finds with 80%
  power at these group sizes (so a user sees when a control group is too small).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

Z95 = float(norm.ppf(0.975))
Z_POWER80 = float(norm.ppf(0.8))
ALL = "all"  # the segment value of a cell that pools every customer


def wilson(k: np.ndarray, n: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for k successes out of n (NaN where n = 0)."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return centre - half, centre + half


def newcombe(k1, n1, k0, n0, z: float = Z95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """p1 - p0 and its hybrid score interval (Newcombe 1998, method 10)."""
    k1, n1, k0, n0 = (np.asarray(a, float) for a in (k1, n1, k0, n0))
    with np.errstate(invalid="ignore", divide="ignore"):
        p1, p0 = k1 / n1, k0 / n0
    l1, u1 = wilson(k1, n1, z)
    l0, u0 = wilson(k0, n0, z)
    d = p1 - p0
    return d, d - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2), d + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)


def min_detectable_effect(n1, n0, p0) -> np.ndarray:
    """Smallest |p1 - p0| a two-sided 5% test detects with 80% power (normal approximation)."""
    n1, n0, p0 = (np.asarray(a, float) for a in (n1, n0, p0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (Z95 + Z_POWER80) * np.sqrt(p0 * (1 - p0) * (1 / n1 + 1 / n0))


def effect_table(outcomes: pd.DataFrame, by: list[str], costs: dict[str, float], margin: float) -> pd.DataFrame:
    """One row per cell of `by` (e.g. action, segment): group sizes, retention of each group,
    incremental retention with its interval, incremental customers kept, revenue and margin
    in the window, cost, ROI and the minimum detectable effect.

    outcomes: one row per customer and campaign with `group` (treatment | control),
    `action` (given, or held back for control), `retained` (0/1) and `revenue` (net spend in
    the window), plus the columns named in `by`.
    """
    treated = (outcomes["group"] == "treatment").fillna(False).to_numpy(dtype=bool)
    retained = outcomes["retained"].to_numpy(dtype=np.int64)
    revenue = outcomes["revenue"].to_numpy(dtype=float)
    frame = outcomes.assign(
        n_t=treated.astype(np.int64),
        n_c=(~treated).astype(np.int64),
        k_t=retained * treated,
        k_c=retained * ~treated,
        rev_t=np.where(treated, revenue, 0.0),
        rev_c=np.where(treated, 0.0, revenue),
    )
    cols = ["n_t", "n_c", "k_t", "k_c", "rev_t", "rev_c"]
    cells = frame.groupby(by, observed=True, sort=True)[cols].sum().reset_index()
    n_t, n_c, k_t, k_c = (cells[c].to_numpy(float) for c in ("n_t", "n_c", "k_t", "k_c"))
    diff, low, high = newcombe(k_t, n_t, k_c, n_c)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate_c = k_c / n_c
        revenue_lift = cells["rev_t"].to_numpy() / n_t - cells["rev_c"].to_numpy() / n_c
    cost = cells["action"].map(costs).fillna(0.0).to_numpy(float) * n_t
    margin_lift = revenue_lift * n_t * margin
    with np.errstate(invalid="ignore", divide="ignore"):
        roi = np.where(cost > 0, (margin_lift - cost) / cost, np.nan)
    out = pd.DataFrame(
        {
            **{c: cells[c] for c in by},
            "n_treatment": n_t.astype(int),
            "n_control": n_c.astype(int),
            "retention_treatment": np.round(k_t / np.where(n_t > 0, n_t, np.nan), 6),
            "retention_control": np.round(rate_c, 6),
            "incremental_retention": np.round(diff, 6),
            "ci_low": np.round(low, 6),
            "ci_high": np.round(high, 6),
            "incremental_customers": np.round(diff * n_t, 2),
            "incremental_revenue": np.round(revenue_lift * n_t, 2),
            "incremental_margin": np.round(margin_lift, 2),
            "cost": np.round(cost, 2),
            "roi": np.round(roi, 4),
            "min_detectable_effect": np.round(min_detectable_effect(n_t, n_c, rate_c), 6),
        }
    )
    return out


def verdict(table: pd.DataFrame, min_control: int = 0) -> pd.Series:
    """helps / harms (the interval excludes 0) / unclear; "too few to tell" below `min_control`
    control customers (with dozens of cells, a tiny group would show a false effect now and
    then); "not measurable" without treatment or control."""
    measurable = (table["n_treatment"] > 0) & (table["n_control"] > 0)
    out = np.select(
        [~measurable, table["n_control"] < min_control, table["ci_low"] > 0, table["ci_high"] < 0],
        ["not measurable", "too few to tell", "helps", "harms"],
        default="unclear",
    )
    return pd.Series(out, index=table.index, dtype="string")


SEGMENT_FIELDS = ("risk_tier", "rfm_segment", "top_driver", "loyalty_member")


def measure(outcomes: pd.DataFrame, costs: dict[str, float], margin: float, min_control: int = 0) -> pd.DataFrame:
    """Every effect the contacts can show, as one long table:

    - pooled over the measured campaigns (campaign = "all"), per action, for all customers
      (segment_by = "all") and per value of each segment field present;
    - per campaign, per action, for all its customers.

    Columns: campaign, segment_by, segment, action, then effect_table's and `verdict`.
    """
    parts = []
    if outcomes.empty:
        return pd.DataFrame(columns=["campaign", "segment_by", "segment", "action", "verdict"])
    pooled = outcomes.assign(campaign=ALL)
    for field in (ALL, *[f for f in SEGMENT_FIELDS if f in outcomes.columns]):
        frame = pooled.assign(segment_by=field, segment=ALL if field == ALL else segment_values(pooled[field]))
        frame = frame[frame["segment"].notna()]
        parts.append(effect_table(frame, ["campaign", "segment_by", "segment", "action"], costs, margin))
    per_campaign = outcomes.assign(segment_by=ALL, segment=ALL)
    parts.append(effect_table(per_campaign, ["campaign", "segment_by", "segment", "action"], costs, margin))
    table = pd.concat(parts, ignore_index=True)
    table["verdict"] = verdict(table, min_control)
    return table


def segment_values(values: pd.Series) -> pd.Series:
    """A segment field's values as text; whole numbers without a decimal point (1, not 1.0)."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype("Float64")
        whole = numbers.round() == numbers
        return numbers.astype("Int64").astype("string").where(whole.fillna(False), numbers.astype("string"))
    return values.astype("string")
