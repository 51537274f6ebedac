"""Cutoffs, population and labels: the time semantics, written down once.

- A snapshot has a cutoff instant t. Features see only rows with timestamp < t.
- Label at t: `churned` = 1 when the customer has no transaction in [t, t + horizon_days).
- Population at t: customers with a transaction in [t - active_days, t); customers with
  older history only are "lapsed".
- "As of 2024-06-30" means the cutoff is 2024-07-01 00:00: that whole day is history.
- Training cutoffs end so that every training label window closes on or before the
  out-of-time test cutoff, whose own label window closes on or before the scoring cutoff.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import pandas as pd

from churn.features.engagement import EVENT_COUNT_COLUMNS, engagement_features
from churn.features.rfm import rfm_features

DAY = pd.Timedelta(days=1)


def cutoff_for_as_of(as_of: dt.date) -> pd.Timestamp:
    """The cutoff instant that makes every moment of `as_of` history."""
    return pd.Timestamp(as_of) + DAY


def scoring_cutoff(newest_timestamp: pd.Timestamp) -> pd.Timestamp:
    """The newest cutoff the data supports: midnight after its newest timestamp's date."""
    return cutoff_for_as_of(pd.Timestamp(newest_timestamp).date())


@dataclass(frozen=True)
class CutoffPlan:
    """Training cutoffs (oldest first), the out-of-time test cutoff and the scoring cutoff."""

    train: tuple[pd.Timestamp, ...]
    test: pd.Timestamp
    score: pd.Timestamp

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
    train = tuple(
        newest_train - pd.Timedelta(days=cutoff_spacing_days * i) for i in reversed(range(n_train_cutoffs))
    )
    return CutoffPlan(train=train, test=test, score=score_cutoff)


def label_expr(tx: ibis.Table, cutoff: pd.Timestamp, horizon_days: int) -> ibis.Table:
    """customer_id, n_future: transactions in [cutoff, cutoff + horizon_days)."""
    start = ibis.literal(cutoff.to_pydatetime(), type="timestamp")
    end = ibis.literal((cutoff + pd.Timedelta(days=horizon_days)).to_pydatetime(), type="timestamp")
    window = tx.filter((tx.timestamp >= start) & (tx.timestamp < end))
    return window.group_by("customer_id").aggregate(n_future=window.count())


def snapshot_expr(
    tx: ibis.Table,
    cutoff: pd.Timestamp,
    *,
    active_days: int,
    horizon_days: int | None,
    events: ibis.Table | None = None,
    customers: ibis.Table | None = None,
) -> ibis.Table:
    """One row per customer with history before `cutoff`: features, `is_active`, and
    (when `horizon_days` is given) the label `churned`."""
    snap = rfm_features(tx, cutoff)
    snap = snap.mutate(
        cutoff=ibis.literal(cutoff.to_pydatetime(), type="timestamp"),
        is_active=snap.recency_days <= active_days,
    )
    if events is not None:
        eng = engagement_features(events, cutoff)
        snap = snap.left_join(eng, "customer_id").drop("customer_id_right")
        # No event before the cutoff means zero events, not an unknown count.
        snap = snap.mutate(**{c: snap[c].fill_null(0) for c in EVENT_COUNT_COLUMNS})
    if customers is not None:
        snap = snap.left_join(_static_features(customers, cutoff), "customer_id").drop("customer_id_right")
    if horizon_days is not None:
        lab = label_expr(tx, cutoff, horizon_days)
        snap = snap.left_join(lab, "customer_id").drop("customer_id_right")
        snap = snap.mutate(churned=snap.n_future.isnull().cast("int8")).drop("n_future")
    return snap


def _static_features(customers: ibis.Table, cutoff: pd.Timestamp) -> ibis.Table:
    """loyalty_member (0/1) and signup_age_days from the optional customers table."""
    c = ibis.literal(cutoff.to_pydatetime(), type="timestamp")
    cols = {"customer_id": customers.customer_id}
    if "loyalty_member" in customers.columns:
        cols["loyalty_member"] = customers.loyalty_member.cast("float64")
    if "signup_date" in customers.columns:
        cols["signup_age_days"] = (c.epoch_seconds() - customers.signup_date.epoch_seconds()) / 86400.0
    return customers.select(**cols)


def build_snapshots(
    con: ibis.BaseBackend,
    tx: ibis.Table,
    cutoffs: list[tuple[str, pd.Timestamp]],
    *,
    active_days: int,
    horizon_days: int | None,
    events: ibis.Table | None = None,
    customers: ibis.Table | None = None,
    active_only: bool = True,
) -> pd.DataFrame:
    """Stack snapshots at each (split, cutoff) into one pandas frame, sorted and typed."""
    frames = []
    for split, cutoff in cutoffs:
        expr = snapshot_expr(
            tx, cutoff, active_days=active_days, horizon_days=horizon_days, events=events, customers=customers
        )
        if active_only:
            expr = expr.filter(expr.is_active)
        df = con.to_pandas(expr)
        df.insert(0, "split", split)
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    out["customer_id"] = out["customer_id"].astype("string")
    out["split"] = out["split"].astype("string")
    out["cutoff"] = out["cutoff"].astype("datetime64[ns]")
    out["is_active"] = out["is_active"].astype(bool)
    for col in feature_columns(out):
        out[col] = out[col].astype("float64")
    front = ["split", "cutoff", "customer_id", "is_active"]
    rest = sorted(c for c in out.columns if c not in front and c != "churned")
    ordered = front + rest + (["churned"] if "churned" in out.columns else [])
    out = out[ordered].sort_values(["cutoff", "customer_id"], kind="stable").reset_index(drop=True)
    return out


def feature_columns(snapshots: pd.DataFrame) -> list[str]:
    """The model's inputs: every column that is not an identifier, flag or label."""
    return [c for c in snapshots.columns if c not in {"split", "cutoff", "customer_id", "is_active", "churned"}]
