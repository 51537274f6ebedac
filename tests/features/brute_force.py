"""The features by their plain definitions, customer by customer in pandas.

Slow and obviously right: the tests compare the Ibis features against these.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DAY = pd.Timedelta(days=1)


def _days(delta: pd.Timedelta) -> float:
    return delta.total_seconds() / 86400.0


def _trend(a: float, b: float) -> float:
    scale = abs(a) + abs(b)
    return np.nan if scale == 0 else (a - b) / scale


def transaction_features(tx: pd.DataFrame, cutoff: pd.Timestamp, active_days: int, horizon_days: int) -> pd.DataFrame:
    """One row per customer with a transaction before `cutoff`, indexed by customer_id."""
    history = tx[tx["timestamp"] < cutoff]
    future = tx[(tx["timestamp"] >= cutoff) & (tx["timestamp"] < cutoff + horizon_days * DAY)]
    rows = {}
    for cid, g in history.groupby("customer_id"):
        ts, amount = g["timestamp"], g["amount"]
        purchases = amount[amount > 0]

        def window(start: int, end: int = 0) -> pd.Series:
            return (ts >= cutoff - start * DAY) & (ts < cutoff - end * DAY)

        days = sorted(set(ts.dt.normalize()))
        gaps = np.array([_days(b - a) for a, b in zip(days, days[1:])])
        recency = _days(cutoff - ts.max())
        interval = gaps.mean() if len(gaps) else np.nan
        first_month = ts.min().to_period("M")
        last_month = (cutoff - pd.Timedelta(microseconds=1)).to_period("M")
        r = {
            "recency_days": recency,
            "tenure_days": _days(cutoff - ts.min()),
            "frequency": float(len(g)),
            "monetary_total": amount.sum(),
            "monetary_mean": purchases.mean() if len(purchases) else np.nan,
            "monetary_max": amount.max(),
            "refund_share": (amount < 0).mean(),
            "active_days": float(len(days)),
            "interpurchase_days": interval,
            "interpurchase_std_days": gaps.std(ddof=1) if len(gaps) >= 2 else np.nan,
            "overdue_ratio": recency / interval if len(gaps) else np.nan,
            "active_month_share": ts.dt.to_period("M").nunique() / ((last_month - first_month).n + 1),
            "cutoff_month": float(last_month.month),
            "frequency_trend": _trend(window(90).sum(), window(180, 90).sum()),
            "monetary_trend": _trend(amount[window(90)].sum(), amount[window(180, 90)].sum()),
            "is_active": recency <= active_days,
            "churned": int(cid not in set(future["customer_id"])),
        }
        for d in (30, 90, 180):
            r[f"frequency_{d}d"] = float(window(d).sum())
            r[f"monetary_{d}d"] = amount[window(d)].sum()
        for column, name in (("category", "category_count"), ("channel", "channel_count")):
            if column in g.columns:
                r[name] = float(g.loc[amount > 0, column].dropna().nunique())
        rows[cid] = r
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("customer_id")


def engagement_features(events: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """One row per customer with an event before `cutoff`, indexed by customer_id."""
    history = events[events["timestamp"] < cutoff]
    rows = {}
    for cid, g in history.groupby("customer_id"):
        ts = g["timestamp"]

        def count(start: int, end: int = 0, kind: str | None = None) -> float:
            inside = (ts >= cutoff - start * DAY) & (ts < cutoff - end * DAY)
            if kind is not None:
                inside &= g["event_type"] == kind
            return float(inside.sum())

        r = {"days_since_event": _days(cutoff - ts.max())}
        for kind, name in [
            (None, "events"),
            ("login", "logins"),
            ("email_open", "email_opens"),
            ("email_click", "email_clicks"),
        ]:
            r[f"{name}_30d"] = count(30, kind=kind)
            r[f"{name}_90d"] = count(90, kind=kind)
            r[f"{name}_trend"] = _trend(count(90, kind=kind), count(180, 90, kind=kind))
        r["support_tickets_180d"] = count(180, kind="support_ticket")
        r["complaints_180d"] = count(180, kind="complaint")
        rows[cid] = r
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("customer_id")
