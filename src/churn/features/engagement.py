"""Engagement features from the optional events table, as of a cutoff.

Only events with timestamp < cutoff are seen. Customers without events get nulls, which
LightGBM treats as "missing" rather than as zero activity.
"""

from __future__ import annotations

import ibis
import pandas as pd

SECONDS_PER_DAY = 86400.0
RECENT_DAYS = 90
SERVICE_DAYS = 180
EVENT_COUNT_COLUMNS = ("events_90d", "events_prev_90d", "complaints_180d", "support_tickets_180d")


def engagement_features(events: ibis.Table, cutoff: pd.Timestamp) -> ibis.Table:
    """Per customer with any event before `cutoff`:

    - events_90d: events of any type in the last 90 days
    - events_prev_90d: events in the 90 days before that (for the trend)
    - days_since_event: days from the last event to the cutoff
    - complaints_180d, support_tickets_180d: service problems in the last 180 days
    """
    c = ibis.literal(cutoff.to_pydatetime(), type="timestamp")

    def since(days: int) -> ibis.Value:
        return ibis.literal((cutoff - pd.Timedelta(days=days)).to_pydatetime(), type="timestamp")

    e = events.filter(events.timestamp < c)
    last90 = e.timestamp >= since(RECENT_DAYS)
    prev90 = (e.timestamp >= since(2 * RECENT_DAYS)) & ~last90
    last180 = e.timestamp >= since(SERVICE_DAYS)
    agg = e.group_by("customer_id").aggregate(
        events_90d=last90.cast("int64").sum(),
        events_prev_90d=prev90.cast("int64").sum(),
        last_event=e.timestamp.max(),
        complaints_180d=(last180 & (e.event_type == "complaint")).cast("int64").sum(),
        support_tickets_180d=(last180 & (e.event_type == "support_ticket")).cast("int64").sum(),
    )
    days_since = (c.epoch_seconds() - agg.last_event.epoch_seconds()) / SECONDS_PER_DAY
    return agg.mutate(days_since_event=days_since).drop("last_event")
