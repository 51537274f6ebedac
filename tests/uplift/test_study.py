"""The uplift stage's pure part: from measured contacts to the model and the replay."""

import numpy as np
import pandas as pd

from churn.uplift.study import uplift_study
from tests.uplift.test_learner import campaign


def contacts(n: int = 6000) -> pd.DataFrame:
    """The hand-built campaign of test_learner, split into two campaigns a quarter apart,
    with what valuing and the risk rule read."""
    rng = np.random.default_rng(1)
    frame = campaign(n)
    frame["cutoff"] = pd.Timestamp("2024-03-01", tz="UTC") + pd.to_timedelta(
        np.where(frame["campaign"] == "spring", 0, 90), unit="D"
    )
    frame["active_days"] = rng.integers(1, 20, n)
    frame["tenure_days"] = rng.integers(200, 700, n).astype(float)
    frame["recency_days"] = (frame["tenure_days"] * rng.random(n)).round()
    frame["monetary_mean"] = rng.gamma(2.0, 30.0, n)
    frame["churn_probability"] = np.where(frame["content"] == 1, 0.2, 0.6)
    frame["rfm_segment"] = np.where(frame["content"] == 1, "Loyal", "At Risk")
    frame["revenue"] = frame["retained"] * rng.gamma(2.0, 30.0, n).round(2)
    return frame


def settings(params):
    playbook = [
        {"name": "call", "description": "Call", "channel": "phone", "cost": 2.0, "success_rate": 0.3},
        {"name": "email", "description": "Email", "channel": "email", "cost": 0.5, "success_rate": 0.05},
        {"name": "no_action", "description": "None", "channel": "none", "cost": 0.0, "success_rate": 0.0},
    ]
    uplift = {"folds": 3, "num_leaves": 3, "min_child_samples": 100, "n_estimators": 60, "learning_rate": 0.1}
    return params.model_copy(
        update={
            "actions": params.actions.model_copy(
                update={
                    "playbook": params.actions.model_validate(
                        params.actions.model_dump() | {"playbook": playbook}
                    ).playbook,
                    "budget": 500.0,
                }
            ),
            "uplift": params.uplift.model_copy(update=uplift),
        }
    )


def test_the_newest_campaign_is_replayed_with_a_model_that_never_saw_it(params):
    frame = contacts()
    truth = frame[["campaign", "customer_id"]].assign(
        true_effect=np.where(frame["action"] == "call", np.where(frame["content"] == 1, -0.3, 0.3), 0.0),
        kind=np.where((frame["action"] == "call") & (frame["content"] == 1), "sleeping_dog", "persuadable"),
    )
    study = uplift_study(frame, ["content", "noise"], settings(params), truth)
    evaluation = study.summary["evaluation"]
    assert evaluation["trained_on"] == ["spring"] and evaluation["evaluated_on"] == "autumn"
    assert study.model.card["campaigns"] == ["autumn", "spring"]  # for planning: every campaign
    rules = evaluation["policies"]
    # Uplift calls only the customers a call helps; risk calls the riskiest, who are those too
    # here, but also e-mails by risk; the oracle knows.
    assert rules["uplift"]["sleeping_dogs_contacted"] == 0
    assert rules["uplift"]["true_incremental_customers"] > 0.8 * rules["oracle"]["true_incremental_customers"]
    assert rules["uplift"]["true_incremental_customers"] > rules["random"]["true_incremental_customers"]
    assert all(r["cost"] <= 500.0 for r in rules.values())
    assert set(study.curves["policy"]) == set(rules) and evaluation["curves_measured_by"] == "ground truth"


def test_without_closed_campaigns_there_is_no_model_and_the_summary_says_why(params):
    study = uplift_study(pd.DataFrame(), ["content"], params)
    assert study.model is None and study.summary["evaluation"] is None
    assert "nothing to learn from" in study.summary["note"]
    one = contacts()
    one = one[one["campaign"] == "spring"]
    study = uplift_study(one, ["content", "noise"], settings(params))
    assert study.model is not None and study.summary["evaluation"] is None
    assert "out-of-time evaluation needs an older one" in study.summary["note"]


def test_a_truth_of_another_world_gives_no_oracle(params):
    frame = contacts()
    other = frame[["campaign", "customer_id"]].head(10).assign(true_effect=0.0, kind="sure_thing")
    study = uplift_study(frame, ["content", "noise"], settings(params), other)
    assert "oracle" not in study.summary["evaluation"]["policies"]
    assert "no oracle" in study.summary["note"]
