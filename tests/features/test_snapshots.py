import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from churn.features import attributes, behaviour, engagement, rfm, rhythm, season
from churn.features.segments import RFM_COLUMNS
from churn.features.snapshots import build_snapshots, by_cutoff_and_customer, feature_columns, snapshot_summary
from churn.timeline import cutoff_for_as_of, plan_cutoffs, scoring_cutoff
from tests.conftest import tx_frame

CUTOFF = pd.Timestamp("2024-03-01")

# Five customers, hand-computed below: (customer, timestamp, amount, category, channel).
ROWS = [
    ("A", "2024-01-01", 100.0, "Home", "web"),
    ("A", "2024-02-10 09:00", 50.0, "Toys", "app"),
    ("A", "2024-02-10 18:00", 5.0, "Home", "store"),  # same day: one active day
    ("A", "2024-02-20", -20.0, "Garden", "app"),  # refund: no purchase in Garden
    ("B", "2024-02-29 12:00", 30.0, "Toys", "web"),
    ("C", "2022-01-01", 10.0, "Home", "web"),  # lapsed: older than active_days
    ("D", "2024-03-01", 40.0, "Home", "web"),  # exactly at the cutoff: label only, never a feature
    ("E", "2024-02-01", 10.0, "Home", "web"),
    ("E", "2024-03-15", 10.0, "Toys", "app"),  # in the label window: E stays
]


def frame(rows=ROWS) -> pd.DataFrame:
    tx = tx_frame([r[:3] for r in rows])
    tx["category"] = pd.array([r[3] for r in rows], dtype="string")
    tx["channel"] = pd.array([r[4] for r in rows], dtype="string")
    return tx


def snapshot(rows=ROWS, cutoff=CUTOFF, horizon_days=30, active_only=False, **tables):
    return raw_snapshot(rows, cutoff, horizon_days, active_only, **tables).set_index("customer_id")


def raw_snapshot(rows=ROWS, cutoff=CUTOFF, horizon_days=30, active_only=False, **tables):
    return build_snapshots(
        ibis.duckdb.connect(),
        ibis.memtable(frame(rows)),
        [("train", cutoff)],
        active_days=365,
        horizon_days=horizon_days,
        active_only=active_only,
        **{k: ibis.memtable(v) for k, v in tables.items()},
    )


def test_hand_computed_rfm_and_behaviour():
    a = snapshot().loc["A"]
    assert a["recency_days"] == 10  # 2024-02-20 -> 2024-03-01
    assert a["tenure_days"] == 60
    assert a["frequency"] == 4
    assert a["monetary_total"] == 135
    assert a["monetary_mean"] == pytest.approx(155 / 3)  # purchases only
    assert a["monetary_max"] == 100
    assert a["refund_share"] == 0.25
    assert (a["frequency_30d"], a["monetary_30d"]) == (3, 35)  # from 2024-01-31: the Feb rows
    assert (a["frequency_90d"], a["monetary_90d"]) == (4, 135)
    assert (a["frequency_180d"], a["monetary_180d"]) == (4, 135)
    assert a["frequency_trend"] == 1 and a["monetary_trend"] == 1  # nothing in the 90 days before
    assert a["churned"] == 1


def test_hand_computed_rhythm():
    s = snapshot()
    a = s.loc["A"]
    assert a["active_days"] == 3
    assert a["interpurchase_days"] == 25  # gaps of 40 and 10 days
    assert a["interpurchase_std_days"] == pytest.approx(np.sqrt(450))  # sample std of (40, 10)
    assert a["overdue_ratio"] == pytest.approx(10 / 25)
    assert a["active_month_share"] == 1  # January and February, both active
    assert a["category_count"] == 2  # Home, Toys; the Garden refund is no purchase
    assert a["channel_count"] == 3
    b = s.loc["B"]
    assert b["recency_days"] == 0.5 and b["tenure_days"] == 0.5
    assert pd.isna(b["interpurchase_days"]) and pd.isna(b["interpurchase_std_days"]) and pd.isna(b["overdue_ratio"])
    assert s.loc["C", "active_month_share"] == pytest.approx(1 / 26)  # Jan 2022 .. Feb 2024
    assert s.loc["E", "churned"] == 0


