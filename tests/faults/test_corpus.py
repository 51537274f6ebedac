"""A corpus of hostile inputs, run as `churn ingest` in a fresh project each.

Every case either fails with exit status 2 and one message that names the file and, for a
bad row, the row and the column (or, for a bad setting, the params key), with no
traceback and nothing written downstream; or it is a documented, counted handling (exit 0,
every row accounted for in reports/ingest.json). The corpus is generated from the table
below: rows of data, encodings and params as a careless export or a typo produces them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from churn.cli import main
from tests.conftest import ROOT

HEADER = "order_id,customer_id,timestamp,amount,status"
GOOD = ["A1,001,2024-01-02,10.50,Completed", "A2,002,2024-01-03,7,Completed"]


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes | None = None  # data/raw/tx.csv (None: use `rows` under HEADER)
    rows: tuple[str, ...] = ()
    data: dict = field(default_factory=dict)  # params.data overrides
    params: dict = field(default_factory=dict)  # other params: {"section.key": value}
    raw_params: str | None = None  # params.yaml text instead (bad YAML)
    status: int = 2
    says: tuple[str, ...] = ()  # substrings of stderr (exit 2) or of the JSON result (exit 0)
    kept: int | None = None  # exit 0: transaction rows kept


def rows(*lines: str) -> tuple[str, ...]:
    return (*GOOD, *lines)


def bad_row(value_line: str, column: str, says: str, **data) -> dict:
    """A case whose third data row (spreadsheet row 4) is bad in `column`."""
    return dict(rows=rows(value_line), says=("data/raw/tx.csv, row 4, column '" + column + "'", says), data=data)


def params_case(key: str, value, says: str) -> dict:
    section, name = key.split(".", 1)
    target = {"data": {name: value}} if section == "data" else {"params": {key: value}}
    return dict(rows=GOOD, says=(f"{key}" if section != "data" else f"data.{name}", says), **target)


CASES = [
    # --- the file itself
    Case("empty file", body=b"", says=("data/raw/tx.csv", "the file is empty")),
    Case("header only", body=(HEADER + "\n").encode(), says=("data/raw/tx.csv, row 2", "no data rows")),
    Case("missing customer_id", body=b"timestamp,amount,status\n2024-01-01,5,ok\n", says=("row 1", "customer_id")),
    Case("missing amount", body=b"customer_id,timestamp,status\n1,2024-01-01,ok\n", says=("row 1", "'amount'")),
    Case("missing timestamp", body=b"customer_id,amount,status\n1,5,ok\n", says=("row 1", "'timestamp'")),
    Case(
        "semicolon delimited",
        body=b"customer_id;timestamp;amount\n1;2024-01-01;5\n",
        says=("row 1", "delimited by something other than a comma"),
    ),
    Case(
        "a column named twice",
        body=b"customer_id,timestamp,amount,amount,status\n1,2024-01-01,5,6,ok\n",
        says=("amount",),
    ),
    Case("latin-1 bytes", body=(HEADER + "\nA1,00\xe9,2024-01-01,5,ok\n").encode("latin-1"), says=("utf-8",)),
    Case("NUL bytes", body=(HEADER + "\nA1,001,2024-01-01,5\x00,ok\n").encode(), says=("row 2",)),
    Case("status column not in the file", body=b"customer_id,timestamp,amount\n1,2024-01-01,5\n", says=("status",)),
    # --- bad rows: exit 2 naming file, row and column
    Case("unparseable date", **bad_row("A3,003,31/12/2024,5,Completed", "timestamp", "not a date")),
    Case("month 13", **bad_row("A3,003,2024-13-01,5,Completed", "timestamp", "not a date")),
    Case("sentinel 9999-12-31", **bad_row("A3,003,9999-12-31,5,Completed", "timestamp", "outside the plausible")),
    Case("year 1", **bad_row("A3,003,0001-01-01,5,Completed", "timestamp", "outside the plausible")),
    Case("year 2262", **bad_row("A3,003,2262-06-01,5,Completed", "timestamp", "outside the plausible")),
    Case("typo 1900", **bad_row("A3,003,1900-01-01,5,Completed", "timestamp", "outside the plausible")),
    Case("typo 2100", **bad_row("A3,003,2100-01-01,5,Completed", "timestamp", "outside the plausible")),
    Case("far future with offset", **bad_row("A3,003,2999-01-01T00:00:00Z,5,Completed", "timestamp", "outside")),
    Case("empty timestamp", **bad_row("A3,003,,5,Completed", "timestamp", "not a date")),
    Case("text amount", **bad_row("A3,003,2024-01-05,abc,Completed", "amount", "not a number")),
    Case("empty amount", **bad_row("A3,003,2024-01-05,,Completed", "amount", "not a number")),
    Case("infinite amount", **bad_row("A3,003,2024-01-05,inf,Completed", "amount", "not a finite number")),
    Case("NaN amount", **bad_row("A3,003,2024-01-05,NaN,Completed", "amount", "not a number")),
    Case("absurd amount", **bad_row("A3,003,2024-01-05,1e15,Completed", "amount", "beyond")),
    Case("amount with currency sign", **bad_row("A3,003,2024-01-05,$5,Completed", "amount", "not a number")),
    Case("blank customer", **bad_row("A3,,2024-01-05,5,Completed", "customer_id", "missing")),
    Case("spaces as customer", **bad_row("A3,   ,2024-01-05,5,Completed", "customer_id", "missing")),
    Case(
        "a 2 MB value is cut in the message",
        rows=rows("A3,003,2024-01-05," + "9" * 2_000_000 + "x,Completed"),
        says=("row 4, column 'amount'", "..."),
    ),
    Case(
        "several bad rows are counted",
        rows=rows("A3,003,2024-13-01,5,Completed", "A4,004,2024-01-05,abc,Completed"),
        says=("row 4", "2 bad row(s) in all"),
    ),
    Case(
        "format set, ISO given",
        rows=rows(),
        data={"timestamp_format": "%d/%m/%Y"},
        says=("row 2, column 'timestamp'", "%d/%m/%Y"),
    ),
    # --- bad settings: exit 2 naming the key
    Case("unknown key", params={"churn.horizon_dayz": 30}, rows=GOOD, says=("churn.horizon_dayz",)),
    Case("horizon true", params={"churn.horizon_days": True}, rows=GOOD, says=("churn.horizon_days", "number")),
    Case("horizon negative", params={"churn.horizon_days": -5}, rows=GOOD, says=("churn.horizon_days",)),
    Case("budget negative", params={"actions.budget": -1}, rows=GOOD, says=("actions.budget",)),
    Case("bad time zone", **params_case("data.timezone", "Mars/Olympus", "unknown time zone")),
    Case("format without a day", **params_case("data.timestamp_format", "%H:%M", "needs a year")),
    Case("format bad directive", **params_case("data.timestamp_format", "%d/%m/%Q", "not a valid strftime")),
    Case("bad encoding", **params_case("data.encoding", "utf-9", "unknown text encoding")),
    Case("binary codec", **params_case("data.encoding", "base64", "unknown text encoding")),
    Case("newline delimiter", **params_case("data.delimiter", "\n", "cannot separate fields")),
    Case("quote delimiter", **params_case("data.delimiter", '"', "cannot separate fields")),
    Case("two-char delimiter", **params_case("data.delimiter", ";;", "at most 1 character")),
    Case("on_bad_rows typo", **params_case("data.on_bad_rows", "skip", "fail")),
    Case("drop_duplicates typo", **params_case("data.drop_duplicates", "sometimes", "auto")),
    Case("max before min", data={"max_date": "1960-01-01"}, rows=GOOD, says=("data.max_date", "before")),
    Case("bad min_date", **params_case("data.min_date", "yesterday", "date")),
    Case("negative max amount", **params_case("data.max_abs_amount", -1, "greater than 0")),
    Case(
        "two fields on one column",
        data={"columns": {"customer_id": "customer_id", "timestamp": "timestamp", "amount": "customer_id"}},
        rows=GOOD,
        says=("data.columns", "customer_id"),
    ),
    Case(
        "status rule without a status column", data={"columns": {"status": None}}, rows=GOOD, says=("exclude_status",)
    ),
    Case(
        "nested condition values",
        params={"actions.playbook.0.when.0.value": [["x"] * 9 for _ in range(9)]},
        rows=GOOD,
        says=("not nested lists",),
    ),
    Case("transactions outside the project", data={"transactions": "../elsewhere.csv"}, rows=GOOD, says=("outside",)),
    Case("transactions missing", data={"transactions": "data/raw/none.csv"}, rows=GOOD, says=("none.csv",)),
    Case("duplicate params key", raw_params="churn:\n  horizon_days: 90\n  horizon_days: 60\n", says=("horizon_days",)),
    Case(
        "YAML alias bomb",
        raw_params="a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n",
        says=("params.yaml", "alias *a refused", "line 2"),
    ),
    Case("python tag in YAML", raw_params="churn: !!python/object/apply:os.system [echo hi]\n", says=("params.yaml",)),
    Case("params not a mapping", raw_params="- just\n- a list\n", says=("params.yaml",)),
    Case("params not YAML", raw_params="churn: [unclosed\n", says=("params.yaml",)),
    # --- documented, counted handling: exit 0
    Case(
        "exact repeats without order id",
        body=b"customer_id,timestamp,amount,status\n1,2024-01-01,5,ok\n1,2024-01-01,5,ok\n",
        status=0,
        kept=2,
        says=('"possible_repeats": 1',),
    ),
    Case("exact repeats with order id", rows=rows(GOOD[0]), status=0, kept=2, says=('"rows_duplicate_dropped": 1',)),
    Case(
        "status in another case",
        rows=rows("A3,003,2024-01-05,5, cancelled "),
        status=0,
        kept=2,
        says=('"rows_filtered_status": 1',),
    ),
    Case("repeated header line", rows=rows(HEADER), status=0, kept=2, says=('"rows_repeated_header": 1',)),
    Case("blank lines", body=(HEADER + "\n\n" + GOOD[0] + "\n\n" + GOOD[1] + "\n").encode(), status=0, kept=2),
    Case("CRLF line ends", body=(HEADER + "\r\n" + "\r\n".join(GOOD) + "\r\n").encode(), status=0, kept=2),
    Case("refunds only", rows=rows("A3,003,2024-01-05,-5,Completed"), status=0, kept=3),
    Case(
        "leading zeros and numeric ids",
        rows=rows("A3,0003,2024-01-05,5,Completed", "A4,3,2024-01-05,5,Completed"),
        status=0,
        kept=4,
    ),
    Case(
        "spreadsheet formula as id", rows=rows('A3,"=HYPERLINK(""http://x"")",2024-01-05,5,Completed'), status=0, kept=3
    ),
    Case("offsets and naive times mixed", rows=rows("A3,003,2024-01-05T10:00:00+01:00,5,Completed"), status=0, kept=3),
    Case(
        "daylight-saving hour",
        rows=rows("A3,003,2024-10-27 02:30,5,Completed"),
        data={"timezone": "Europe/Berlin"},
        status=0,
        kept=3,
    ),
    Case(
        "bad rows quarantined",
        rows=rows("A3,003,9999-12-31,5,Completed", "A4,004,2024-01-05,abc,Completed"),
        data={"on_bad_rows": "quarantine"},
        status=0,
        kept=2,
        says=('"rows_rejected": 2',),
    ),
]


def _set(tree: dict, dotted: str, value) -> None:
    keys = dotted.split(".")
    for key in keys[:-1]:
        tree = tree[int(key)] if isinstance(tree, list) else tree.setdefault(key, {})
    last = keys[-1]
    if isinstance(tree, list):
        tree[int(last)] = value
    else:
        tree[last] = value


def _project(root: Path, case: Case, engine: str = "duckdb") -> Path:
    if case.raw_params is not None:
        (root / "params.yaml").write_text(case.raw_params, encoding="utf-8")
    else:
        params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
        params["data"].update(source="file", transactions="data/raw/tx.csv", events=None, customers=None, contacts=None)
        params["data"]["columns"].update(order_id="order_id")
        params["engine"] = engine
        for key, value in case.data.items():
            if key == "columns":
                params["data"]["columns"].update(value)
            else:
                params["data"][key] = value
        for key, value in case.params.items():
            _set(params, key, value)
        (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    (root / "data/raw").mkdir(parents=True)
    body = case.body if case.body is not None else ("\n".join((HEADER, *case.rows)) + "\n").encode("utf-8")
    (root / "data/raw/tx.csv").write_bytes(body)
    return root


def test_the_corpus_holds_sixty_cases_with_distinct_names():
    assert len(CASES) >= 60
    assert len({c.name for c in CASES}) == len(CASES)


# The cases that reach the rows, run again on Spark: the same rules, the same answers.
ROW_CASES = [
    c
    for c in CASES
    if c.raw_params is None and not c.params and not c.data.keys() - {"on_bad_rows", "timezone", "timestamp_format"}
]
ENGINES = [("duckdb", c) for c in CASES] + [
    pytest.param("spark", c, marks=pytest.mark.spark, id=f"spark-{c.name}") for c in ROW_CASES
]


@pytest.mark.parametrize("engine, case", ENGINES[: len(CASES)], ids=[c.name for c in CASES])
def test_hostile_input(engine: str, case: Case, tmp_path, monkeypatch, capsys):
    _run_case(engine, case, tmp_path, monkeypatch, capsys)


@pytest.mark.parametrize("engine, case", ENGINES[len(CASES) :])
def test_hostile_input_on_spark(engine: str, case: Case, tmp_path, monkeypatch, capsys):
    from tests.spark.conftest import require_spark

    require_spark()
    _run_case(engine, case, tmp_path, monkeypatch, capsys)


def _run_case(engine: str, case: Case, tmp_path, monkeypatch, capsys) -> None:
    root = _project(tmp_path, case, engine)
    monkeypatch.chdir(root)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    status = main(["--json", "ingest"])
    out, err = capsys.readouterr()
    assert status == case.status, (out, err)
    assert "Traceback" not in err and "unexpected error" not in err
    if case.status == 2:
        assert err.startswith("churn ingest: error: ") and err.count("error:") == 1, err  # one message
        for text in case.says:
            assert text in err, (text, err[:400])
        assert len(err) < 1200  # a huge value is never echoed whole
        assert not (root / "data/interim").exists()  # nothing downstream, not even half
    else:
        report = json.loads((root / "reports/ingest.json").read_text())["transactions"]
        parts = ("rows_kept", "rows_repeated_header", "rows_filtered_status", "rows_duplicate_dropped", "rows_rejected")
        assert sum(report[p] for p in parts) == report["rows_read"]  # every row accounted for
        assert report["rows_kept"] == case.kept
        for text in case.says:
            assert text in json.dumps(report, indent=2), text
    assert not list(root.rglob(".*.tmp"))  # no leftovers
