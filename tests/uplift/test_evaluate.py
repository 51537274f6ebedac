"""Replaying a targeting rule on a past campaign: hand-computed cases."""

import numpy as np
import pandas as pd
import pytest

from churn.uplift.evaluate import chosen, ipw_terms, qini_by_action, qini_curve, replay


def test_chosen_takes_the_best_positive_benefits_that_fit_the_budget():
    benefit = np.array([5.0, 9.0, -1.0, 7.0, 0.0, 3.0])
    cost = np.array([1.0, 4.0, 1.0, 3.0, 1.0, 1.0])
    # 9 (4) and 7 (3) fit into 8; 5 (1) too; 3 (1) would make 9 > 8; -1 and 0 never.
    assert chosen(benefit, cost, 8.0).tolist() == [True, True, False, True, False, False]
    assert not chosen(benefit, cost, 0.0).any()


def test_ipw_terms_and_replay_by_hand():
    contacts = pd.DataFrame(
        {
            "campaign": ["x"] * 4,
            "group": ["treatment", "treatment", "control", "control"],
            "retained": [1, 0, 1, 0],
            "cost": [1.0, 1.0, 1.0, 1.0],
        }
    )
    # e = 0.5: treated and retained +2, control and retained -2, the rest 0.
    assert ipw_terms(contacts).tolist() == [2.0, 0.0, -2.0, 0.0]
    truth = np.array([0.3, 0.1, 0.0, -0.2])
    result = replay(contacts, np.array([4.0, 3.0, 2.0, 1.0]), budget=2.0, truth=truth)
    assert result["contacted"] == 2 and result["cost"] == 2.0
    assert result["incremental_customers"] == 2.0 and result["per_1000_spent"] == 1000.0
    assert result["true_incremental_customers"] == pytest.approx(0.4)
    assert result["ci_low"] < 2.0 < result["ci_high"]


def test_qini_rewards_the_right_order_and_skips_actions_without_a_control():
    rng = np.random.default_rng(0)
    n = 4000
    good = rng.integers(0, 2, n)
    treated = rng.random(n) < 0.5
    retained = (rng.random(n) < 0.3 + 0.4 * good * treated).astype(int)
    contacts = pd.DataFrame(
        {
            "campaign": "x",
            "group": np.where(treated, "treatment", "control"),
            "retained": retained,
            "action": "call",
        }
    )
    right = qini_by_action(contacts, good.astype(float))["call"]["qini"]
    wrong = qini_by_action(contacts, 1.0 - good)["call"]["qini"]
    assert right > 0.1 > -0.1 > wrong
    only_treated = contacts.assign(group="treatment")
    assert qini_by_action(only_treated, good.astype(float)) == {}
    curve = qini_curve(ipw_terms(contacts), good.astype(float), points=4)
    assert curve["share_targeted"].tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    backwards = qini_curve(ipw_terms(contacts), 1.0 - good, points=4)
    # Half targeted: the right order has (nearly) all the gain, the wrong one little of it.
    assert curve["incremental_customers"].iloc[2] > 0.8 * curve["incremental_customers"].iloc[4]
    assert backwards["incremental_customers"].iloc[2] < 0.2 * curve["incremental_customers"].iloc[4]
