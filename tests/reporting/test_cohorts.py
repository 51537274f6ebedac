"""Acquisition cohorts on a hand-built log."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from churn.errors import ChurnError
from churn.reporting.cohorts import cohort_retention
from tests.conftest import tx_frame

CUTOFF = pd.Timestamp("2024-04-15")  # April is not complete


def world() -> pd.DataFrame:
    return tx_frame(
        [
            # January cohort: a1, a2, a3
            ("a1", "2024-01-03", 10.0),
            ("a1", "2024-01-20", 10.0),  # twice in one month counts once
            ("a2", "2024-01-10", 10.0),
            ("a3", "2024-01-31T23:59", 10.0),
            ("a1", "2024-02-05", 10.0),
            ("a2", "2024-02-06", -5.0),  # a refund is a transaction: active that month
            ("a1", "2024-03-01", 10.0),
            ("a1", "2024-04-02", 10.0),  # April is incomplete: not shown
            # February cohort: b1, b2
            ("b1", "2024-02-01T00:00", 10.0),
            ("b2", "2024-02-29", 10.0),
            ("b1", "2024-03-15", 10.0),
            # First transaction in the incomplete April: no cohort
            ("c1", "2024-04-01", 10.0),
        ]
    )


def test_hand_computed_cohorts():
    table = cohort_retention(world(), CUTOFF)
    assert table["cohort"].tolist() == ["2024-01", "2024-02", "2024-03"]
    assert table["customers"].tolist() == [3, 2, 0]
    assert list(table.columns) == ["cohort", "customers", "m0", "m1", "m2"]
    jan, feb, mar = (table.iloc[i] for i in range(3))
    assert (jan["m0"], jan["m1"], jan["m2"]) == (1.0, pytest.approx(2 / 3, abs=1e-6), pytest.approx(1 / 3, abs=1e-6))
    assert (feb["m0"], feb["m1"]) == (1.0, 0.5)
    assert math.isnan(feb["m2"])  # would be April
    assert math.isnan(mar["m0"])  # nobody was acquired in March: unknown, not 0%


def test_cutoff_at_month_start_completes_the_month_before():
    table = cohort_retention(world(), pd.Timestamp("2024-04-01"))
    assert table["cohort"].tolist() == ["2024-01", "2024-02", "2024-03"]
    table = cohort_retention(world(), pd.Timestamp("2024-03-31T23:59"))
    assert table["cohort"].tolist() == ["2024-01", "2024-02"]  # March not complete yet
    assert table.iloc[0]["m1"] == pytest.approx(2 / 3, abs=1e-6)


def test_no_complete_month_gives_an_empty_table():
    table = cohort_retention(world(), pd.Timestamp("2024-01-20"))
    assert table.empty and list(table.columns) == ["cohort", "customers"]


def test_error_when_nothing_before_the_cutoff():
    with pytest.raises(ChurnError, match="no rows before"):
        cohort_retention(world(), pd.Timestamp("2023-06-01"))
