"""The rhythm of buying: gaps between active days, active months, breadth.

From first occurrences: the flags of features/activity.py (a day's or a month's first
transaction, the gap to the previous active day) and each customer's first purchase in
a category or channel, one row per customer and category (or channel). A cutoff only
counts those before it, as for any other measure.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import pandas as pd
from ibis import _

from churn.features.history import Measure, aggregates_by_cutoff
from churn.features.phrases import Phrase
from churn.features.rfm import SECONDS_PER_DAY, days_before, ratio

FEATURES = {
    "interpurchase_days": "mean days between consecutive active days (null with a single active day)",
    "interpurchase_std_days": "standard deviation of the days between consecutive active days "
    "(null with fewer than three active days)",
    "overdue_ratio": "recency_days / interpurchase_days: how late against the customer's own rhythm",
    "active_month_share": "share of calendar months with a transaction, from the first transaction's "
    "month to the month of the last instant before the cutoff",
    "category_count": "distinct categories with a purchase (only when transactions have a category)",
    "channel_count": "distinct channels with a purchase (only when transactions have a channel)",
}

PHRASES = {
    "interpurchase_days": Phrase(
        "usually buys every {v} day[s]", "days", "frequency", unknown="bought on one day only"
    ),
    "interpurchase_std_days": Phrase(
        "irregular buyer: gaps vary by {v} day[s]", "days", "frequency", unknown="too few purchases to see a rhythm"
    ),
    "overdue_ratio": Phrase(
        "{v} times their usual gap since the last purchase", "ratio", "frequency", unknown="bought on one day only"
    ),
    "active_month_share": Phrase("active in {v} of their months", "share", "frequency"),
    "category_count": Phrase("buys in {v} categor[y|ies]", "count", "value"),
    "channel_count": Phrase("buys through {v} channel[s]", "count", "engagement"),
}
BREADTH = {"category": "category_count", "channel": "channel_count"}  # optional column -> feature

MEASURES = {
    "gap_sq": Measure(_.gap_sq, "sum"),
    "active_months": Measure(_.new_month, "count"),
}


def rhythm_columns(agg: ibis.Table) -> dict[str, ibis.Value]:
    """FEATURES but breadth, from the aggregated MEASURES and features/rfm.py's
    first_ts, last_ts and active_days (one row per customer and cutoff)."""

    def day_number(ts: ibis.Value) -> ibis.Value:
        return ts.truncate("D").epoch_seconds() / SECONDS_PER_DAY

    def month_number(ts: ibis.Value) -> ibis.Value:
        return ts.year() * 12 + ts.month()

    gaps = agg.active_days - 1
    span = day_number(agg.last_ts) - day_number(agg.first_ts)  # = the sum of the gaps
    interval = ratio(span, gaps)
    # Sample variance from sums of whole-day gaps: n * sum(g^2) - (sum g)^2 is exact in floats.
    variance = (gaps * agg.gap_sq - span * span) / (gaps * (gaps - 1))
    last_history_instant = agg.cutoff - ibis.interval(microseconds=1)
    months = month_number(last_history_instant) - month_number(agg.first_ts) + 1
    return {
        "interpurchase_days": interval,
        "interpurchase_std_days": ibis.ifelse(gaps >= 2, ibis.greatest(variance, 0.0).sqrt(), ibis.null("float64")),
        "overdue_ratio": ratio(days_before(agg.cutoff, agg.last_ts), interval),
        "active_month_share": agg.active_months / months,
    }


def breadth_by_cutoff(tx: ibis.Table, cutoffs: Sequence[pd.Timestamp]) -> dict[pd.Timestamp, ibis.Table] | None:
    """Per cutoff: customer_id and the breadth FEATURES of the BREADTH columns `tx` has,
    for every customer with a purchase in a category or channel before the cutoff (None
    when `tx` has neither column)."""
    columns = [c for c in BREADTH if c in tx.columns]
    if not columns:
        return None
    one, none = ibis.literal(1, type="int8"), ibis.null("int8")
    firsts = []
    for column in columns:
        bought = tx.filter((tx.amount > 0) & tx[column].notnull())
        first = bought.group_by(["customer_id", column]).aggregate(timestamp=bought.timestamp.min())
        flags = {f"first_{c}": one if c == column else none for c in columns}
        firsts.append(first.select("customer_id", "timestamp", **flags))
    rows = ibis.union(*firsts, distinct=False)
    parts = aggregates_by_cutoff(rows, cutoffs, {BREADTH[c]: Measure(_[f"first_{c}"], "count") for c in columns})
    return {c: agg.select("customer_id", *(BREADTH[col] for col in columns)) for c, agg in parts.items()}
