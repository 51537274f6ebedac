import math

import numpy as np
import pandas as pd
import pytest

from churn.features import attributes, behaviour, engagement, rfm, rhythm, season
from churn.features.phrases import DRIVERS
from churn.scoring.reasons import PHRASES, describe, driver_of, top_reasons


def test_plain_words_with_plurals_units_and_currency():
    assert describe("recency_days", 94.4) == "no purchase for 94 days"
    assert describe("recency_days", 1.2) == "no purchase for 1 day"
    assert describe("complaints_180d", 1.0) == "1 complaint in the last 180 days"
    assert describe("support_tickets_180d", 2.0) == "2 support tickets in the last 180 days"
    assert describe("category_count", 1.0) == "buys in 1 category"
    assert describe("category_count", 3.0) == "buys in 3 categories"
    assert describe("overdue_ratio", 3.04) == "3.0 times their usual gap since the last purchase"
    assert describe("monetary_90d", 1234.6, "EUR") == "spent 1,235 EUR in the last 90 days"
    assert describe("monetary_90d", 1234.6) == "spent 1,235 in the last 90 days"
    assert describe("loyalty_member", 1.0) == "a loyalty member"
    assert describe("loyalty_member", 0.0) == "not a loyalty member"
    assert describe("cutoff_month", 12.0) == "the time of year (December)"
    assert describe("frequency_trend", -0.6) == "transactions down in the last 90 days against the 90 before"
    assert describe("days_since_event", float("nan")) == "no engagement on record"


@pytest.mark.parametrize("value", [float("nan"), 0.0, 1.0, 2.5, 40.0, -0.5])
def test_every_feature_has_a_phrase_and_no_reason_shows_a_code_name(value):
    features = rfm.FEATURES | behaviour.FEATURES | rhythm.FEATURES | season.FEATURES | engagement.FEATURES
    features |= attributes.FEATURES
    assert set(features) <= set(PHRASES)
    for name in PHRASES:
        text = describe(name, "gold" if name == "tier" and not math.isnan(value) else value, "EUR")
        assert text and "_" not in text and "{" not in text and "[" not in text and "nan" not in text, (name, text)
        assert driver_of(name) in DRIVERS


def test_reasons_are_what_raises_the_risk_strongest_first_and_protection_is_said_apart():
    features = ["recency_days", "support_tickets_180d", "monetary_90d", "loyalty_member"]
    values = pd.DataFrame(
        {
            "recency_days": [40.0, 5.0],
            "support_tickets_180d": [2.0, 0.0],
            "monetary_90d": [10.0, 900.0],
            "loyalty_member": [0.0, 1.0],
        }
    )
    contrib = np.array(
        [
            [0.3, 1.2, -2.0, 0.1, 0.5],  # tickets raise most; the big negative spend share is protection
            [-0.4, -0.1, -0.9, -0.2, 0.5],  # nothing raises the risk
        ]
    )
    out = top_reasons(contrib, values, features, currency="EUR")
    assert out.loc[0, "reason_1"] == "2 support tickets in the last 180 days"
    assert out.loc[0, "reason_2"] == "no purchase for 40 days"
    assert out.loc[0, "reason_3"] == "not a loyalty member"
    assert out.loc[0, "protective_factor"] == "spent 10 EUR in the last 90 days"
    assert out.loc[0, "top_driver"] == "service"
    assert out.loc[1, ["reason_1", "reason_2", "reason_3"]].isna().all()
    assert out.loc[1, "protective_factor"] == "spent 900 EUR in the last 90 days"
    assert out.loc[1, "top_driver"] == "none"
