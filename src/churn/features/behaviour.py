"""Recent buying behaviour: transactions and spend in the last 30, 90 and 180 days, and trends.

Read from the aggregates of features/rfm.py's measures over windows before the cutoff.
"""

from __future__ import annotations

import ibis

from churn.features.history import Window
from churn.features.phrases import Phrase

WINDOW_DAYS = (30, 90, 180)
TREND_DAYS = 90  # the last 90 days against the 90 days before them

FEATURES = {
    **{f"frequency_{d}d": f"transactions in the last {d} days" for d in WINDOW_DAYS},
    **{f"monetary_{d}d": f"net spend in the last {d} days" for d in WINDOW_DAYS},
    "frequency_trend": (
        f"transactions in the last {TREND_DAYS} days (a) against the {TREND_DAYS} before (b): (a - b) / (a + b), "
        "from -1 (stopped) to +1 (all recent); null with none in either"
    ),
    "monetary_trend": (
        f"net spend in the last {TREND_DAYS} days (a) against the {TREND_DAYS} before (b): (a - b) / (|a| + |b|); "
        "null when both are 0"
    ),
}

PHRASES = {
    **{
        f"frequency_{d}d": Phrase(f"{{v}} transaction[s] in the last {d} days", "count", "frequency")
        for d in WINDOW_DAYS
    },
    **{f"monetary_{d}d": Phrase(f"spent {{v}} in the last {d} days", "money", "value") for d in WINDOW_DAYS},
    "frequency_trend": Phrase(
        f"transactions {{v}} in the last {TREND_DAYS} days against the {TREND_DAYS} before",
        "trend",
        "frequency",
        unknown=f"no transaction in the last {2 * TREND_DAYS} days",
    ),
    "monetary_trend": Phrase(
        f"spend {{v}} in the last {TREND_DAYS} days against the {TREND_DAYS} before",
        "trend",
        "value",
        unknown=f"no spend in the last {2 * TREND_DAYS} days",
    ),
}

_BEFORE = Window(-2 * TREND_DAYS, -TREND_DAYS)
WINDOWED = {
    **{f"frequency_{d}d": ("transactions", Window(-d, 0)) for d in WINDOW_DAYS},
    **{f"monetary_{d}d": ("amount", Window(-d, 0)) for d in WINDOW_DAYS},
    "_frequency_before": ("transactions", _BEFORE),
    "_monetary_before": ("amount", _BEFORE),
}


def trend(recent: ibis.Value, before: ibis.Value) -> ibis.Value:
    """(recent - before) / (|recent| + |before|): -1 (all before) .. +1 (all recent); null if both 0."""
    scale = recent.abs() + before.abs()
    return ibis.ifelse(scale == 0, ibis.null("float64"), (recent - before) / scale)


def behaviour_columns(agg: ibis.Table) -> dict[str, ibis.Value]:
    """FEATURES from the aggregates (one row per customer and cutoff, WINDOWED included)."""
    cols = {name: agg[name].cast("float64") for name in FEATURES if name in WINDOWED}
    cols["frequency_trend"] = trend(cols[f"frequency_{TREND_DAYS}d"], agg._frequency_before)
    cols["monetary_trend"] = trend(cols[f"monetary_{TREND_DAYS}d"], agg._monetary_before.cast("float64"))
    return cols
