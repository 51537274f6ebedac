"""Tests for the synthetic buy-till-you-die world generator."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churn.data.synthetic import (
    CATEGORIES,
    CHANNELS,
    EVENT_TYPES,
    POST_STOP_DAYS,
    REGIONS,
    SyntheticWorld,
    generate_world,
)

START = date(2023, 1, 1)
DAYS = 730
T0 = pd.Timestamp(START)
T_END = T0 + pd.Timedelta(days=DAYS)


@pytest.fixture(scope="module")
def world() -> SyntheticWorld:
    return generate_world(5_000, START, DAYS, seed=7)


@pytest.fixture(scope="module")
def default_world() -> SyntheticWorld:
    return generate_world(20_000, START, DAYS, seed=42)


def _frames(w: SyntheticWorld) -> dict[str, pd.DataFrame]:
    return {"transactions": w.transactions, "events": w.events, "customers": w.customers, "truth": w.truth}


def test_same_seed_gives_identical_frames():
    a, b = generate_world(800, START, 365, seed=3), generate_world(800, START, 365, seed=3)
    for name, frame in _frames(a).items():
        pd.testing.assert_frame_equal(frame, _frames(b)[name])


def test_different_seed_gives_different_frames():
    a, b = generate_world(800, START, 365, seed=3), generate_world(800, START, 365, seed=4)
    for name, frame in _frames(a).items():
        other = _frames(b)[name]
        assert not (frame.shape == other.shape and frame.equals(other)), name


def test_schema_and_dtypes(world):
    tx, ev, cu, tr = world.transactions, world.events, world.customers, world.truth
    assert list(tx.columns) == [
        "order_id",
        "customer_id",
        "timestamp",
        "amount",
        "quantity",
        "category",
        "channel",
        "status",
    ]
    assert list(ev.columns) == ["customer_id", "timestamp", "event_type"]
    assert list(cu.columns) == ["customer_id", "signup_date", "loyalty_member", "region"]
    assert list(tr.columns) == [
        "customer_id",
        "signup_date",
        "stop_date",
        "purchase_rate_per_day",
        "dropout_rate_per_day",
        "loyalty_member",
    ]
    for frame in _frames(world).values():
        assert isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0
        assert pd.api.types.is_string_dtype(frame["customer_id"])
        assert frame["customer_id"].str.fullmatch(r"\d{6}").all()
    assert cu["customer_id"].iloc[0] == "000000"  # leading zeros are part of the id
    assert cu["customer_id"].str.startswith("0").all()
    for col in ("timestamp",):
        assert tx[col].dtype == "datetime64[ns]" and ev[col].dtype == "datetime64[ns]"
    assert cu["signup_date"].dtype == "datetime64[ns]" and tr["stop_date"].dtype == "datetime64[ns]"
    assert (cu["signup_date"] == cu["signup_date"].dt.normalize()).all()
    assert tx["amount"].dtype == np.float64 and tx["quantity"].dtype == np.int64
    assert (tx["quantity"] > 0).all()
    assert (tx["amount"] != 0).all() and np.allclose(tx["amount"], tx["amount"].round(2))
    assert set(tx["status"]) == {"Completed", "Cancelled"}
    assert set(tx["category"]) == set(CATEGORIES)
    assert set(tx["channel"]) == set(CHANNELS)
    assert set(ev["event_type"]) == set(EVENT_TYPES)
    assert set(cu["region"]) == set(REGIONS)
    assert cu["loyalty_member"].dtype == bool
    pd.testing.assert_series_equal(cu["customer_id"], tr["customer_id"])
    pd.testing.assert_series_equal(cu["signup_date"], tr["signup_date"])


def test_rows_sorted_and_ids(world):
    for frame in (world.transactions, world.events):
        keys = frame[["timestamp", "customer_id"]]
        expected = keys.sort_values(["timestamp", "customer_id"], kind="stable").reset_index(drop=True)
        pd.testing.assert_frame_equal(keys, expected)
    assert world.customers["customer_id"].is_monotonic_increasing
    assert world.customers["customer_id"].is_unique
    order_id = world.transactions["order_id"]
    assert order_id.is_unique and order_id.is_monotonic_increasing  # assigned in timestamp order
    assert order_id.str.fullmatch(r"O\d+").all()


def test_everything_inside_the_window_and_known(world):
    known = set(world.customers["customer_id"])
    for frame in (world.transactions, world.events):
        assert frame["timestamp"].ge(T0).all() and frame["timestamp"].lt(T_END).all()
        assert set(frame["customer_id"]) <= known
        assert (frame["timestamp"] != frame["timestamp"].dt.floor("s")).sum() == 0  # seconds
    assert world.transactions["timestamp"].dt.hour.nunique() > 12  # real times of day
    signup = world.events.merge(world.customers, on="customer_id")
    assert (signup["timestamp"] >= signup["signup_date"]).all()


def test_customer_base(world):
    cu, tr = world.customers, world.truth
    assert 0.2 <= cu["loyalty_member"].mean() <= 0.3
    pre_existing = cu["signup_date"] < T0
    assert 0.1 < pre_existing.mean() < 0.7
    assert (cu["signup_date"] < T_END).all()
    # more joining in some months than in others
    monthly = cu.loc[~pre_existing, "signup_date"].dt.to_period("M").value_counts()
    assert monthly.max() > 1.5 * monthly.min()
    assert (tr["stop_date"] > tr["signup_date"]).all()
    assert (tr["purchase_rate_per_day"] > 0).all() and (tr["dropout_rate_per_day"] > 0).all()
    assert 20 <= 1 / tr["purchase_rate_per_day"].median() <= 60  # a purchase every ~1-2 months


def test_first_purchase_at_signup(world):
    new = world.customers[world.customers["signup_date"] >= T0]
    first = world.transactions.groupby("customer_id")["timestamp"].min()
    joined = new.join(first, on="customer_id")
    assert joined["timestamp"].notna().all()
    assert (joined["timestamp"].dt.normalize() == joined["signup_date"]).all()


def test_refund_cancel_shares(world):
    tx = world.transactions
    assert 0.02 <= (tx["amount"] < 0).mean() <= 0.04
    assert 0.01 <= (tx["status"] == "Cancelled").mean() <= 0.025


def test_refunds_copy_an_earlier_purchase(world):
    tx = world.transactions
    refunds, purchases = tx[tx["amount"] < 0], tx[tx["amount"] > 0]
    assert (refunds["status"] == "Completed").all()
    pairs = refunds.merge(purchases, on=["customer_id", "category", "channel", "quantity"], suffixes=("", "_p"))
    lag = pairs["timestamp"] - pairs["timestamp_p"]
    pairs = pairs[(pairs["amount"] == -pairs["amount_p"]) & (lag > pd.Timedelta(0)) & (lag <= pd.Timedelta(days=14))]
    assert pairs["order_id"].nunique() == len(refunds)


def test_spend_is_realistic(world):
    amount = world.transactions.loc[world.transactions["amount"] > 0, "amount"]
    assert 25 <= amount.median() <= 60
    assert amount.quantile(0.99) > 4 * amount.median()  # long right tail
    favourite_share = world.transactions.groupby("customer_id")["category"].agg(
        lambda s: s.value_counts(normalize=True).iloc[0]
    )
    assert favourite_share.median() > 0.5  # a favourite category dominates


def test_no_purchase_after_stop(world):
    purchases = world.transactions[world.transactions["amount"] > 0].merge(world.truth, on="customer_id")
    assert (purchases["timestamp"] <= purchases["stop_date"]).all()


def test_loyalty_members_live_longer(world):
    tr = world.truth
    lifetime = (tr["stop_date"] - tr["signup_date"]).dt.total_seconds() / 86_400
    by_loyalty = lifetime.groupby(tr["loyalty_member"]).mean()
    assert by_loyalty[True] > 1.3 * by_loyalty[False]
    rates = tr.groupby("loyalty_member")["purchase_rate_per_day"].mean()
    assert rates[True] > rates[False]


def _events_before_stop(world, lo_days, hi_days, types=None):
    """Events per customer-day in [stop - hi_days, stop - lo_days) over customers stopping in the window."""
    tr = world.truth
    t0 = tr["signup_date"].where(tr["signup_date"] > T0, T0)
    churners = tr[(tr["stop_date"] < T_END) & (tr["stop_date"] - pd.Timedelta(days=180) >= t0)]
    ev = world.events.merge(churners[["customer_id", "stop_date"]], on="customer_id")
    if types is not None:
        ev = ev[ev["event_type"].isin(types)]
    before = ev["stop_date"] - ev["timestamp"]
    inside = (before > pd.Timedelta(days=lo_days)) & (before <= pd.Timedelta(days=hi_days))
    return inside.sum() / (len(churners) * (hi_days - lo_days))


def test_engagement_fades_before_stop(world):
    recent = _events_before_stop(world, 0, 60)
    earlier = _events_before_stop(world, 60, 180)
    assert recent < 0.8 * earlier


def test_churners_complain_more_in_final_months(world):
    types = ["support_ticket", "complaint"]
    assert _events_before_stop(world, 0, 90, types) > 1.5 * _events_before_stop(world, 120, 180, types)


def test_activity_ends_after_stop(world):
    ev = world.events.merge(world.truth[["customer_id", "stop_date"]], on="customer_id")
    late = ev[ev["timestamp"] > ev["stop_date"] + pd.Timedelta(days=POST_STOP_DAYS + 1)]
    assert set(late["event_type"]) <= {"email_open"}
    assert len(late) < 0.02 * len(ev)  # only a few residual opens


def test_default_world_size(default_world):
    n_tx = len(default_world.transactions)
    assert 150_000 <= n_tx <= 600_000
    assert 0.3 <= (default_world.truth["stop_date"] < T_END).mean() <= 0.7
    assert default_world.transactions["customer_id"].nunique() > 0.9 * 20_000


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(0, 150),
    days=st.integers(1, 400),
    seed=st.integers(0, 2**32 - 1),
    start=st.dates(date(2000, 1, 1), date(2040, 12, 31)),
)
def test_invariants_hold_for_any_arguments(n, days, seed, start):
    w = generate_world(n, start, days, seed)
    t0, t_end = pd.Timestamp(start), pd.Timestamp(start) + pd.Timedelta(days=days)
    assert len(w.customers) == len(w.truth) == n
    assert w.transactions["order_id"].is_unique
    for frame in (w.transactions, w.events):
        assert frame["timestamp"].between(t0, t_end, inclusive="left").all()
        assert frame["timestamp"].is_monotonic_increasing
        assert set(frame["customer_id"]) <= set(w.customers["customer_id"])
    new = w.customers.loc[w.customers["signup_date"] >= t0, "customer_id"]
    assert set(new) <= set(w.transactions["customer_id"])


def test_recent_contacts_for_fatigue_rules():
    world = generate_world(4000, date(2023, 1, 1), 730, 7)
    contacts = world.contacts[world.contacts["campaign"].isna()]
    window_end = pd.Timestamp("2023-01-01") + pd.Timedelta(days=730)
    assert contacts["timestamp"].between(window_end - pd.Timedelta(days=60), window_end, inclusive="left").all()
    assert set(contacts["customer_id"]) <= set(world.customers["customer_id"])
    assert 0.05 < len(contacts) / len(world.customers) < 0.15
    assert set(contacts["channel"]) <= {"email", "phone"}


def test_past_campaigns_have_control_groups_and_known_effects_that_differ_by_customer():
    world = generate_world(4000, date(2023, 1, 1), 730, 7)
    rows = world.contacts[world.contacts["campaign"].notna()]
    truth = world.campaign_truth
    assert rows["campaign"].nunique() == 7 and len(rows) == len(truth)
    assert 0.25 < (rows["group"] == "control").mean() < 0.35
    assert rows.loc[rows["group"] == "control", "channel"].isna().all()  # held back: never sent
    # Every action meets every kind of customer it can affect; effects differ by kind.
    by_kind = truth.groupby("kind")["true_effect"]
    assert by_kind.mean()["persuadable"] > 0.03 and by_kind.max()["sure_thing"] == 0.0
    assert by_kind.mean()["sleeping_dog"] < -0.05 and by_kind.max()["lost_cause"] == 0.0
    assert truth.groupby("action")["kind"].nunique().min() >= 3
    # Effects act on the world itself: treated persuadables buy in the window more often than
    # their control group, treated sleeping dogs less often.
    tx = world.transactions[world.transactions["status"] == "Completed"]
    window = truth.merge(tx[["customer_id", "timestamp"]], on="customer_id")
    days = (window["timestamp"] - window["campaign_date"]).dt.days
    bought = window[(days >= 0) & (days < 90)][["campaign", "customer_id"]].drop_duplicates().assign(bought=1)
    seen = truth.merge(bought, on=["campaign", "customer_id"], how="left").fillna({"bought": 0})
    rate = seen.groupby(["kind", "group"])["bought"].mean()
    assert rate["persuadable", "treatment"] > rate["persuadable", "control"] + 0.03
    assert rate["sleeping_dog", "treatment"] < rate["sleeping_dog", "control"] - 0.03
    assert generate_world(500, date(2023, 1, 1), 730, 7).campaign_truth.equals(
        generate_world(500, date(2023, 1, 1), 730, 7).campaign_truth
    )
