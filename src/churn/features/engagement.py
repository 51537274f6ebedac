"""Engagement features from the optional events table, as of each cutoff.

Only events before the cutoff are seen. Event types other than those named here count in
the events_* totals only.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import pandas as pd
from ibis import _

from churn.features.behaviour import TREND_DAYS, trend
from churn.features.history import Measure, Window, aggregates_by_cutoff
from churn.features.phrases import Phrase
from churn.features.rfm import days_before

# event_type -> the plural used in feature names.
ENGAGEMENT_TYPES = {"login": "logins", "email_open": "email_opens", "email_click": "email_clicks"}
SERVICE_TYPES = {"support_ticket": "support_tickets", "complaint": "complaints"}
RECENT_DAYS = (30, 90)
SERVICE_DAYS = 180

_KINDS = {"events": "events of any type"} | {p: f"'{t}' events" for t, p in ENGAGEMENT_TYPES.items()}
FEATURES = {
    **{f"{name}_{d}d": f"{what} in the last {d} days" for name, what in _KINDS.items() for d in RECENT_DAYS},
    **{
        f"{name}_trend": f"{what} in the last {TREND_DAYS} days against the {TREND_DAYS} before, as frequency_trend"
        for name, what in _KINDS.items()
    },
    **{f"{p}_{SERVICE_DAYS}d": f"'{t}' events in the last {SERVICE_DAYS} days" for t, p in SERVICE_TYPES.items()},
    "days_since_event": "days from the last event of any type to the cutoff (null without events)",
}

_SAID = {
    "events": "engagement event[s]",
    "logins": "login[s]",
    "email_opens": "email[s] opened",
    "email_clicks": "email click[s]",
}
_TREND_SAID = {"events": "engagement", "logins": "logins", "email_opens": "email opens", "email_clicks": "email clicks"}
PHRASES = {
    **{
        f"{name}_{d}d": Phrase(f"{{v}} {said} in the last {d} days", "count", "engagement")
        for name, said in _SAID.items()
        for d in RECENT_DAYS
    },
    **{
        f"{name}_trend": Phrase(
            f"{said} {{v}} in the last {TREND_DAYS} days against the {TREND_DAYS} before",
            "trend",
            "engagement",
            unknown=f"no {said} in the last {2 * TREND_DAYS} days",
        )
        for name, said in _TREND_SAID.items()
    },
    f"support_tickets_{SERVICE_DAYS}d": Phrase(
        f"{{v}} support ticket[s] in the last {SERVICE_DAYS} days", "count", "service"
    ),
    f"complaints_{SERVICE_DAYS}d": Phrase(f"{{v}} complaint[s] in the last {SERVICE_DAYS} days", "count", "service"),
    "days_since_event": Phrase("no engagement for {v} day[s]", "days", "engagement", unknown="no engagement on record"),
}

COUNT_FEATURES = tuple(n for n in FEATURES if not n.endswith("_trend") and n != "days_since_event")

_BEFORE = Window(-2 * TREND_DAYS, -TREND_DAYS)
MEASURES = {
    "last_event": Measure(_.timestamp, "max"),
    "events": Measure(_.timestamp, "count"),
    **{
        p: Measure(ibis.ifelse(_.event_type == t, 1, None), "count")
        for t, p in (ENGAGEMENT_TYPES | SERVICE_TYPES).items()
    },
}
WINDOWED = {
    **{f"{m}_{d}d": (m, Window(-d, 0)) for m in _KINDS for d in RECENT_DAYS},
    **{f"_{m}_before": (m, _BEFORE) for m in _KINDS},
    **{f"{p}_{SERVICE_DAYS}d": (p, Window(-SERVICE_DAYS, 0)) for p in SERVICE_TYPES.values()},
}


def engagement_by_cutoff(events: ibis.Table, cutoffs: Sequence[pd.Timestamp]) -> dict[pd.Timestamp, ibis.Table]:
    """Per cutoff: customer_id and FEATURES for every customer with an event before it."""
    parts = aggregates_by_cutoff(events, cutoffs, MEASURES, WINDOWED, history=["last_event"])
    return {cutoff: agg.select("customer_id", **_features(agg)) for cutoff, agg in parts.items()}


def _features(agg: ibis.Table) -> dict[str, ibis.Value]:
    cols = {n: agg[n] for n in COUNT_FEATURES}
    for m in _KINDS:
        cols[f"{m}_trend"] = trend(agg[f"{m}_{TREND_DAYS}d"], agg[f"_{m}_before"])
    cols["days_since_event"] = days_before(agg.cutoff, agg.last_event)
    return cols
