import numpy as np
import pandas as pd

from churn.scoring.reasons import describe, driver_of, top_reasons


def test_plain_words():
    assert describe("recency_days", 94.4) == "no purchase for 94 days"
    assert describe("overdue_ratio", 3.04) == "3.0x their usual gap between purchases"
    assert describe("loyalty_member", 1.0) == "loyalty member"
    assert describe("brand_new_feature", 2.5) == "brand new feature = 2.5"
    assert describe("recency_days", float("nan")) == "recency days unknown"


def test_top_reasons_order_direction_and_driver():
    features = ["recency_days", "complaints_180d", "monetary_total", "loyalty_member"]
    values = pd.DataFrame(
        {
            "recency_days": [94.0, 3.0],
            "complaints_180d": [2.0, 0.0],
            "monetary_total": [500.0, 80.0],
            "loyalty_member": [0.0, 1.0],
        }
    )
    contrib = np.array(
        [
            [0.9, 1.2, -0.1, 0.05, -2.0],  # complaints first, then recency; last column = expected value
            [-0.8, 0.0, 0.1, -0.3, -2.0],  # everything lowers risk except a little spend
        ]
    )
    out = top_reasons(contrib, values, features)
    assert out.loc[0, "reason_1"] == "2 complaints in the last 180 days (raises risk)"
    assert out.loc[0, "reason_2"] == "no purchase for 94 days (raises risk)"
    assert out.loc[0, "reason_3"] == "spent 500 in all (lowers risk)"
    assert out.loc[0, "top_driver"] == "service"
    assert out.loc[1, "reason_1"] == "no purchase for 3 days (lowers risk)"
    assert out.loc[1, "top_driver"] == "value"


def test_drivers():
    assert driver_of("frequency_trend") == "frequency"
    assert driver_of("support_tickets_180d") == "service"
    assert driver_of("days_since_event") == "engagement"
    assert driver_of("mystery") == "other"
