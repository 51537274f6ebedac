"""Recency, frequency, monetary and behaviour features from transactions, as of a cutoff.

Written as column-wise Ibis aggregations, so the same expression runs on DuckDB (the
default) or any other Ibis backend. Only rows with timestamp < cutoff are seen.
"""

from __future__ import annotations

import ibis
import pandas as pd

SECONDS_PER_DAY = 86400.0
RECENT_DAYS = 90


def _days_before(cutoff: ibis.Value, ts: ibis.Value) -> ibis.Value:
    return (cutoff.epoch_seconds() - ts.epoch_seconds()) / SECONDS_PER_DAY


def rfm_features(tx: ibis.Table, cutoff: pd.Timestamp) -> ibis.Table:
    """Per customer with any transaction before `cutoff`:

    - recency_days: days from the last transaction to the cutoff
    - tenure_days: days from the first transaction to the cutoff
    - frequency: number of transactions (refunds included)
    - active_days: number of distinct days with a transaction
    - monetary_total: net spend (refunds subtract)
    - monetary_mean: mean purchase amount (refunds excluded)
    - monetary_max: largest purchase amount
    - frequency_90d, monetary_90d: transactions and net spend in the last 90 days
    - refund_share: share of transactions that are refunds (amount < 0)
    - interpurchase_days: mean days between active days (null with a single active day)
    - overdue_ratio: recency_days / interpurchase_days (how late against their own rhythm)
    """
    c = ibis.literal(cutoff.to_pydatetime(), type="timestamp")
    h = tx.filter(tx.timestamp < c)
    recent = h.timestamp >= ibis.literal((cutoff - pd.Timedelta(days=RECENT_DAYS)).to_pydatetime(), type="timestamp")
    purchase = h.amount > 0
    agg = h.group_by("customer_id").aggregate(
        last_ts=h.timestamp.max(),
        first_ts=h.timestamp.min(),
        frequency=h.count(),
        active_days=h.timestamp.date().nunique(),
        monetary_total=h.amount.sum(),
        monetary_mean=h.amount.mean(where=purchase),
        monetary_max=h.amount.max(),
        frequency_90d=recent.cast("int64").sum(),
        monetary_90d=ibis.ifelse(recent, h.amount, 0.0).sum(),
        n_refunds=(h.amount < 0).cast("int64").sum(),
    )
    recency = _days_before(c, agg.last_ts)
    tenure = _days_before(c, agg.first_ts)
    span_days = (agg.last_ts.epoch_seconds() - agg.first_ts.epoch_seconds()) / SECONDS_PER_DAY
    interval = ibis.ifelse(agg.active_days > 1, span_days / (agg.active_days - 1), ibis.null("float64"))
    out = agg.mutate(
        recency_days=recency,
        tenure_days=tenure,
        refund_share=agg.n_refunds / agg.frequency,
        interpurchase_days=interval,
        overdue_ratio=recency / interval,
    )
    return out.drop("last_ts", "first_ts", "n_refunds")
