"""The ceiling: what the features reveal of the true effects, beside the oracle."""

import numpy as np
import pandas as pd

from churn.config import UpliftSettings
from churn.uplift.ceiling import ceiling_effects
from churn.uplift.study import uplift_study
from tests.uplift.test_learner import campaign
from tests.uplift.test_study import contacts, settings


def test_a_visible_effect_is_recovered_and_an_untried_action_is_unknown():
    frame = campaign(4000)
    effect = np.where(frame["action"] == "call", np.where(frame["content"] == 1, -0.3, 0.3), 0.0)
    train, test = frame[frame["campaign"] == "spring"], frame[frame["campaign"] == "autumn"].copy()
    test.loc[test.index[:5], "action"] = "letter"
    predicted = ceiling_effects(train, effect[: len(train)], test, ["content", "noise"], UpliftSettings())
    call = (test["action"] == "call").to_numpy()
    content = (test["content"] == 1).to_numpy()
    assert np.isnan(predicted[:5]).all() and not np.isnan(predicted[5:]).any()
    assert np.allclose(predicted[5:][call[5:] & ~content[5:]], 0.3, atol=0.02)
    assert np.allclose(predicted[5:][call[5:] & content[5:]], -0.3, atol=0.02)
    assert np.abs(predicted[5:][~call[5:]]).max() < 0.02


def _truth(frame: pd.DataFrame, visible: bool, seed: int = 3) -> pd.DataFrame:
    """A call helps half of the customers by 0.3: the ones with content == 0 (visible) or a
    coin flip no feature shows (hidden)."""
    helped = (frame["content"] == 0).to_numpy() if visible else np.random.default_rng(seed).random(len(frame)) < 0.5
    effect = np.where((frame["action"] == "call").to_numpy() & helped, 0.3, 0.0)
    return frame[["campaign", "customer_id"]].assign(
        true_effect=effect, kind=np.where(effect > 0, "persuadable", "sure_thing")
    )


def test_the_ceiling_reaches_the_oracle_only_where_the_features_show_whom_an_action_helps(params):
    frame = contacts()
    shown = uplift_study(frame, ["content", "noise"], settings(params), _truth(frame, visible=True))
    hidden = uplift_study(frame, ["content", "noise"], settings(params), _truth(frame, visible=False))
    assert shown.summary["evaluation"]["verdict"]["ceiling_share_of_oracle"] > 0.9
    assert hidden.summary["evaluation"]["verdict"]["ceiling_share_of_oracle"] < 0.7
    assert "ceiling" in set(shown.curves["policy"])


def test_the_ceiling_learns_only_from_the_older_campaigns_truth(params):
    frame = contacts()
    truth = _truth(frame, visible=True)
    base = uplift_study(frame, ["content", "noise"], settings(params), truth).summary["evaluation"]["policies"]
    newest = truth["campaign"] == "autumn"
    # Reversing the evaluated campaign's true effects changes what the oracle picks and what
    # the ceiling's picks truly kept, but not whom the ceiling picks.
    flipped = truth.assign(true_effect=np.where(newest, -truth["true_effect"], truth["true_effect"]))
    after = uplift_study(frame, ["content", "noise"], settings(params), flipped).summary["evaluation"]["policies"]
    assert after["ceiling"]["contacted"] == base["ceiling"]["contacted"]
    assert after["ceiling"]["cost"] == base["ceiling"]["cost"]
    assert after["ceiling"]["true_incremental_customers"] == -base["ceiling"]["true_incremental_customers"] != 0
    assert after["oracle"]["contacted"] != base["oracle"]["contacted"]


def test_no_ceiling_without_the_older_campaigns_truth(params):
    frame = contacts()
    newest_only = _truth(frame, visible=True).query("campaign == 'autumn'")
    evaluation = uplift_study(frame, ["content", "noise"], settings(params), newest_only).summary["evaluation"]
    assert "oracle" in evaluation["policies"] and "ceiling" not in evaluation["policies"]
    assert "ceiling_share_of_oracle" not in evaluation["verdict"]
