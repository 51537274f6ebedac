import ibis
import pandas as pd
import pytest

from churn.features.snapshots import (
    build_snapshots,
    cutoff_for_as_of,
    feature_columns,
    plan_cutoffs,
    scoring_cutoff,
)
from tests.conftest import tx_frame

CUTOFF = pd.Timestamp("2024-03-01")

# Five customers, hand-computed below.
ROWS = [
    ("A", "2024-01-01", 100.0),
    ("A", "2024-02-10", 50.0),
    ("A", "2024-02-20", -20.0),  # refund
    ("B", "2024-02-29 12:00", 30.0),
    ("C", "2022-01-01", 10.0),  # lapsed: older than active_days
    ("D", "2024-03-01", 40.0),  # exactly at the cutoff: label only, never a feature
    ("E", "2024-02-01", 10.0),
    ("E", "2024-03-15", 10.0),  # in the label window: E stays
]


def snapshot(rows=ROWS, cutoff=CUTOFF, horizon_days=30, active_only=False):
    con = ibis.duckdb.connect()
    return build_snapshots(
        con,
        ibis.memtable(tx_frame(rows)),
        [("train", cutoff)],
        active_days=365,
        horizon_days=horizon_days,
        active_only=active_only,
    ).set_index("customer_id")


def test_hand_computed_features():
    s = snapshot()
    a = s.loc["A"]
    assert a["recency_days"] == 10  # 2024-02-20 -> 2024-03-01
    assert a["tenure_days"] == 60
    assert a["frequency"] == 3
    assert a["active_days"] == 3
    assert a["monetary_total"] == 130
    assert a["monetary_mean"] == 75  # purchases only
    assert a["monetary_max"] == 100
    assert a["frequency_90d"] == 3
    assert a["refund_share"] == pytest.approx(1 / 3)
    assert a["interpurchase_days"] == 25  # 50 days over 2 gaps
    assert a["overdue_ratio"] == pytest.approx(10 / 25)
    assert a["churned"] == 1
    b = s.loc["B"]
    assert b["recency_days"] == 0.5
    assert pd.isna(b["interpurchase_days"])
    assert s.loc["E", "churned"] == 0


def test_population_and_lapsed():
    s = snapshot()
    assert bool(s.loc["C", "is_active"]) is False
    assert s.loc[["A", "B", "E"], "is_active"].all()
    assert set(snapshot(active_only=True).index) == {"A", "B", "E"}


def test_transaction_at_cutoff_counts_for_label_not_features():
    s = snapshot()
    assert "D" not in s.index  # no history before the cutoff
    # Move D's history one second earlier: it becomes a feature, and D has no future.
    rows = [r for r in ROWS if r[0] != "D"] + [("D", "2024-02-29 23:59:59", 40.0)]
    assert snapshot(rows).loc["D", "churned"] == 1
    # A transaction exactly at the cutoff keeps B from churning but does not change B's features.
    with_future = snapshot(ROWS + [("B", "2024-03-01", 99.0)])
    assert with_future.loc["B", "churned"] == 0
    pd.testing.assert_series_equal(
        with_future.loc["B", feature_columns(with_future.reset_index())],
        snapshot().loc["B", feature_columns(with_future.reset_index())],
    )


def test_label_window_is_half_open():
    # A purchase exactly at cutoff + horizon is outside [t, t + H): the customer churned.
    rows = [("A", "2024-02-01", 1.0), ("A", "2024-03-31", 1.0)]
    assert snapshot(rows, horizon_days=30).loc["A", "churned"] == 1
    assert snapshot(rows, horizon_days=31).loc["A", "churned"] == 0


def test_as_of_means_whole_day_is_history():
    assert cutoff_for_as_of(pd.Timestamp("2024-06-30").date()) == pd.Timestamp("2024-07-01")
    assert scoring_cutoff(pd.Timestamp("2024-06-30 23:59:59")) == pd.Timestamp("2024-07-01")


def test_cutoff_plan_has_no_overlapping_label_windows():
    plan = plan_cutoffs(pd.Timestamp("2025-01-01"), horizon_days=90, n_train_cutoffs=4, cutoff_spacing_days=30)
    horizon = pd.Timedelta(days=90)
    assert plan.test + horizon <= plan.score
    assert all(t + horizon <= plan.test for t in plan.train)
    assert list(plan.train) == sorted(plan.train)
    assert plan.train[-1] - plan.train[-2] == pd.Timedelta(days=30)
    assert [s for s, _ in plan.labelled()] == ["train"] * 4 + ["test"]


def test_row_order_does_not_matter():
    shuffled = list(reversed(ROWS))
    pd.testing.assert_frame_equal(snapshot(shuffled), snapshot())


def test_engagement_and_static_features():
    con = ibis.duckdb.connect()
    events = pd.DataFrame(
        {
            "customer_id": pd.array(["A", "A", "A"], dtype="string"),
            "timestamp": pd.to_datetime(["2024-02-01", "2023-11-15", "2024-03-05"]),
            "event_type": ["complaint", "login", "login"],
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": pd.array(["A", "B"], dtype="string"),
            "loyalty_member": [True, False],
            "signup_date": pd.to_datetime(["2023-03-01", "2024-01-01"]),
        }
    )
    s = build_snapshots(
        con,
        ibis.memtable(tx_frame(ROWS)),
        [("train", CUTOFF)],
        active_days=365,
        horizon_days=30,
        events=ibis.memtable(events),
        customers=ibis.memtable(customers),
    ).set_index("customer_id")
    a, b = s.loc["A"], s.loc["B"]
    assert a["events_90d"] == 1  # 2024-02-01; the 2024-03-05 login is after the cutoff
    assert a["events_prev_90d"] == 1  # 2023-11-15 is 107 days back
    assert a["complaints_180d"] == 1
    assert a["support_tickets_180d"] == 0
    assert a["days_since_event"] == 29
    assert a["loyalty_member"] == 1 and b["loyalty_member"] == 0
    assert a["signup_age_days"] == 366
    assert b["events_90d"] == 0  # no events means zero events...
    assert pd.isna(b["days_since_event"])  # ...and an unknown time since the last one
