"""Top reasons behind a churn score, in plain words, from LightGBM's own SHAP values.

`Booster.predict(X, pred_contrib=True)` returns, per row, each feature's additive
contribution to the raw score (log-odds) plus the expected value. Positive contributions
raise the churn risk, negative ones lower it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

N_REASONS = 3

# How each feature reads in a sentence; {v} is the customer's value. Features without a
# template fall back to "<name> = <value>".
_TEMPLATES: dict[str, str] = {
    "recency_days": "no purchase for {v:.0f} days",
    "overdue_ratio": "{v:.1f}x their usual gap between purchases",
    "interpurchase_days": "usually buys every {v:.0f} days",
    "interpurchase_std_days": "irregular buyer (gaps vary by {v:.0f} days)",
    "tenure_days": "customer for {v:.0f} days",
    "frequency": "{v:.0f} purchases in all",
    "active_days": "bought on {v:.0f} different days",
    "frequency_30d": "{v:.0f} purchases in the last 30 days",
    "frequency_90d": "{v:.0f} purchases in the last 90 days",
    "frequency_180d": "{v:.0f} purchases in the last 180 days",
    "frequency_trend": "purchase trend {v:+.0%} (last 90 days vs the 90 before)",
    "monetary_total": "spent {v:,.0f} in all",
    "monetary_mean": "average purchase {v:,.0f}",
    "monetary_max": "largest purchase {v:,.0f}",
    "monetary_30d": "spent {v:,.0f} in the last 30 days",
    "monetary_90d": "spent {v:,.0f} in the last 90 days",
    "monetary_180d": "spent {v:,.0f} in the last 180 days",
    "refund_share": "{v:.0%} of transactions were refunds",
    "active_month_share": "active in {v:.0%} of their months",
    "category_count": "buys in {v:.0f} categories",
    "channel_count": "uses {v:.0f} channels",
    "events_90d": "{v:.0f} engagement events in the last 90 days",
    "events_prev_90d": "{v:.0f} engagement events in the 90 days before",
    "days_since_event": "no engagement for {v:.0f} days",
    "complaints_180d": "{v:.0f} complaints in the last 180 days",
    "support_tickets_180d": "{v:.0f} support tickets in the last 180 days",
    "loyalty_member": "{member}",
    "signup_age_days": "signed up {v:.0f} days ago",
    "purchase_pattern": "purchase pattern alone: {v:.0%} chance of no purchase in the horizon",
}

# Feature-name fragments -> the kind of problem a reason points to; the playbook can
# route on it (complaints lead to service, falling frequency to offers, ...).
DRIVERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("service", ("complaint", "support_ticket", "refund")),
    ("engagement", ("event", "login", "email")),
    ("frequency", ("frequency", "active_", "interpurchase", "overdue", "recency", "trend", "purchase_pattern")),
    ("value", ("monetary", "aov", "spend")),
    ("relationship", ("loyalty", "tier", "tenure", "signup")),
)


def driver_of(feature: str) -> str:
    for name, fragments in DRIVERS:
        if any(f in feature for f in fragments):
            return name
    return "other"


def describe(feature: str, value: float) -> str:
    """One feature value in plain words."""
    if pd.isna(value):
        return f"{feature.replace('_', ' ')} unknown"
    template = _TEMPLATES.get(feature)
    if template is None:
        return f"{feature.replace('_', ' ')} = {value:g}"
    if feature == "loyalty_member":
        return "loyalty member" if value >= 0.5 else "not a loyalty member"
    return template.format(v=value)


def top_reasons(
    contributions: np.ndarray, values: pd.DataFrame, features: list[str], n: int = N_REASONS
) -> pd.DataFrame:
    """reason_1..n (plain words with direction) and top_driver per row.

    contributions: (rows, features + 1) from pred_contrib; the last column (the expected
    value) is ignored. Reasons are the n largest contributions by size; `top_driver` is
    the kind of the largest contribution that raises the risk ("none" if nothing does).
    """
    contrib = np.asarray(contributions)[:, : len(features)]
    order = np.argsort(-np.abs(contrib), axis=1, kind="stable")[:, :n]
    vals = values[features].to_numpy(dtype=float)
    rows = np.arange(len(contrib))
    out: dict[str, list[str | None]] = {f"reason_{k + 1}": [None] * len(contrib) for k in range(n)}
    for k in range(min(n, len(features))):  # a model with fewer inputs has fewer reasons
        idx = order[:, k]
        c = contrib[rows, idx]
        texts = []
        for r, j in zip(rows, idx):
            direction = "raises risk" if c[r] > 0 else "lowers risk"
            texts.append(f"{describe(features[j], vals[r, j])} ({direction})")
        out[f"reason_{k + 1}"] = texts
    top_up = contrib.argmax(axis=1)
    drivers = [driver_of(features[j]) if contrib[r, j] > 0 else "none" for r, j in zip(rows, top_up)]
    frame = pd.DataFrame(out, index=values.index, dtype="string")
    frame["top_driver"] = pd.Series(drivers, index=values.index, dtype="string")
    return frame
