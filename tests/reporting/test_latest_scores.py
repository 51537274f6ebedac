"""Risk by segment and the action summary, with and without the optional score columns."""

from __future__ import annotations

import pandas as pd
import pytest

from churn.errors import ChurnError
from churn.reporting.latest_scores import action_summary, risk_by_segment, scoring_summary


def scores(**extra) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "customer_id": pd.array(["1", "2", "3", "4", "5"], dtype="string"),
            "as_of": "2024-12-30",
            "churn_probability": [0.9, 0.7, 0.4, 0.1, 0.2],
            "risk_tier": pd.array(["high", "high", "medium", "low", "low"], dtype="string"),
            "recommended_action": pd.array(["call", "offer", "email", "none", "none"], dtype="string"),
        }
    )
    return frame.assign(**extra)


def test_risk_by_rfm_segment_when_present():
    table = risk_by_segment(scores(rfm_segment=["At Risk", "At Risk", "Loyal", "Loyal", "Champions"]))
    assert table["segment"].tolist() == ["At Risk", "Loyal", "Champions"]  # riskiest first
    at_risk, loyal, champions = (table.iloc[i] for i in range(3))
    assert (at_risk["customers"], at_risk["high"], at_risk["medium"], at_risk["low"]) == (2, 2, 0, 0)
    assert at_risk["mean_churn_probability"] == pytest.approx(0.8)
    assert (loyal["medium"], loyal["low"], loyal["share_high"]) == (1, 1, 0.0)
    assert champions["mean_churn_probability"] == pytest.approx(0.2)
    assert list(table.columns) == [
        "segment",
        "customers",
        "mean_churn_probability",
        "high",
        "medium",
        "low",
        "share_high",
    ]


def test_risk_by_tier_without_segments():
    table = risk_by_segment(scores())
    assert table["segment"].tolist() == ["high", "medium", "low"]
    assert table["customers"].tolist() == [2, 1, 2]


def test_actions_count_always_and_sum_value_columns_when_present():
    plain = action_summary(scores())
    assert plain["action"].tolist() == ["none", "call", "email", "offer"]  # most customers, then by name
    assert plain["customers"].tolist() == [2, 1, 1, 1]
    assert list(plain.columns) == ["action", "customers", "mean_churn_probability"]
    valued = action_summary(
        scores(expected_net_benefit=[50.0, 20.0, 5.0, 0.0, 0.0], model_clv=[100.0, 80.0, 60.0, 40.0, 20.0])
    )
    assert valued.set_index("action")["expected_net_benefit"].to_dict() == {
        "none": 0.0,
        "call": 50.0,
        "email": 5.0,
        "offer": 20.0,
    }
    assert valued.set_index("action").loc["none", "model_clv"] == 60.0
    assert "value_at_risk" not in valued.columns  # never invented


def test_scoring_summary_reports_absent_columns_as_none():
    plain = scoring_summary(scores())
    assert plain["customers"] == 5 and plain["as_of"] == "2024-12-30"
    assert plain["risk_tiers"] == {"high": 2, "medium": 1, "low": 2}
    assert plain["actions"] == {"none": 2, "call": 1, "email": 1, "offer": 1}
    assert plain["expected_net_benefit_total"] is None and plain["model_clv_mean"] is None
    valued = scoring_summary(
        scores(expected_net_benefit=[50.0, 20.0, 5.0, 0.0, 0.0], model_clv=[100.0, 80.0, 60.0, 40.0, 20.0])
    )
    assert valued["expected_net_benefit_total"] == 75.0
    assert (valued["model_clv_total"], valued["model_clv_mean"]) == (300.0, 60.0)


def test_missing_required_column_is_named():
    with pytest.raises(ChurnError, match="recommended_action"):
        action_summary(scores().drop(columns="recommended_action"))
