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


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("timezone", "Europe/Berln", r"data\.timezone.*unknown time zone 'Europe/Berln'"),
        ("timestamp_format", "%H:%M", r"data\.timestamp_format.*'%H:%M' names no day"),
        ("encoding", "utf-9", r"data\.encoding.*unknown encoding 'utf-9'"),
        ("delimiter", "\n", r"data\.delimiter.*cannot separate fields"),
        ("delimiter", '"', r"data\.delimiter.*cannot separate fields"),
    ],
)
def test_data_settings_that_would_fail_later_are_refused_by_key(raw_params, key, value, message):
    raw_params["data"][key] = value
    with pytest.raises(ChurnError, match=message):
        parse_params(raw_params)


def test_two_fields_mapped_to_one_column_are_refused(raw_params):
    raw_params["data"]["columns"]["order_id"] = "customer_id"
    with pytest.raises(ChurnError, match=r"data\.columns.*'customer_id' is mapped twice, to customer_id and order_id"):
        parse_params(raw_params)


def test_a_condition_value_stays_small(raw_params):
    condition = raw_params["actions"]["playbook"][1]["when"][0]
    condition["value"] = list(range(5000))
    with pytest.raises(ChurnError, match=r"value.*5,000 items; at most 1,000"):
        parse_params(raw_params)
    # A YAML alias bomb is nested lists: refused before anything walks them.
    condition["value"] = [["x"] * 9] * 9
    with pytest.raises(ChurnError, match=r"value.*not nested lists"):
        parse_params(raw_params)
