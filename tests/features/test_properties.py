"""The features against their plain definitions on random data, and properties that must
hold for any data: no leakage from the future, no dependence on row order or on how many
cutoffs are built together."""

import ibis
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from churn.features.snapshots import build_snapshots, feature_columns
from tests.features import brute_force

START = pd.Timestamp("2024-01-01")
CUSTOMERS = ["001", "002", "003", "004", "005"]
EVENT_TYPES = ["login", "email_open", "email_click", "support_ticket", "complaint", "survey"]


def random_world(seed: int, n_tx: int = 600, n_events: int = 500) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = [f"{i:03d}" for i in range(40)]
    tx = pd.DataFrame(
        {
            "customer_id": pd.array(rng.choice(ids, n_tx), dtype="string"),
            # Whole days for some rows, so several transactions share a day and a midnight.
            "timestamp": START
            + pd.to_timedelta(
                rng.integers(0, 400, n_tx) * 86400 + rng.choice([0, 1, 43_210], n_tx) * rng.integers(0, 2, n_tx),
                unit="s",
            ),
            "amount": np.round(rng.normal(40, 50, n_tx), 2),
            "category": pd.array(rng.choice(["Home", "Toys", "Garden", None], n_tx), dtype="string"),
            "channel": pd.array(rng.choice(["web", "app", None], n_tx), dtype="string"),
        }
    )
    events = pd.DataFrame(
        {
            "customer_id": pd.array(rng.choice(ids, n_events), dtype="string"),
            "timestamp": START + pd.to_timedelta(rng.integers(0, 400 * 86400, n_events), unit="s"),
            "event_type": rng.choice(EVENT_TYPES, n_events),
        }
    )
    return tx, events


def build(tx, cutoffs, horizon_days=60, events=None, split="train"):
    return build_snapshots(
        ibis.duckdb.connect(),
        ibis.memtable(tx),
        [(split, c) for c in cutoffs],
        active_days=120,
        horizon_days=horizon_days,
        events=None if events is None else ibis.memtable(events),
        active_only=False,
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_features_match_their_plain_definitions_at_many_cutoffs(seed):
    tx, events = random_world(seed)
    # Midnights, one noon, and one cutoff before most of the data.
    cutoffs = [pd.Timestamp(c) for c in ("2024-01-20", "2024-06-01", "2024-07-01", "2024-08-15 12:00", "2024-11-30")]
    got = build(tx, cutoffs, events=events)
    for cutoff in cutoffs:
        snap = got[got["cutoff"] == cutoff].set_index("customer_id")
        want = brute_force.transaction_features(tx, cutoff, active_days=120, horizon_days=60)
        want = want.join(brute_force.engagement_features(events, cutoff))
        assert sorted(snap.index) == sorted(want.index)
        want = want.reindex(snap.index)
        want = want.fillna({c: 0.0 for c in want.columns if c.endswith(("_30d", "_90d", "_180d"))})
        for col in want.columns:
            expected, actual = want[col].astype(float).to_numpy(), snap[col].astype(float).to_numpy()
            np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-9, err_msg=f"{col} at {cutoff}")
        assert set(want.columns) | {"loyalty_member", "signup_age_days", "tier"} >= set(
            feature_columns(snap.reset_index())
        )


# Hypothesis data: amounts in cents, as in real exports. Money is summed as exact decimals,
# so no result may depend on the order in which rows are added up.
rows = st.lists(
    st.tuples(
        st.sampled_from(CUSTOMERS),
        st.integers(0, 200 * 86400),  # seconds after START
        st.integers(-10_000, 100_000).map(lambda cents: cents / 100),
        st.sampled_from(["Home", "Toys", None]),
        st.sampled_from(["web", "app", None]),
    ),
    min_size=1,
    max_size=40,
)
cutoff_days = st.integers(20, 180)


def to_frame(rows) -> pd.DataFrame:
    cid, seconds, amount, category, channel = zip(*rows)
    return pd.DataFrame(
        {
            "customer_id": pd.array(cid, dtype="string"),
            "timestamp": START + pd.to_timedelta(list(seconds), unit="s"),
            "amount": pd.array(amount, dtype="float64"),
            "category": pd.array(category, dtype="string"),
            "channel": pd.array(channel, dtype="string"),
        }
    )


FAST = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(rows, rows, cutoff_days, st.booleans())
def test_rows_at_or_after_the_cutoff_never_change_a_feature(history, later, day, at_midnight):
    cutoff = START + pd.Timedelta(days=day, hours=0 if at_midnight else 7)
    tx = to_frame(history)
    # Shift the extra rows to [cutoff, ...): the first lands exactly on the cutoff.
    extra = to_frame(later)
    extra["timestamp"] = cutoff + (extra["timestamp"] - extra["timestamp"].min())
    before = build(tx, [cutoff], horizon_days=None)
    after = build(pd.concat([tx, extra], ignore_index=True), [cutoff], horizon_days=None)
    features = [*feature_columns(before), "is_active"]
    pd.testing.assert_frame_equal(
        after.set_index("customer_id")[features], before.set_index("customer_id")[features], check_exact=True
    )


@FAST
@given(rows, st.randoms(use_true_random=False), st.lists(cutoff_days, min_size=1, max_size=3, unique=True))
def test_row_order_never_changes_anything(history, rng, days):
    tx = to_frame(history)
    shuffled = tx.iloc[rng.sample(range(len(tx)), len(tx))].reset_index(drop=True)
    cutoffs = [START + pd.Timedelta(days=d) for d in days]
    pd.testing.assert_frame_equal(build(shuffled, cutoffs), build(tx, cutoffs), check_exact=True)


@FAST
@given(rows, st.lists(cutoff_days, min_size=2, max_size=3, unique=True))
def test_cutoffs_built_together_equal_cutoffs_built_one_by_one(history, days):
    tx = to_frame(history)
    cutoffs = sorted(START + pd.Timedelta(days=d) for d in days)
    together = build(tx, cutoffs)
    alone = pd.concat([build(tx, [c]) for c in cutoffs], ignore_index=True)
    pd.testing.assert_frame_equal(together, alone, check_exact=True)
