"""`churn campaign log`: an executed scores file as contact-log rows."""

import datetime as dt

import pandas as pd
import pytest

from churn.campaigns.log import contact_log
from churn.errors import InputError


def test_treated_customers_and_held_back_ones_become_rows_of_the_campaign(params):
    scores = pd.DataFrame(
        {
            "customer_id": ["1", "2", "3", "4"],
            "recommended_action": ["service_call", "no_action", "no_action", "no_action"],
            "group": ["treatment", "control", "treatment", "control"],
            "held_out_action": [None, "personalised_offer", None, None],
        }
    )
    rows = contact_log(scores, dt.date(2025, 1, 6), params.actions, "scores.csv")
    assert rows["customer_id"].tolist() == ["1", "2"]
    first, second = rows.iloc[0], rows.iloc[1]
    assert (first["action"], first["channel"], first["group"]) == ("service_call", "phone", "treatment")
    assert (second["action"], second["group"]) == ("personalised_offer", "control") and pd.isna(second["channel"])
    assert (rows["campaign"] == params.actions.campaign).all()
    assert (rows["timestamp"] == pd.Timestamp("2025-01-06")).all()


def test_a_file_that_is_not_a_scores_file_is_refused(params):
    with pytest.raises(InputError, match="missing column"):
        contact_log(pd.DataFrame({"customer_id": ["1"]}), dt.date(2025, 1, 6), params.actions, "x.csv")
