"""Time semantics, written down once: cutoffs, as-of days and the cutoff plan.

- A snapshot has a cutoff instant t. Features see only rows with timestamp < t.
- "As of 2024-06-30" means the cutoff is 2024-07-01 00:00: that whole day is history.
- Training cutoffs end so that every training label window closes on or before the
  out-of-time test cutoff, whose own label window closes on or before the scoring cutoff.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from churn.config import ChurnSettings, FeatureSettings
from churn.errors import ChurnError

DAY = pd.Timedelta(days=1)


def cutoff_for_as_of(as_of: dt.date) -> pd.Timestamp:
    """The cutoff instant that makes every moment of `as_of` history."""
    return pd.Timestamp(as_of) + DAY


def as_of_day(cutoff: pd.Timestamp) -> dt.date:
    """The last whole day of history before `cutoff` (the inverse of cutoff_for_as_of)."""
    return (pd.Timestamp(cutoff) - DAY).date()


def days_past_data(cutoff: pd.Timestamp, newest_timestamp: pd.Timestamp) -> int:
    """Whole days between the data's last day and the as-of day of `cutoff` (0 or less: inside the data)."""
    return (as_of_day(cutoff) - pd.Timestamp(newest_timestamp).date()).days


def as_of_warnings(cutoff: pd.Timestamp, newest_timestamp: pd.Timestamp) -> list[str]:
    """What to tell a user who scores as of a day after the data ends."""
    late = days_past_data(cutoff, newest_timestamp)
    if late <= 0:
        return []
    return [
        f"--as-of {as_of_day(cutoff)} is {late} days after the data's last day "
        f"({pd.Timestamp(newest_timestamp).date()}): every customer looks that much longer without a "
        "purchase, so risks are overstated"
    ]


def scoring_cutoff(newest_timestamp: pd.Timestamp) -> pd.Timestamp:
    """The newest cutoff the data supports: midnight after its newest timestamp's date."""
    return cutoff_for_as_of(pd.Timestamp(newest_timestamp).date())


@dataclass(frozen=True)
class CutoffPlan:
    """Training cutoffs (oldest first), the out-of-time test cutoff, the scoring cutoff and
    the planned training cutoffs skipped for too little history before them."""

    train: tuple[pd.Timestamp, ...]
    test: pd.Timestamp
    score: pd.Timestamp
    skipped: tuple[pd.Timestamp, ...] = ()

    def labelled(self) -> list[tuple[str, pd.Timestamp]]:
        """(split, cutoff) for every snapshot that carries a label."""
        return [("train", c) for c in self.train] + [("test", self.test)]


def plan_cutoffs(
    score_cutoff: pd.Timestamp, horizon_days: int, n_train_cutoffs: int, cutoff_spacing_days: int
) -> CutoffPlan:
    """Place the test snapshot one horizon before scoring, and training snapshots before it.

    The newest training cutoff is one horizon before the test cutoff, so its label window
    [t, t + horizon) ends exactly where the test window starts: no overlap, no leakage.
    """
    horizon = pd.Timedelta(days=horizon_days)
    test = score_cutoff - horizon
    newest_train = test - horizon
    train = tuple(newest_train - pd.Timedelta(days=cutoff_spacing_days * i) for i in reversed(range(n_train_cutoffs)))
    return CutoffPlan(train=train, test=test, score=score_cutoff)


def plan_for_span(
    oldest: pd.Timestamp, newest: pd.Timestamp, churn: ChurnSettings, features: FeatureSettings
) -> CutoffPlan:
    """The cutoff plan for data from `oldest` to `newest`: plan_cutoffs from the settings,
    keeping the training cutoffs with at least features.min_history_days of data before them.

    Short data keep the most training cutoffs that fit (the rest are listed as skipped).
    Training needs the newest cutoff and one a full horizon before it (the probe that stops
    early and calibrates, modeling/train.py); when even that does not fit, the error names
    the data's span and the settings that would fit it."""
    plan = plan_cutoffs(
        scoring_cutoff(newest), churn.horizon_days, features.n_train_cutoffs, features.cutoff_spacing_days
    )
    earliest = oldest + pd.Timedelta(days=features.min_history_days)
    kept = tuple(c for c in plan.train if c > oldest and c >= earliest)
    probe = [c for c in kept if c + pd.Timedelta(days=churn.horizon_days) <= plan.train[-1]]
    if len(kept) < 2 or not probe:
        raise ChurnError(_too_short(oldest, newest, plan, churn, features))
    skipped = tuple(c for c in plan.train if c not in kept)
    return CutoffPlan(train=kept, test=plan.test, score=plan.score, skipped=skipped)


def _needed_days(horizon: int, min_history: int, spacing: int) -> int:
    """Days of data the plan needs: history before the probe cutoff, the probe's distance
    (whole spacings reaching a horizon), then the training and the test label windows."""
    return min_history + spacing * -(-horizon // spacing) + 2 * horizon


def _too_short(
    oldest: pd.Timestamp, newest: pd.Timestamp, plan: CutoffPlan, churn: ChurnSettings, features: FeatureSettings
) -> str:
    span = (plan.score - oldest.normalize()).days
    h, hist, spacing = churn.horizon_days, features.min_history_days, features.cutoff_spacing_days
    fixes = []
    max_history = span - (_needed_days(h, 0, spacing))
    if max_history >= 0:
        fixes.append(f"features.min_history_days: {max_history} (or less)")
    horizons = [x for x in range(h - 1, 0, -1) if _needed_days(x, hist, min(spacing, x)) <= span]
    if horizons:
        fixes.append(
            f"churn.horizon_days: {horizons[0]} with features.cutoff_spacing_days <= {min(spacing, horizons[0])}"
        )
    advice = " or ".join(fixes) if fixes else "more data (a longer export)"
    return (
        f"not enough history to train: the data spans {oldest.date()} to {newest.date()} ({span} days), but "
        f"the settings need {_needed_days(h, hist, spacing)} days: features.min_history_days ({hist}) before a "
        f"training cutoff a full churn.horizon_days ({h}) before the newest one (features.cutoff_spacing_days "
        f"{spacing}), then two label windows of {h} days (training, then the out-of-time test). "
        f"Settings that fit this data: {advice}."
    )
