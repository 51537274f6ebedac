"""Recency, frequency and monetary value of the transactions before a cutoff.

A purchase has a positive amount, a refund a negative one. Reads the rows of
features/activity.py: amounts as exact decimals, and first-of-day flags for active days.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import pandas as pd
from ibis import _

from churn.features.activity import activity_rows
from churn.features.history import Measure, aggregate_at_cutoffs
from churn.features.phrases import Phrase

SECONDS_PER_DAY = 86400.0

FEATURES = {
    "recency_days": "days from the last transaction to the cutoff",
    "tenure_days": "days from the first transaction to the cutoff",
    "frequency": "number of transactions (refunds included)",
    "active_days": "distinct days with a transaction",
    "monetary_total": "net spend: the sum of all amounts (refunds subtract)",
    "monetary_mean": "average order value: the mean purchase amount (refunds excluded)",
    "monetary_max": "the largest purchase amount",
    "refund_share": "share of transactions that are refunds (amount < 0)",
}

PHRASES = {
    "recency_days": Phrase("no purchase for {v} day[s]", "days", "frequency"),
    "tenure_days": Phrase("a customer for {v} day[s]", "days", "relationship"),
    "frequency": Phrase("{v} transaction[s] in all", "count", "frequency"),
    "active_days": Phrase("bought on {v} different day[s]", "count", "frequency"),
    "monetary_total": Phrase("spent {v} in all", "money", "value"),
    "monetary_mean": Phrase("average purchase {v}", "money", "value", unknown="no purchase yet, only refunds"),
    "monetary_max": Phrase("largest purchase {v}", "money", "value"),
    "refund_share": Phrase("{v} of their transactions were refunds", "share", "service"),
}

_PURCHASE = ibis.ifelse(_.amount > 0, _.amount, None)
MEASURES = {
    "first_ts": Measure(_.timestamp, "min"),
    "last_ts": Measure(_.timestamp, "max"),
    "transactions": Measure(_.amount, "count"),
    "amount": Measure(_.amount, "sum"),
    "purchases": Measure(_PURCHASE, "count"),
    "purchase_amount": Measure(_PURCHASE, "sum"),
    "amount_max": Measure(_.amount, "max"),
    "refunds": Measure(ibis.ifelse(_.amount < 0, _.amount, None), "count"),
    "active_days": Measure(_.new_day, "count"),
}


def days_before(cutoff: ibis.Value, ts: ibis.Value) -> ibis.Value:
    """Days (with fractions) from `ts` to `cutoff`."""
    return (cutoff.epoch_seconds() - ts.epoch_seconds()) / SECONDS_PER_DAY


def ratio(numerator: ibis.Value, denominator: ibis.Value) -> ibis.Value:
    """numerator / denominator, null where the denominator is 0."""
    return ibis.ifelse(denominator == 0, ibis.null("float64"), numerator / denominator)


def rfm_columns(agg: ibis.Table) -> dict[str, ibis.Value]:
    """FEATURES from the aggregated MEASURES (one row per customer and cutoff)."""
    return {
        "recency_days": days_before(agg.cutoff, agg.last_ts),
        "tenure_days": days_before(agg.cutoff, agg.first_ts),
        "frequency": agg.transactions,
        "active_days": agg.active_days,
        "monetary_total": agg.amount.cast("float64"),
        "monetary_mean": ratio(agg.purchase_amount.cast("float64"), agg.purchases),
        "monetary_max": agg.amount_max.cast("float64"),
        "refund_share": ratio(agg.refunds, agg.transactions),
    }


def rfm_features(tx: ibis.Table, cutoffs: pd.Timestamp | Sequence[pd.Timestamp]) -> ibis.Table:
    """customer_id, cutoff and FEATURES for every customer with a transaction before a
    cutoff (one cutoff or several)."""
    cutoffs = [cutoffs] if isinstance(cutoffs, pd.Timestamp) else cutoffs
    agg = aggregate_at_cutoffs(activity_rows(tx), cutoffs, MEASURES)
    return agg.select("customer_id", "cutoff", **rfm_columns(agg))