def test_trends_compare_the_last_90_days_with_the_90_before():
    rows = [
        ("A", "2023-10-01", 10.0, None, None),
        ("A", "2023-10-02", 10.0, None, None),
        ("A", "2024-02-01", 30.0, None, None),
    ]
    a = snapshot(rows).loc["A"]
    assert a["frequency_trend"] == pytest.approx((1 - 2) / 3)
    assert a["monetary_trend"] == pytest.approx((30 - 20) / 50)
    assert pd.isna(snapshot([("A", "2023-01-01", 5.0, None, None)]).loc["A", "frequency_trend"])  # none in 180 days


def test_population_and_lapsed():
    s = snapshot()
    assert bool(s.loc["C", "is_active"]) is False
    assert s.loc[["A", "B", "E"], "is_active"].all()
    assert set(snapshot(active_only=True).index) == {"A", "B", "E"}


def test_transaction_at_cutoff_counts_for_label_not_features():
    s = snapshot()
    assert "D" not in s.index  # no history before the cutoff
    # Move D's history one second earlier: it becomes a feature, and D has no future.
    rows = [r for r in ROWS if r[0] != "D"] + [("D", "2024-02-29 23:59:59", 40.0, "Home", "web")]
    assert snapshot(rows).loc["D", "churned"] == 1
    # A transaction exactly at the cutoff keeps B from churning but does not change B's features.
    with_future = snapshot(ROWS + [("B", "2024-03-01", 99.0, "Garden", "app")])
    assert with_future.loc["B", "churned"] == 0
    features = feature_columns(with_future.reset_index())
    pd.testing.assert_series_equal(with_future.loc["B", features], snapshot().loc["B", features])


def test_label_window_is_half_open():
    # A purchase exactly at cutoff + horizon is outside [t, t + H): the customer churned.
    rows = [("A", "2024-02-01", 1.0, None, None), ("A", "2024-03-31", 1.0, None, None)]
    assert snapshot(rows, horizon_days=30).loc["A", "churned"] == 1
    assert snapshot(rows, horizon_days=31).loc["A", "churned"] == 0


def test_label_is_null_where_its_window_passes_the_end_of_the_data():
    con, tx = ibis.duckdb.connect(), ibis.memtable(frame())
    cutoffs = [("custom", pd.Timestamp("2024-02-15")), ("custom", CUTOFF)]
    # Data until 2024-03-15 (labels_until 2024-03-16): 2024-02-15 + 30 days is inside, 2024-03-01 + 30 is not.
    s = build_snapshots(
        con, tx, cutoffs, active_days=365, horizon_days=30, labels_until=pd.Timestamp("2024-03-16"), active_only=False
    )
    assert str(s["churned"].dtype) == "Int8"
    assert s.loc[s["cutoff"] == "2024-02-15", "churned"].notna().all()
    assert s.loc[s["cutoff"] == CUTOFF, "churned"].isna().all()


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


def test_several_cutoffs_are_sorted_split_and_scored_within_each():
    con, tx = ibis.duckdb.connect(), ibis.memtable(frame())
    s = build_snapshots(
        con, tx, [("test", CUTOFF), ("train", pd.Timestamp("2024-02-15"))], active_days=365, horizon_days=30
    )
    assert s["cutoff"].is_monotonic_increasing
    assert s.groupby("cutoff")["split"].first().tolist() == ["train", "test"]
    assert s.groupby("cutoff")["r_score"].max().tolist() == [5, 5]
    with pytest.raises(ValueError, match="only once"):
        build_snapshots(con, tx, [("train", CUTOFF), ("test", CUTOFF)], active_days=365, horizon_days=30)


