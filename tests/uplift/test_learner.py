"""The uplift learner on hand-built campaigns whose effects are known."""

import numpy as np
import pandas as pd
import pytest

from churn.config import UpliftSettings
from churn.uplift.learner import UpliftModel, customer_folds, fit_uplift

SETTINGS = UpliftSettings(folds=3, num_leaves=3, min_child_samples=100, n_estimators=60, learning_rate=0.1)


def campaign(n: int = 6000, seed: int = 0) -> pd.DataFrame:
    """Two kinds of customer and two actions, randomised 70/30: `call` keeps 30 points more
    of the `content == 0` customers and drives 30 points of the `content == 1` ones away;
    `email` does nothing to anyone."""
    rng = np.random.default_rng(seed)
    content = rng.integers(0, 2, n)
    action = np.where(rng.random(n) < 0.5, "call", "email")
    treated = rng.random(n) < 0.7
    base = np.where(content == 1, 0.8, 0.4)
    effect = np.where(action == "call", np.where(content == 1, -0.3, 0.3), 0.0)
    retained = rng.random(n) < base + treated * effect
    return pd.DataFrame(
        {
            "customer_id": [f"c{i:05d}" for i in range(n)],
            "campaign": np.where(np.arange(n) < n // 2, "spring", "autumn"),
            "group": np.where(treated, "treatment", "control"),
            "action": action,
            "retained": retained.astype("int8"),
            "content": content.astype(float),
            "noise": rng.normal(size=n),
        }
    )


def test_two_segments_with_opposite_effects_are_ranked_right():
    contacts = campaign()
    model = fit_uplift(contacts, ["content", "noise"], SETTINGS).model
    probe = pd.DataFrame({"content": [0.0, 1.0], "noise": [0.0, 0.0]})
    call = model.predict(probe, "call")
    assert call[0] > 0.15 and call[1] < -0.15  # true: +0.30 and -0.30
    assert np.abs(model.predict(probe, "email")).max() < 0.1  # true: 0
    assert model.predict_all(probe).shape == (2, 2) and model.actions == ["call", "email"]


def test_cross_fitting_keeps_a_customers_own_outcome_out_of_their_prediction():
    contacts = campaign(n=3000)
    before = fit_uplift(contacts, ["content", "noise"], SETTINGS)
    flipped = contacts.copy()
    flipped.loc[7, "retained"] = 1 - flipped.loc[7, "retained"]
    after = fit_uplift(flipped, ["content", "noise"], SETTINGS)
    fold = customer_folds(contacts["customer_id"], SETTINGS.folds)
    same_fold = fold == fold[7]
    # No prediction in the customer's fold moves; their own pseudo-outcome does.
    assert np.array_equal(before.out_of_fold[same_fold], after.out_of_fold[same_fold])
    assert before.pseudo_outcome[7] != after.pseudo_outcome[7]
    assert not np.array_equal(before.out_of_fold, after.out_of_fold)  # the other folds did learn from it


def test_same_contacts_give_the_same_model_and_it_survives_a_round_trip():
    contacts = campaign(n=3000)
    first = fit_uplift(contacts, ["content", "noise"], SETTINGS).model
    second = fit_uplift(contacts.sample(frac=1.0, random_state=1).sort_index(), ["content", "noise"], SETTINGS).model
    assert first.booster.model_to_string() == second.booster.model_to_string()
    copy = UpliftModel.from_parts(first.booster.model_to_string(), first.to_dict())
    probe = contacts.head(50)
    assert np.array_equal(copy.predict(probe, "call"), first.predict(probe, "call"))


def test_contributions_add_up_to_the_uplift():
    contacts = campaign(n=3000)
    model = fit_uplift(contacts, ["content", "noise"], SETTINGS).model
    probe = contacts.head(20)
    shares = model.contributions(probe, "call")
    # The action's and the bias column are left out: what remains is the features' part.
    full = model.booster.predict(
        probe[["content", "noise"]].assign(**{"action=call": 1.0, "action=email": 0.0}), pred_contrib=True
    )
    assert shares == pytest.approx(model.slope * full[:, :2])
    assert (shares[probe["content"].to_numpy() == 0, 0] > shares[probe["content"].to_numpy() == 1, 0].max()).all()


def test_folds_are_per_customer_and_stable():
    ids = pd.Series(["a", "b", "a", "c"])
    folds = customer_folds(ids, 5)
    assert folds[0] == folds[2] and folds.tolist() == customer_folds(ids, 5).tolist()
