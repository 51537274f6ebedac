"""Where in the year a snapshot stands.

Purchase rates rise and fall with the calendar (a holiday season, a quiet summer), so
the same customer is less likely to go quiet in a busy label window than in a slow one.
Trees learn that from an input that says which part of the year a snapshot stands in,
but only when the training cutoffs cover every month: a month the trees never saw would
be read as whichever neighbour they split it with. So `cutoff_month` is a model input
only when the training cutoffs' as-of days fall in all twelve calendar months (12
cutoffs 30 days apart do); otherwise it stays in the snapshots, unused.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import ibis
import pandas as pd

from churn.features.phrases import Phrase

FEATURES = {
    "cutoff_month": "calendar month (1-12) of the snapshot's as-of day, the last day of history: "
    "lets the model learn the yearly season of the label window",
}

PHRASES = {
    "cutoff_month": Phrase("the time of year ({v})", "month", "season"),
}


SEASON_FEATURE = "cutoff_month"


def as_of_month(cutoff: pd.Timestamp) -> int:
    """The calendar month of the last day of history before `cutoff`."""
    return (pd.Timestamp(cutoff) - pd.Timedelta(microseconds=1)).month


def model_features(features: Sequence[str], train_cutoffs: Iterable[pd.Timestamp]) -> list[str]:
    """`features` without cutoff_month unless the training cutoffs cover all twelve months."""
    if len({as_of_month(c) for c in train_cutoffs}) == 12:
        return list(features)
    return [f for f in features if f != SEASON_FEATURE]


def season_columns(agg: ibis.Table) -> dict[str, ibis.Value]:
    """FEATURES from the snapshot's cutoff (one row per customer and cutoff)."""
    as_of = agg.cutoff - ibis.interval(microseconds=1)
    return {SEASON_FEATURE: as_of.month().cast("float64")}
