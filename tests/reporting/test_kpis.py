"""Period KPIs on hand-built transaction logs with hand-computed answers."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from churn.errors import ChurnError
from churn.reporting.kpis import json_safe, period_kpis, trailing_year
from tests.conftest import tx_frame

CUTOFF = pd.Timestamp("2024-02-01")


def hundred_customers_world() -> pd.DataFrame:
    """100 customers buy in December; in January 80 of them buy again (20 are lost),
    30 new customers arrive (10 of them order twice), and one customer returns 600."""
    rows = [(f"c{i:03d}", "2023-12-01T10:00", 50.0) for i in range(100)]
    rows += [(f"c{i:03d}", "2024-01-15T10:00", 50.0) for i in range(80)]
    rows += [(f"n{i:03d}", "2024-01-10T10:00", 50.0) for i in range(30)]
    rows += [(f"n{i:03d}", "2024-01-20T10:00", 50.0) for i in range(10)]
    rows += [("c000", "2024-01-16T10:00", -600.0)]
    return tx_frame(rows)


def test_hand_computed_month():
    table = period_kpis(hundred_customers_world(), CUTOFF, period="month", active_days=31)
    assert table["period"].tolist() == ["2023-12", "2024-01"]  # February is not complete
    jan = table.iloc[-1]
    assert (jan["customers_start"], jan["new"], jan["lost"], jan["reactivated"], jan["customers_end"]) == (
        100,
        30,
        20,
        0,
        110,
    )
    assert jan["retention_rate"] == pytest.approx(0.80)  # (110 - 30) / 100
    assert jan["lapse_rate"] == pytest.approx(0.20)  # 20 / 100
    assert (jan["buyers"], jan["orders"]) == (110, 120)
    assert jan["repeat_purchase_rate"] == pytest.approx(10 / 110, abs=1e-6)
    assert jan["revenue"] == pytest.approx(120 * 50 - 600)  # the refund subtracts
    assert jan["average_order_value"] == pytest.approx(45.0)  # 5400 / 120 orders
    assert jan["purchase_frequency"] == pytest.approx(120 / 110, abs=1e-6)  # per active customer
    assert jan["expected_lifetime_periods"] == pytest.approx(5.0)  # 1 / 0.2
    assert jan["period_clv"] == pytest.approx(45 * 120 / 110 * 5, abs=0.01)
    assert bool(jan["full_history"])  # 2024-01-01 - 31 days is the first day of data


def test_first_period_has_no_customers_at_start_and_no_history():
    dec = period_kpis(hundred_customers_world(), CUTOFF, period="month", active_days=31).iloc[0]
    assert (dec["customers_start"], dec["new"], dec["customers_end"]) == (0, 100, 100)
    assert math.isnan(dec["retention_rate"]) and math.isnan(dec["lapse_rate"])  # a rate of nobody is unknown
    assert math.isnan(dec["period_clv"])
    assert not dec["full_history"]


def test_margin_scales_period_clv():
    table = period_kpis(hundred_customers_world(), CUTOFF, period="month", active_days=31, margin=0.5)
    assert table["period_clv"].iloc[-1] == pytest.approx(45 * 120 / 110 * 5 * 0.5, abs=0.01)


def test_rows_at_or_after_the_cutoff_are_not_seen():
    later = tx_frame([("c099", "2024-02-01T00:00", 50.0), ("z001", "2024-03-05T00:00", 10.0)])
    with_future = pd.concat([hundred_customers_world(), later], ignore_index=True)
    pd.testing.assert_frame_equal(
        period_kpis(with_future, CUTOFF, period="month", active_days=31),
        period_kpis(hundred_customers_world(), CUTOFF, period="month", active_days=31),
    )


def test_transaction_exactly_at_period_end_belongs_to_the_next_period():
    tx = tx_frame([("a", "2024-01-01T00:00", 10.0), ("b", "2024-01-01T00:00", 10.0), ("a", "2024-02-01T00:00", 10.0)])
    table = period_kpis(tx, pd.Timestamp("2024-03-01"), period="month", active_days=31).set_index("period")
    assert table.loc["2024-01", "orders"] == 2
    assert table.loc["2024-02", "orders"] == 1
    # b's last transaction, 2024-01-01 00:00, is exactly 31 days before 2024-02-01: still active there.
    assert table.loc["2024-02", "customers_start"] == 2
    assert table.loc["2024-02", "lost"] == 1  # b is lost by 2024-03-01


def test_lapsed_customer_coming_back_is_reactivated():
    tx = tx_frame([("r", "2023-10-01T12:00", 10.0), ("s", "2023-12-20T12:00", 10.0), ("r", "2024-01-05T12:00", 10.0)])
    jan = period_kpis(tx, CUTOFF, period="month", active_days=31).set_index("period").loc["2024-01"]
    assert (jan["customers_start"], jan["new"], jan["reactivated"], jan["lost"], jan["customers_end"]) == (
        1,
        0,
        1,
        1,
        1,
    )
    # The standard formula counts the returning customer as retained: retention + churn = 1 + 1/1.
    assert jan["retention_rate"] == pytest.approx(1.0)
    assert jan["lapse_rate"] == pytest.approx(1.0)


def test_order_id_groups_rows_of_one_order():
    tx = tx_frame([("a", "2024-01-02T10:00", 10.0), ("a", "2024-01-02T10:00", 20.0), ("a", "2024-01-09T10:00", 30.0)])
    tx["order_id"] = pd.array(["o1", "o1", "o2"], dtype="string")
    jan = period_kpis(tx, CUTOFF, period="month", active_days=31).iloc[0]
    assert jan["orders"] == 2
    assert jan["average_order_value"] == pytest.approx(30.0)
    assert jan["repeat_purchase_rate"] == pytest.approx(1.0)


def test_quarters():
    table = period_kpis(hundred_customers_world(), pd.Timestamp("2024-04-01"), period="quarter", active_days=365)
    assert table["period"].tolist() == ["2023Q4", "2024Q1"]
    q1 = table.iloc[-1]
    assert (q1["customers_start"], q1["new"], q1["lost"], q1["customers_end"]) == (100, 30, 0, 130)


def test_trailing_year_pools_full_history_periods_only():
    table = period_kpis(hundred_customers_world(), CUTOFF, period="month", active_days=31)
    pooled = trailing_year(table, period="month")
    assert (pooled["first_period"], pooled["last_period"], pooled["periods"]) == ("2024-01", "2024-01", 1)
    assert pooled["lapse_rate"] == pytest.approx(0.2)
    assert pooled["period_clv"] == pytest.approx(table["period_clv"].iloc[-1])
    no_history = period_kpis(hundred_customers_world(), CUTOFF, period="month", active_days=365)
    assert trailing_year(no_history, period="month") is None


def test_trailing_year_weighs_periods_by_size():
    table = pd.DataFrame(
        {
            "period": ["a", "b"],
            "full_history": [True, True],
            "customers_start": [100, 300],
            "new": [0, 0],
            "reactivated": [0, 0],
            "lost": [10, 60],
            "customers_end": [90, 240],
            "buyers": [50, 100],
            "orders": [60, 120],
            "revenue": [600.0, 1200.0],
        }
    )
    pooled = trailing_year(table, period="month")
    assert pooled["lapse_rate"] == pytest.approx(70 / 400)  # not the mean of 10% and 20%
    assert pooled["retention_rate"] == pytest.approx(330 / 400)
    assert pooled["purchase_frequency"] == pytest.approx(180 / 330, abs=1e-6)


@pytest.mark.parametrize(
    "tx, cutoff, kwargs, message",
    [
        (hundred_customers_world(), CUTOFF, {"period": "quarter", "active_days": 60}, "churn.active_days"),
        (hundred_customers_world(), CUTOFF, {"period": "week", "active_days": 60}, "report.period"),
        (
            hundred_customers_world(),
            pd.Timestamp("2023-12-20"),
            {"period": "month", "active_days": 31},
            "no complete month",
        ),
        (
            hundred_customers_world(),
            pd.Timestamp("2023-11-01"),
            {"period": "month", "active_days": 31},
            "no rows before",
        ),
        (hundred_customers_world().drop(columns="amount"), CUTOFF, {"period": "month", "active_days": 31}, "amount"),
        (hundred_customers_world().iloc[:0], CUTOFF, {"period": "month", "active_days": 31}, "no rows"),
    ],
)
def test_error_paths(tx, cutoff, kwargs, message):
    with pytest.raises(ChurnError, match=message):
        period_kpis(tx, cutoff, **kwargs)


def test_json_safe_turns_nan_into_null_and_numpy_into_python():
    import numpy as np

    out = json_safe({"a": np.float64("nan"), "b": np.int64(3), "c": [np.bool_(True)], "d": {"e": 1.5}})
    assert out == {"a": None, "b": 3, "c": [True], "d": {"e": 1.5}}
    assert type(out["b"]) is int


timestamps = st.datetimes(
    min_value=pd.Timestamp("2023-01-01").to_pydatetime(), max_value=pd.Timestamp("2024-06-30").to_pydatetime()
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.sampled_from(list("abcdefgh")), timestamps, st.floats(-50, 200)), min_size=1, max_size=60),
    st.sampled_from([("month", 31), ("month", 90), ("quarter", 92), ("quarter", 365)]),
)
def test_customer_flow_always_adds_up(rows, period_and_window):
    period, active_days = period_and_window
    tx = tx_frame([(c, t.isoformat(), a) for c, t, a in rows])
    try:
        table = period_kpis(tx, pd.Timestamp("2024-07-01"), period=period, active_days=active_days)
    except ChurnError as exc:  # a log whose first row is in the last, incomplete period
        assert "no complete" in str(exc)
        return
    flow = table["customers_start"] - table["lost"] + table["new"] + table["reactivated"]
    assert (flow == table["customers_end"]).all()
    assert (table["customers_start"].iloc[1:].to_numpy() == table["customers_end"].iloc[:-1].to_numpy()).all()
    assert table["new"].sum() == tx.loc[tx["timestamp"] < table["end"].map(pd.Timestamp).max(), "customer_id"].nunique()
