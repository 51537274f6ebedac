import time

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
        (
            "timezone",
            "Europe/Londn",
            "data.timezone: unknown time zone 'Europe/Londn'; use an IANA name such as Europe/London or UTC",
        ),
        (
            "timestamp_format",
            "%d/%m/%Q",
            "data.timestamp_format: '%d/%m/%Q' is not a valid strftime pattern "
            "('Q' is a bad directive in format '%d/%m/%Q')",
        ),
        (
            "timestamp_format",
            "%H:%M",
            "data.timestamp_format: '%H:%M' needs a year (%Y or %y) and a month or day (%m, %b, %d or %j), "
            'e.g. "%d/%m/%Y %H:%M"; null reads ISO 8601 dates and datetimes',
        ),
        ("encoding", "utf-9", "data.encoding: unknown text encoding 'utf-9'; e.g. utf-8, latin-1 or cp1252"),
        ("encoding", "base64", "data.encoding: unknown text encoding 'base64'; e.g. utf-8, latin-1 or cp1252"),
        (
            "delimiter",
            "\n",
            'data.delimiter: \'\\n\' cannot separate fields (it ends lines or quotes text); e.g. ",", ";" or a tab',
        ),
        (
            "delimiter",
            '"',
            'data.delimiter: \'"\' cannot separate fields (it ends lines or quotes text); e.g. ",", ";" or a tab',
        ),
        ("max_date", "1969-12-31", "data: data.max_date (1969-12-31) is before data.min_date (1970-01-01)"),
    ],
)
def test_data_settings_are_checked_by_key(raw_params, key, value, message):
    raw_params["data"][key] = value
    with pytest.raises(ChurnError) as err:
        parse_params(raw_params)
    assert str(err.value) == f"params.yaml: invalid settings\n  {message}"


def test_two_fields_mapped_to_one_column_are_refused(raw_params):
    raw_params["data"]["columns"]["order_id"] = "customer_id"
    with pytest.raises(ChurnError) as err:
        parse_params(raw_params)
    assert str(err.value) == (
        "params.yaml: invalid settings\n  data.columns: data.columns.customer_id and data.columns.order_id both name "
        "the column 'customer_id'; map each field to its own column"
    )


def test_exclude_status_needs_a_status_column(raw_params):
    raw_params["data"]["columns"]["status"] = None
    with pytest.raises(ChurnError) as err:
        parse_params(raw_params)
    assert str(err.value) == (
        "params.yaml: invalid settings\n  data: data.exclude_status is set (Cancelled) but data.columns.status maps "
        "no column: set data.columns.status to your status column, or data.exclude_status: []"
    )


def test_bad_data_settings_exit_2_naming_the_key(tmp_path, monkeypatch, capsys):
    from churn.cli import main

    text = (ROOT / "params.yaml").read_text(encoding="utf-8").replace("timezone: UTC", "timezone: Mars/Olympus")
    (tmp_path / "params.yaml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["ingest"]) == 2
    err = capsys.readouterr().err
    assert "data.timezone: unknown time zone 'Mars/Olympus'" in err and "Traceback" not in err


def test_a_condition_value_stays_small(raw_params):
    condition = raw_params["actions"]["playbook"][1]["when"][0]
    condition["value"] = list(range(5000))
    with pytest.raises(ChurnError, match=r"value.*5,000 items; at most 1,000"):
        parse_params(raw_params)
    # A YAML alias bomb is nested lists: refused before anything walks them.
    condition["value"] = [["x"] * 9] * 9
    with pytest.raises(ChurnError, match=r"value.*not nested lists"):
        parse_params(raw_params)


def test_an_alias_is_refused_before_anything_expands_it(tmp_path):
    # Nine levels of nine aliases: 9**9 items once expanded, which DVC's params reader walks.
    levels = ["&a0 [x, x, x, x, x, x, x, x, x]"]
    levels += [f"&a{k} [{', '.join([f'*a{k - 1}'] * 9)}]" for k in range(1, 9)]
    text = (ROOT / "params.yaml").read_text(encoding="utf-8") + f"\nbomb: [{', '.join(levels)}]\n"
    path = tmp_path / "params.yaml"
    path.write_text(text, encoding="utf-8")
    line = text.count("\n")
    started = time.perf_counter()
    with pytest.raises(ChurnError) as err:
        load_params(path)
    assert time.perf_counter() - started < 5
    assert "alias *a0 refused" in str(err.value) and f'"{path}", line {line}' in str(err.value)


def test_make_run_checks_params_before_dvc_reads_them():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in ("run", "exp"):
        recipe = makefile.split(f"\n{target}: install\n", 1)[1].split("\n\n", 1)[0]
        commands = [line.strip().lstrip("@") for line in recipe.splitlines()]
        assert commands[0] == "churn check >/dev/null" and commands[1].startswith("dvc "), commands
