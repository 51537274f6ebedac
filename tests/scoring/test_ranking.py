"""No budget on a model without skill: what ranks the customers, and a model of another horizon refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn.errors import ChurnError
from churn.modeling.bgnbd import BgNbdParams, churn_probability
from churn.modeling.model import PRIOR_INPUT
from churn.scoring.predict import check_horizon
from churn.scoring.ranking import BgNbdRanking, choose_ranking, model_label, without_actions
from churn.scoring.reasons import top_reasons
from tests.modeling.bgnbd_simulation import simulate

NO_SKILL = {"has_skill": False, "reason": "its ROC-AUC interval [0.48, 0.52] includes 0.5 (chance)"}


class Card:
    """A stand-in for ChurnModel: only what ranking and labelling read."""

    def __init__(self, card: dict):
        self.card = card


def history(n=3000) -> pd.DataFrame:
    """Customers drawn from a BG/NBD process, as snapshot features (whole days)."""
    sim = simulate(BgNbdParams(0.25, 4.0, 0.8, 2.5), np.full(n, 300.0), 0.0, seed=5).round()
    return pd.DataFrame(
        {
            "customer_id": pd.array([f"C{i}" for i in range(n)], dtype="string"),
            "is_active": (sim["T"] - sim["t_x"]) <= 200,
            "active_days": sim["x"] + 1,
            "tenure_days": sim["T"] + 1,
            "recency_days": sim["T"] - sim["t_x"] + 1,
        }
    )


def test_a_model_with_skill_ranks_and_plans():
    model = Card({})
    ranking = choose_ranking(model, {"has_skill": True, "reason": "ROC-AUC 0.9 vs bgnbd 0.8"}, "baseline", None, 90)
    assert ranking.scorer is model and ranking.by == "model" and ranking.plan
    assert ranking.why == "the model has skill: ROC-AUC 0.9 vs bgnbd 0.8"


def test_a_model_never_evaluated_ranks_but_says_so():
    ranking = choose_ranking(Card({}), None, "baseline", None, 90)
    assert ranking.by == "model" and "has not been evaluated yet" in ranking.why


def test_without_skill_bgnbd_fitted_on_everyone_ranks_instead():
    snap = history()
    ranking = choose_ranking(Card({}), NO_SKILL, "baseline", snap, 90)
    assert ranking.by == "bgnbd" and ranking.plan
    assert ranking.why.startswith("the model has no skill (its ROC-AUC interval")
    assert ranking.why.endswith("so customers are ranked by BG/NBD (score.without_skill)")
    p = ranking.scorer.predict_proba(snap)
    assert np.array_equal(p, churn_probability(ranking.scorer.params, 90, snap))
    # Its reasons say what BG/NBD rests on: the buying rhythm, for those it puts above the mean.
    contributions, values = ranking.scorer.contributions(snap)
    reasons = top_reasons(contributions, values, [PRIOR_INPUT], "EUR")
    riskiest = int(np.argmax(p))
    assert reasons["reason_1"].iloc[riskiest].startswith("their buying rhythm alone gives a")
    assert reasons["top_driver"].iloc[riskiest] == "frequency"


def test_without_skill_no_plan_scores_with_the_model_and_plans_nothing(params):
    ranking = choose_ranking(Card({}), NO_SKILL, "no_plan", history(), 90)
    assert ranking.by == "model" and not ranking.plan
    assert "no action planned (score.without_skill)" in ranking.why
    assert without_actions(params).actions.budget == 0
    assert params.actions.budget > 0  # the caller's params are left alone


def test_a_model_of_another_horizon_is_refused_naming_both():
    with pytest.raises(ChurnError) as info:
        check_horizon(Card({"horizon_days": 120}), 60, "models:/churn-model@champion")
    assert str(info.value).startswith(
        "models:/churn-model@champion was trained for churn.horizon_days 120, but params.yaml sets 60"
    )
    check_horizon(Card({"horizon_days": 60}), 60, "models/model.txt")
    check_horizon(Card({}), 60, "models/model.txt")  # a bare model carries no horizon to check


def test_the_scores_name_the_model_its_version_horizon_and_data():
    model = Card({"horizon_days": 90, "data": {"transactions": "data/raw/x.csv", "sha256": "1a2b3c4d5e6f"}})
    identity = {"uri": "models:/churn-model@champion", "version": 3}
    assert model_label(identity, model) == "models:/churn-model@champion v3 (90d, data 1a2b3c4d)"
    assert BgNbdRanking(BgNbdParams(1, 1, 1, 1), 90).features == ()