def test_columns_are_ordered_typed_and_every_feature_is_documented():
    s = raw_snapshot(events=EVENTS, customers=CUSTOMERS)
    assert list(s.columns[:4]) == ["split", "cutoff", "customer_id", "is_active"]
    assert list(s.columns[-6:]) == [*RFM_COLUMNS, "churned"]
    features = feature_columns(s)
    documented = (
        rfm.FEATURES
        | behaviour.FEATURES
        | rhythm.FEATURES
        | season.FEATURES
        | engagement.FEATURES
        | attributes.FEATURES
    )
    assert set(features) == set(documented)  # with every optional table and column present
    assert features == sorted(features)
    assert not set(RFM_COLUMNS) & set(features)  # carried along, never model inputs
    assert isinstance(s["tier"].dtype, pd.CategoricalDtype)
    assert (s[features].drop(columns="tier").dtypes == "float64").all()


def test_missing_optional_columns_mean_fewer_features():
    tx = frame()[["customer_id", "timestamp", "amount"]]
    s = build_snapshots(ibis.duckdb.connect(), ibis.memtable(tx), [("train", CUTOFF)], active_days=365, horizon_days=30)
    features = set(feature_columns(s))
    always = set(rfm.FEATURES) | set(behaviour.FEATURES) | set(rhythm.FEATURES) | set(season.FEATURES)
    assert features == always - {"category_count", "channel_count"}


EVENTS = pd.DataFrame(
    {
        "customer_id": pd.array(["A", "A", "A", "A"], dtype="string"),
        "timestamp": pd.to_datetime(["2024-02-01", "2023-11-15", "2024-03-05", "2024-01-20"]),
        "event_type": ["complaint", "login", "login", "email_open"],
    }
)
CUSTOMERS = pd.DataFrame(
    {
        "customer_id": pd.array(["A", "B"], dtype="string"),
        "loyalty_member": [True, False],
        "signup_date": pd.to_datetime(["2023-03-01", "2024-01-01"]),
        "tier": pd.array(["gold", None], dtype="string"),
    }
)


def test_engagement_and_static_features():
    s = snapshot(events=EVENTS, customers=CUSTOMERS)
    a, b = s.loc["A"], s.loc["B"]
    assert (a["events_30d"], a["events_90d"]) == (1, 2)  # the 2024-03-05 login is after the cutoff
    assert a["events_trend"] == pytest.approx((2 - 1) / 3)  # 2023-11-15 is 107 days back
    assert (a["logins_90d"], a["logins_trend"]) == (0, -1)
    assert (a["email_opens_30d"], a["email_opens_90d"], a["email_opens_trend"]) == (0, 1, 1)
    assert pd.isna(a["email_clicks_trend"])
    assert a["complaints_180d"] == 1
    assert a["support_tickets_180d"] == 0
    assert a["days_since_event"] == 29
    assert a["loyalty_member"] == 1 and b["loyalty_member"] == 0
    assert a["tier"] == "gold" and pd.isna(b["tier"])
    assert a["signup_age_days"] == 366
    assert b["events_90d"] == 0  # no events means zero events...
    assert pd.isna(b["days_since_event"]) and pd.isna(b["events_trend"])  # ...and unknown times and trends


def test_money_is_summed_exactly():
    # As floats, 0.1 + 0.2 + 0.3 is 0.6000000000000001, and a parallel engine may add in any order.
    rows = [("A", f"2024-02-0{i + 1}", amount, None, None) for i, amount in enumerate([0.1, 0.2, 0.3])]
    a = snapshot(rows).loc["A"]
    assert a["monetary_total"] == 0.6 and a["monetary_30d"] == 0.6
    assert a["monetary_mean"] == pytest.approx(0.2)


