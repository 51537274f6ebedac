import pytest

from churn.config import load_params, parse_params
from churn.errors import ChurnError
from tests.conftest import ROOT


def test_shipped_params_load(params):
    assert params.churn.horizon_days == 90
    assert params.actions.playbook[-1].when == []


def test_unknown_key_is_named(raw_params):
    raw_params["churn"]["horizon_dayz"] = 30
    with pytest.raises(ChurnError, match=r"churn\.horizon_dayz"):
        parse_params(raw_params)


def test_impossible_value_is_named(raw_params):
    raw_params["churn"]["horizon_days"] = -5
    with pytest.raises(ChurnError, match=r"churn\.horizon_days.*greater than 0"):
        parse_params(raw_params)


def test_wrong_type_is_named(raw_params):
    raw_params["train"]["num_leaves"] = "many"
    with pytest.raises(ChurnError, match=r"train\.num_leaves"):
        parse_params(raw_params)


def test_risk_tiers_must_be_ordered(raw_params):
    raw_params["score"]["risk_tiers"] = {"high": 0.3, "medium": 0.5}
    with pytest.raises(ChurnError, match="risk_tiers"):
        parse_params(raw_params)


def test_playbook_needs_fallback_last(raw_params):
    raw_params["actions"]["playbook"] = raw_params["actions"]["playbook"][:-1]
    with pytest.raises(ChurnError, match="fallback"):
        parse_params(raw_params)


def test_yaml_is_loaded_safely(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("data: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(ChurnError, match="not valid YAML"):
        load_params(bad)


def test_negative_budget_is_named(raw_params):
    raw_params["actions"]["budget"] = -1
    with pytest.raises(ChurnError, match=r"actions\.budget.*greater than or equal to 0"):
        parse_params(raw_params)


def test_playbook_action_without_cost_is_named(raw_params):
    del raw_params["actions"]["playbook"][0]["cost"]
    with pytest.raises(ChurnError, match=r"actions\.playbook\.0\.cost: Field required"):
        parse_params(raw_params)


def test_condition_operator_is_a_closed_list(raw_params):
    raw_params["actions"]["playbook"][0]["when"][0]["op"] = "exec"
    with pytest.raises(ChurnError, match=r"actions\.playbook\.0\.when\.0\.op"):
        parse_params(raw_params)


def test_true_or_false_where_a_number_is_expected_is_refused_by_name(raw_params):
    raw_params["churn"]["horizon_days"] = True
    with pytest.raises(ChurnError, match=r"churn\.horizon_days: Value error, expected a number, got true"):
        parse_params(raw_params)


def test_a_key_given_twice_is_refused(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text((ROOT / "params.yaml").read_text() + "\nengine: spark\n")
    with pytest.raises(ChurnError, match="duplicate key 'engine'"):
        load_params(path)
