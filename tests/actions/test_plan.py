import numpy as np
import pandas as pd
import pytest

from churn.actions.control import control_group
from churn.actions.plan import plan_actions
from churn.config import ActionSettings

PLAYBOOK = [
    {
        "name": "call",
        "description": "Service call",
        "channel": "phone",
        "cost": 20.0,
        "success_rate": 0.3,
        "capacity": 1,
        "when": [{"field": "top_driver", "op": "==", "value": "service"}],
    },
    {
        "name": "offer",
        "description": "Discount offer",
        "channel": "email",
        "cost": 5.0,
        "success_rate": 0.1,
        "when": [{"field": "status", "op": "==", "value": "active"}],
    },
    {
        "name": "win_back",
        "description": "Win-back campaign",
        "channel": "email",
        "cost": 4.0,
        "success_rate": 0.05,
        "when": [{"field": "status", "op": "==", "value": "lapsed"}],
    },
    {"name": "no_action", "description": "Likely to stay", "channel": "none", "cost": 0.0, "success_rate": 0.0},
]


def settings(**kw):
    base = {
        "campaign": "test",
        "budget": 1000.0,
        "control_share": 0.0,
        "min_days_between_contacts": 14,
        "playbook": PLAYBOOK,
    }
    return ActionSettings.model_validate(base | kw)


def frame():
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e", "f"],
            "status": ["active", "active", "active", "lapsed", "unknown", "active"],
            "churn_probability": [0.9, 0.8, 0.05, np.nan, np.nan, 0.9],
            "model_clv": [1000.0, 500.0, 1000.0, 800.0, np.nan, 10.0],
            "top_driver": ["service", "service", "frequency", "none", pd.NA, "frequency"],
        }
    )


def test_best_actions_with_an_ample_budget():
    out = plan_actions(frame(), settings(), pd.Index([]))
    # a: call 0.9*1000*0.3-20 = 250 beats offer 85; b: call capacity is taken by a -> offer 35
    assert out["recommended_action"].tolist() == ["call", "offer", "no_action", "win_back", "no_action", "no_action"]
    assert out["expected_net_benefit"].tolist() == [250.0, 35.0, 0.0, 36.0, 0.0, 0.0]
    assert out["priority"].tolist() == [1, 3, pd.NA, 2, pd.NA, pd.NA]
    assert out.loc[4, "action_reason"].startswith("unknown customer")
    assert out.loc[2, "action_reason"].startswith("no action pays for itself")
    assert out["group"].tolist()[:4] == ["treatment"] * 4 and pd.isna(out.loc[4, "group"])


def test_budget_is_never_exceeded():
    out = plan_actions(frame(), settings(budget=24.0), pd.Index([]))
    costs = {"call": 20.0, "offer": 5.0, "win_back": 4.0, "no_action": 0.0}
    assert sum(costs[a] for a in out["recommended_action"]) <= 24.0
    assert out.loc[0, "recommended_action"] == "call"  # the most valuable use of the money
    assert "budget or capacity" in out.loc[1, "action_reason"]


def test_recent_contact_blocks_contact_actions():
    out = plan_actions(frame(), settings(), pd.Index(["a"]))
    assert out.loc[0, "recommended_action"] == "no_action"
    assert out.loc[0, "action_reason"] == "contacted within the last 14 days"


def test_control_group_gets_no_action():
    ids = pd.Series([f"{i:05d}" for i in range(400)])
    big = pd.DataFrame(
        {
            "customer_id": ids,
            "status": "active",
            "churn_probability": 0.9,
            "model_clv": 1000.0,
            "top_driver": "frequency",
        }
    )
    out = plan_actions(big, settings(control_share=0.25, budget=1e9), pd.Index([]))
    control = out["group"] == "control"
    assert (control == (control_group(ids, "test", 0.25) == "control")).all()
    assert 0.15 < control.mean() < 0.35
    assert (out.loc[control, "recommended_action"] == "no_action").all()
    assert (out.loc[~control, "recommended_action"] == "offer").all()


def test_fallback_must_close_the_playbook():
    with pytest.raises(ValueError, match="fallback"):
        settings(playbook=PLAYBOOK[:-1])


def test_the_control_group_is_planned_then_held_back_with_its_shadow_action():
    data = frame()
    everyone = plan_actions(data, settings(), pd.Index([]))
    group = pd.Series(["treatment", "control", "treatment", "control", pd.NA, "treatment"], dtype="string")
    held = plan_actions(data, settings(), pd.Index([]), group=group)
    # b and d are held back from exactly what they would have got; nobody else changes.
    assert held.loc[[1, 3], "held_out_action"].tolist() == everyone.loc[[1, 3], "recommended_action"].tolist()
    assert held.loc[[1, 3], "recommended_action"].tolist() == ["no_action", "no_action"]
    assert held.loc[1, "action_reason"] == "control group of campaign 'test': held out from offer to measure its effect"
    assert held.loc[[0, 2, 5], "recommended_action"].tolist() == everyone.loc[[0, 2, 5], "recommended_action"].tolist()
    assert held["held_out_action"].isna().tolist() == [True, False, True, False, True, True]
    assert held.loc[[1, 3], "priority"].isna().all() and (held.loc[[1, 3], "expected_net_benefit"] == 0).all()
    # Moved into treatment, a control customer gets their shadow action.
    moved = plan_actions(data, settings(), pd.Index([]), group=group.where(group.index != 1, "treatment"))
    assert moved.loc[1, "recommended_action"] == held.loc[1, "held_out_action"]