def test_summary_counts_match_a_plain_pandas_count():
    """Active and lapsed rows and the active rows' label share per split (missing labels not
    counted; a split whose labels are all missing has no rate)."""
    snaps = pd.DataFrame(
        {
            "split": pd.array(["train", "train", "train", "test", "test", "score"], dtype="string"),
            "is_active": [True, True, False, True, False, True],
            "churned": pd.array([1, 0, 1, None, 1, None], dtype="Int8"),
        }
    )
    summary = snapshot_summary(snaps, None, [("custom", pd.Timestamp("2024-01-02"))], pd.Timestamp("2024-03-01"))
    assert summary["rows"] == {"train": 2, "test": 1, "score": 1}
    assert summary["lapsed_rows"] == {"train": 1, "test": 1, "score": 0}
    assert summary["churn_rate"] == {"train": 0.5, "test": None, "score": None}


def test_snapshot_rows_out_of_order_are_recognised():
    from churn.features.snapshots import _in_cutoff_and_customer_order

    def frame(cutoffs, ids):
        return pd.DataFrame({"cutoff": pd.to_datetime(cutoffs), "customer_id": pd.array(ids, dtype="string")})

    assert _in_cutoff_and_customer_order(frame(["2024-01-01", "2024-01-01", "2024-02-01"], ["a", "b", "a"]))
    assert _in_cutoff_and_customer_order(frame(["2024-01-01", "2024-01-01"], ["Z", "a"]))  # by code point
    assert not _in_cutoff_and_customer_order(frame(["2024-01-01", "2024-01-01"], ["b", "a"]))
    assert not _in_cutoff_and_customer_order(frame(["2024-02-01", "2024-01-01"], ["a", "b"]))
    assert not _in_cutoff_and_customer_order(frame(["2024-01-01", "2024-01-01"], ["a", "a"]))  # a repeat is not order


def test_customer_groups_give_the_same_snapshots_as_one_query():
    # Memory-bounded scoring computes the customers in ranges of ids (rows_per_query); every
    # feature is a customer's own, so the rows must be the same as from one query.
    con = ibis.duckdb.connect()
    tables = {"events": ibis.memtable(EVENTS), "customers": ibis.memtable(CUSTOMERS)}
    cutoffs = [("train", pd.Timestamp("2024-02-15")), ("test", CUTOFF)]
    options = dict(active_days=365, horizon_days=30, active_only=False, **tables)
    whole = build_snapshots(con, ibis.memtable(frame()), cutoffs, **options)
    shuffled = frame().sample(frac=1, random_state=0)  # ranges from a file in any order cover every id too
    for rows in (frame(), shuffled):
        for rows_per_query in (1, 2, 5):  # up to one range per transaction row
            grouped = build_snapshots(con, ibis.memtable(rows), cutoffs, rows_per_query=rows_per_query, **options)
            pd.testing.assert_frame_equal(grouped, whole)


@pytest.mark.parametrize("seed", range(5))
def test_rows_sort_by_cutoff_and_customer_as_arrow_sorts_them(seed):
    """Text by code point (upper case before lower, accents after), cutoffs in time, in
    several chunks as DuckDB hands them: the same order as Arrow's own sort_by."""
    rng = np.random.default_rng(seed)
    ids = np.array(["a", "B", "b", "é", "z10", "z2", "", "ab", "A1", "ä"])
    cutoffs = pd.to_datetime(["2024-03-01", "2024-01-01", "2024-02-01"])
    pairs = {(c, i) for c, i in zip(rng.integers(0, 3, 60), rng.integers(0, len(ids), 60))}
    c, i = zip(*pairs)
    table = pa.table(
        {
            "cutoff": pa.array(cutoffs[list(c)].to_numpy()),
            "customer_id": pa.array(ids[list(i)]),
            "x": pa.array(rng.normal(size=len(pairs))),
        }
    )
    table = pa.concat_tables([table.slice(0, 7), table.slice(7)])
    expected = table.sort_by([("cutoff", "ascending"), ("customer_id", "ascending")])
    assert by_cutoff_and_customer(table).equals(expected)
    assert by_cutoff_and_customer(table.slice(0, 1)).equals(table.slice(0, 1))
