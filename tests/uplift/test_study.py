"""The uplift stage's pure part: from measured contacts to the model and the replay."""

import numpy as np
import pandas as pd
import pytest

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


def three_campaigns() -> pd.DataFrame:
    frame = contacts(9000)
    third = np.arange(len(frame)) * 3 // len(frame)
    frame["campaign"] = np.array(["winter", "spring", "summer"])[third]
    frame["cutoff"] = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(third * 90, unit="D")
    return frame


def test_the_backtest_replays_each_recent_campaign_with_what_the_older_ones_taught_and_adds_them_up(params):
    frame = three_campaigns()
    truth = frame[["campaign", "customer_id"]].assign(
        true_effect=np.where(frame["action"] == "call", np.where(frame["content"] == 1, -0.3, 0.3), 0.0),
        kind="persuadable",
    )
    evaluation = uplift_study(frame, ["content", "noise"], settings(params), truth).summary["evaluation"]
    backtest = evaluation["backtest"]
    assert backtest["replayed"] == ["spring", "summer"]  # winter has nothing older to learn from
    assert backtest["trained_on"] == {"spring": ["winter"], "summer": ["spring", "winter"]}  # the models' cards
    assert "reference" not in backtest["policies"] and {"uplift", "risk", "oracle"} <= set(backtest["policies"])
    for rule, summed in backtest["policies"].items():
        newest = evaluation["policies"][rule]
        assert summed["by_campaign"]["summer"] == newest["incremental_customers"]  # the newest is the replay above
        assert summed["incremental_customers"] == pytest.approx(sum(summed["by_campaign"].values()), abs=0.01)
        assert summed["true_incremental_customers"] == pytest.approx(sum(summed["true_by_campaign"].values()), abs=0.01)
        assert summed["ci_low"] <= summed["incremental_customers"] <= summed["ci_high"]
    # Uplift learnt from winter alone already avoids the content customers a call drives away.
    assert backtest["policies"]["uplift"]["true_by_campaign"]["spring"] > 0


def test_the_backtest_needs_two_campaigns_to_replay(params):
    two = uplift_study(contacts(), ["content", "noise"], settings(params)).summary["evaluation"]
    assert two["backtest"] is None  # the oldest has nothing to learn from: only the newest is replayed
    newest_only = settings(params)
    newest_only = newest_only.model_copy(
        update={"uplift": newest_only.uplift.model_copy(update={"backtest_campaigns": 1})}
    )
    assert uplift_study(three_campaigns(), ["content", "noise"], newest_only).summary["evaluation"]["backtest"] is None