def test_uplift_replaces_risk_times_rate_and_never_contacts_where_it_is_not_positive():
    f = frame()
    nan = np.nan
    # (customers, actions call/offer/win_back): the uplift model knows call and offer only.
    uplift = np.array(
        [
            [0.05, -0.02, nan],  # a: call pays (0.05 x 1000 - 20 = 30); offer would harm
            [0.0, 0.0, nan],  # b: nothing does anything: no contact, though risk x rate would pay
            [0.0, 0.01, nan],  # c: low risk, but the offer helps: 0.01 x 1000 - 5 = 5
            [nan, nan, nan],  # d: lapsed, planned by its success rate
            [nan, nan, nan],
            [0.0, 0.2, nan],  # f: helps, but 0.2 x 10 - 5 < 0: does not pay
        ]
    )
    plan = plan_actions(f, settings(), pd.Index([]), uplift=uplift)
    assert plan["recommended_action"].tolist() == ["call", "no_action", "offer", "win_back", "no_action", "no_action"]
    assert plan["expected_net_benefit"].tolist()[:4] == [30.0, 0.0, 5.0, pytest.approx(800 * 0.05 - 4)]
    assert plan["expected_uplift"].tolist()[0] == 0.05 and plan["expected_uplift"].tolist()[2] == 0.01
    assert np.isnan(plan["success_rate"][0]) and plan["success_rate"][3] == 0.05  # each names what it used
    without = plan_actions(f, settings(), pd.Index([]))
    assert without["recommended_action"][1] != "no_action"  # by risk x rate, b would get one


def _random_world(n: int, seed: int):
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(
        {
            "customer_id": [f"c{i:04d}" for i in range(n)],
            "status": rng.choice(["active", "active", "lapsed", "unknown"], n),
            "churn_probability": rng.uniform(0, 1, n),
            "model_clv": rng.uniform(0, 400, n),
            "top_driver": pd.Series(rng.choice(["service", "frequency", None], n), dtype="string"),
        }
    )
    data.loc[data["status"] != "active", "churn_probability"] = np.nan
    uplift = np.where(rng.uniform(size=(n, 3)) < 0.5, rng.normal(0.02, 0.05, (n, 3)), np.nan)
    return data, uplift, rng


def test_pricing_in_batches_plans_exactly_as_pricing_all_rows_at_once(monkeypatch):
    import churn.actions.plan as plan_module

    data, uplift, rng = _random_world(500, 7)
    pending = rng.uniform(size=len(data)) < 0.3
    # The budget binds, so which rows reach the optimiser, and in what order, decides the plan.
    args = (data, settings(budget=300.0, control_share=0.2), pd.Index(["c0003", "c0010"]))
    whole = plan_actions(*args, pending=pending, uplift=uplift)
    monkeypatch.setattr(plan_module, "BATCH_ROWS", 7)
    batched = plan_actions(*args, pending=pending, uplift=uplift)
    pd.testing.assert_frame_equal(batched, whole)
    assert 0 < (whole["recommended_action"] != "no_action").sum() < (data["status"] != "unknown").sum()
    assert whole["expected_uplift"].notna().any() and whole["success_rate"].notna().any()


def test_no_customers_give_an_empty_plan():
    out = plan_actions(frame().iloc[:0], settings(), pd.Index([]), uplift=np.zeros((0, 3)))
    assert len(out) == 0 and "recommended_action" in out.columns


def _same_choice(a, b) -> None:
    for field in ("action", "held_out", "net", "rate", "lift", "open", "best", "contacted", "known", "treat"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)


def test_repricing_the_explained_rows_plans_as_pricing_everyone_again():
    from churn.actions.plan import choose, decide, price_options, reprice

    data, uplift, rng = _random_world(400, 11)
    pending = (data["status"] == "active").to_numpy() & data["top_driver"].isna().to_numpy()
    plan_settings = settings(budget=400.0, control_share=0.2)
    contacted = pd.Index(["c0003", "c0010"])
    options = price_options(data, plan_settings, contacted, pending, uplift=uplift)
    first = decide(options, plan_settings)
    need = np.flatnonzero(pending & first.chosen())
    assert len(need) > 2

    # Nothing learnt about them yet: the same options, the same plan.
    assert not reprice(options, data, plan_settings, need, pending, uplift=uplift)
    _same_choice(decide(options, plan_settings), first)

    # Their reasons arrive; some take the service call (top_driver: service) out of reach.
    data.loc[data.index[need], "top_driver"] = rng.choice(["service", "frequency"], len(need))
    pending[need] = False
    assert reprice(options, data, plan_settings, need, pending, uplift=uplift)
    whole = choose(data, plan_settings, contacted, pending, uplift=uplift)
    _same_choice(decide(options, plan_settings), whole)
    assert not np.array_equal(whole.action, first.action)


def test_every_customer_gets_the_reason_of_their_case_as_pandas_text():
    data = frame().assign(reason_1=pd.Series(["support tickets: 3", pd.NA, pd.NA, "", pd.NA, pd.NA], dtype="string"))
    group = pd.Series(["treatment", "treatment", "treatment", "control", pd.NA, "control"], dtype="string")
    out = plan_actions(data, settings(), pd.Index(["b"]), group=group)
    assert out["action_reason"].tolist() == [
        "Service call (support tickets: 3)",  # given an action: its description and the first reason
        "contacted within the last 14 days",
        "no action pays for itself: expected value saved is below its cost",
        "control group of campaign 'test': held out from win_back to measure its effect",
        "unknown customer: no transaction history as of this date",
        "control group of campaign 'test': held out to measure the effect",
    ]
    assert out["action_reason"].dtype == "string" and out["recommended_action"].dtype == "string"
    assert out["recommended_action"].tolist() == [
        "call",
        "no_action",
        "no_action",
        "no_action",
        "no_action",
        "no_action",
    ]
