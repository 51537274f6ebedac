"""What ingest trusts and what it refuses: the status rule, duplicates, plausible dates,
row numbers, values in messages and outputs that cannot be written. Errors are exit
status 2 with one line naming the file, the row and the column (or the params key)."""

from __future__ import annotations

import datetime as dt
import errno
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from churn.cli import main
from churn.data.validation import validate_transactions
from churn.errors import InputError
from churn.inputs import raw
from tests.conftest import ROOT

HEADER = "order_id,customer_id,timestamp,amount,status\n"


def project(tmp_path: Path, text: str, **data) -> Path:
    """A project reading data/raw/tx.csv with the shipped params, changed by `data`."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["data"].update(source="file", transactions="data/raw/tx.csv", events=None, customers=None, contacts=None)
    params["data"].update(data)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    (tmp_path / "data/raw").mkdir(parents=True)
    (tmp_path / "data/raw/tx.csv").write_text(text, encoding="utf-8")
    return tmp_path


def ingest(root: Path, monkeypatch, capsys) -> tuple[int, str, str]:
    """`churn ingest` in `root`: exit status, stdout, stderr."""
    monkeypatch.chdir(root)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    status = main(["ingest"])
    out = capsys.readouterr()
    return status, out.out, out.err


def report(root: Path) -> dict:
    return json.loads((root / "reports/ingest.json").read_text(encoding="utf-8"))


def frame(rows, columns=("customer_id", "timestamp", "amount", "status")) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns)).astype("string")


# 1. The status rule


def test_exclude_status_ignores_case_and_surrounding_spaces(params):
    rows = [
        ("1", "2024-01-01", "5", "cancelled"),
        ("2", "2024-01-01", "5", " CANCELLED "),
        ("3", "2024-01-01", "5", "Canceled"),  # another spelling: not the same word
        ("4", "2024-01-01", "5", "Completed"),
    ]
    out = validate_transactions(frame(rows), params.data, "tx.csv")
    assert out.counts["rows_filtered_status"] == 2
    assert out.table["customer_id"].tolist() == ["3", "4"]
    assert out.warnings == []


def test_exclude_status_matching_no_row_warns_naming_the_statuses_present(tmp_path, monkeypatch, capsys):
    text = HEADER + "A1,1,2024-01-01,5,Completed\nA2,1,2024-01-02,5,Canceled\nA3,2,2024-01-02,5,Completed\n"
    root = project(tmp_path, text, exclude_status=["Cancelled"])
    status, _, err = ingest(root, monkeypatch, capsys)
    assert status == 0
    assert err == (
        "churn ingest: warning: data/raw/tx.csv: data.exclude_status (Cancelled) matched no row (case and "
        "surrounding spaces ignored); column 'status' holds 'Completed' (2 rows), 'Canceled' (1 rows): check the "
        "spelling\n"
    )
    assert report(root)["transactions"]["rows_filtered_status"] == 0


def test_exclude_status_fails_when_the_status_column_is_not_in_the_file(tmp_path, monkeypatch, capsys):
    root = project(tmp_path, "customer_id,timestamp,amount\n1,2024-01-01,5\n", exclude_status=["Cancelled"])
    status, _, err = ingest(root, monkeypatch, capsys)
    assert status == 2
    assert err == (
        "churn ingest: error: data/raw/tx.csv, row 1, column 'status': data.exclude_status is set (Cancelled) but "
        "the status column 'status' (data.columns.status) is not in the file; found: customer_id, timestamp, "
        "amount\n"
    )
    assert not (root / "data/interim").exists()


def test_a_column_named_twice_in_the_header_is_an_error(tmp_path, monkeypatch, capsys):
    root = project(tmp_path, "customer_id,timestamp,amount,amount\n1,2024-01-01,5,6\n", exclude_status=[])
    status, _, err = ingest(root, monkeypatch, capsys)
    assert status == 2
    assert err == (
        "churn ingest: error: data/raw/tx.csv, row 1, column 'amount': the header names column 'amount' twice; "
        "rename or remove one of them\n"
    )


def test_a_column_named_twice_in_a_frame_is_an_error(params):
    raw = pd.DataFrame([["1", "2024-01-01", "5", "6"]], columns=["customer_id", "timestamp", "amount", "amount"])
    with pytest.raises(InputError) as err:
        validate_transactions(raw, params.data.model_copy(update={"exclude_status": []}), "tx.parquet")
    assert str(err.value) == (
        "tx.parquet, row 1, column 'amount': the header names column 'amount' twice; rename or remove one of them"
    )


# 2. Duplicates


def test_repeats_without_order_ids_are_kept_and_reported(tmp_path, monkeypatch, capsys):
    text = "customer_id,timestamp,amount\n1,2024-01-01,5\n1,2024-01-01,5\n2,2024-01-02,7\n"
    root = project(tmp_path, text, exclude_status=[])
    assert ingest(root, monkeypatch, capsys)[0] == 0
    tx = report(root)["transactions"]
    assert (tx["rows_kept"], tx["rows_duplicate_dropped"], tx["possible_repeats"]) == (3, 0, 1)
    assert len(pd.read_parquet(root / "data/interim/transactions.parquet")) == 3


def test_repeated_orders_are_dropped(tmp_path, monkeypatch, capsys):
    text = HEADER + "A1,1,2024-01-01,5,Completed\nA1,1,2024-01-01,5,Completed\nA2,2,2024-01-02,7,Completed\n"
    root = project(tmp_path, text)
    assert ingest(root, monkeypatch, capsys)[0] == 0
    tx = report(root)["transactions"]
    assert (tx["rows_kept"], tx["rows_duplicate_dropped"], tx["possible_repeats"]) == (2, 1, 0)


# 3. Plausible dates

OUT_OF_RANGE = [
    ("1", "1969-12-31T23:59:59", "5"),  # before data.min_date
    ("2", "9999-12-31", "5"),
    ("3", "0001-01-01", "5"),
    ("4", "2262-05-01", "5"),  # beyond what pandas can hold in nanoseconds
    ("5", "2030-01-01", "5"),  # after data.max_date
    ("6", "2024-06-30 23:59:59", "5"),
    ("7", "2025-12-31T23:59:59Z", "5"),  # the last second of data.max_date
]
RANGE_REASON = "timestamp: outside the plausible range 1970-01-01 to 2025-12-31 (data.min_date, data.max_date)"


def test_dates_outside_the_plausible_range_are_rejected_per_row(params):
    settings = params.data.model_copy(
        update={"exclude_status": [], "on_bad_rows": "quarantine", "max_date": dt.date(2025, 12, 31)}
    )
    out = validate_transactions(frame(OUT_OF_RANGE, columns=("customer_id", "timestamp", "amount")), settings, "tx.csv")
    assert out.rejected["row"].tolist() == [2, 3, 4, 5, 6]
    assert out.rejected["reason"].tolist() == [RANGE_REASON] * 5
    assert out.table["customer_id"].tolist() == ["6", "7"]
    assert out.table["timestamp"].dtype == "datetime64[ns]"


def test_a_date_out_of_range_fails_naming_file_row_and_column(params):
    settings = params.data.model_copy(update={"exclude_status": [], "max_date": dt.date(2025, 12, 31)})
    rows = [("1", "2024-01-01", "5"), ("2", "9999-12-31", "5"), ("3", "2262-05-01", "5")]
    with pytest.raises(InputError) as err:
        validate_transactions(frame(rows, columns=("customer_id", "timestamp", "amount")), settings, "tx.csv")
    assert str(err.value) == (
        "tx.csv, row 3, column 'timestamp': outside the plausible range 1970-01-01 to 2025-12-31 (data.min_date, "
        "data.max_date), got '9999-12-31' (2 bad row(s) in all; set data.on_bad_rows: quarantine to set them aside "
        "instead)"
    )


def test_far_dates_never_overflow_even_without_an_upper_bound(params):
    settings = params.data.model_copy(update={"exclude_status": [], "on_bad_rows": "quarantine"})
    rows = [("1", "9999-12-31", "5"), ("2", "0001-01-01T00:00:00+01:00", "5"), ("3", "2024-01-01", "5")]
    out = validate_transactions(frame(rows, columns=("customer_id", "timestamp", "amount")), settings, "tx.csv")
    assert (
        out.rejected["reason"].tolist()
        == ["timestamp: outside the plausible range 1970-01-01 to 2262-04-10 (data.min_date, data.max_date)"] * 2
    )
    assert out.table["customer_id"].tolist() == ["3"]


def test_without_max_date_nothing_is_dated_after_tomorrow(params):
    from churn.inputs.raw import with_clock

    assert with_clock(params.data, today=dt.date(2026, 12, 3)).max_date == dt.date(2026, 12, 4)
    fixed = params.data.model_copy(update={"max_date": dt.date(2030, 1, 1)})
    assert with_clock(fixed, today=dt.date(2026, 12, 3)).max_date == dt.date(2030, 1, 1)


def test_a_typo_in_the_year_does_not_move_the_scoring_day(tmp_path, monkeypatch, capsys):
    text = HEADER + "A1,1,2024-01-01,5,Completed\nA2,1,2204-01-02,5,Completed\nA3,2,2024-01-02,7,Completed\n"
    root = project(tmp_path, text, on_bad_rows="quarantine")
    assert ingest(root, monkeypatch, capsys)[0] == 0
    assert report(root)["transactions"]["last_timestamp"] == "2024-01-02 00:00:00"
    quarantine = pd.read_csv(root / "data/interim/quarantine.csv", dtype=str)
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    assert quarantine["row"].tolist() == ["3"]
    assert quarantine["reason"].tolist() == [
        f"timestamp: outside the plausible range 1970-01-01 to {tomorrow} (data.min_date, data.max_date)"
    ]


# 5. Row numbers, daylight saving, values in messages, unwritable outputs


def test_row_numbers_count_blank_lines(tmp_path, monkeypatch, capsys):
    text = "customer_id,timestamp,amount\n\n1,2024-01-01,5\n\n\n2,2024-01-02,x\n"
    root = project(tmp_path, text, exclude_status=[])
    status, _, err = ingest(root, monkeypatch, capsys)
    assert status == 2
    assert err == (
        "churn ingest: error: data/raw/tx.csv, row 6, column 'amount': not a number, got 'x' (1 bad row(s) in all; "
        "set data.on_bad_rows: quarantine to set them aside instead)\n"
    )


@pytest.mark.parametrize(
    ("text", "records", "blank"),
    [
        ("a,b\n1,2\n3,4\n", 2, False),  # one line per record: settled by counting newlines
        ("a,b\n1,2\n3,4", 2, False),  # no newline at the end
        ("a,b\r\n1,2\r\n", 1, False),
        ('a,b\n"1\n1",2\n', 1, False),  # a quoted newline: more lines than records, then searched
        ("a,b\n1,2\n\n3,4\n", 2, True),
        ("a,b\r\n1,2\r\n\r\n", 1, True),
        ("a,b\n1,2\n\n", 1, True),
    ],
)
def test_blank_lines_are_found_by_count_or_search(tmp_path, text, records, blank):
    file = tmp_path / "t.csv"
    file.write_bytes(text.encode())
    assert raw._has_blank_line(file, records) is blank


def test_daylight_saving_hours_are_resolved_not_rejected(params):
    settings = params.data.model_copy(update={"exclude_status": [], "timezone": "Europe/Berlin"})
    rows = [
        ("1", "2024-03-31 02:30", "5"),  # skipped: clocks go 02:00 -> 03:00; as 03:30 CEST
        ("2", "2024-10-27 02:30", "5"),  # repeated: the first time, still CEST (+02:00)
        ("3", "2024-10-27 03:30", "5"),
    ]
    out = validate_transactions(frame(rows, columns=("customer_id", "timestamp", "amount")), settings, "tx.csv")
    assert out.table.set_index("customer_id")["timestamp"].to_dict() == {
        "1": pd.Timestamp("2024-03-31 01:30"),
        "2": pd.Timestamp("2024-10-27 00:30"),
        "3": pd.Timestamp("2024-10-27 02:30"),
    }


def test_a_huge_bad_value_is_cut_in_the_message(params):
    settings = params.data.model_copy(update={"exclude_status": []})
    rows = [("1", "2024-01-01", "7" * 30 + "x" * 500)]
    with pytest.raises(InputError) as err:
        validate_transactions(frame(rows, columns=("customer_id", "timestamp", "amount")), settings, "tx.csv")
    shown = "'" + "7" * 30 + "x" * 47 + "...'"
    assert str(err.value) == (
        f"tx.csv, row 2, column 'amount': not a number, got {shown} (1 bad row(s) in all; set data.on_bad_rows: "
        "quarantine to set them aside instead)"
    )


def test_messages_show_plain_values_not_numpy_reprs(params):
    settings = params.data.model_copy(update={"exclude_status": []})
    raw = pd.DataFrame(
        {"customer_id": ["1", "2"], "timestamp": ["2024-01-01", "2024-01-02"], "amount": np.array([5, 2 * 10**9])}
    )
    with pytest.raises(InputError) as err:
        validate_transactions(raw, settings, "tx.parquet")
    assert str(err.value) == (
        "tx.parquet, row 3, column 'amount': beyond +/-1e+09 (data.max_abs_amount), got '2000000000' (1 bad row(s) "
        "in all; set data.on_bad_rows: quarantine to set them aside instead)"
    )
    raw = pd.DataFrame({"customer_id": ["1"], "timestamp": [np.False_], "amount": [5.0]})
    with pytest.raises(InputError) as err:
        validate_transactions(raw, settings, "tx.parquet")
    assert "got 'false' (1 bad row(s)" in str(err.value) and "np." not in str(err.value)


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        (errno.ENOSPC, "no space left on the device; free some space and rerun"),
        (errno.EROFS, "the file system is read-only; run where the project can be written"),
        (errno.EACCES, "permission denied; check the owner and permissions of the path"),
    ],
)
def test_unwritable_outputs_exit_2_naming_the_path(tmp_path, monkeypatch, capsys, code, problem):
    root = project(tmp_path, HEADER + "A1,1,2024-01-01,5,Completed\n")

    def fail(*args, **kwargs):
        raise OSError(code, "simulated")  # as pyarrow raises it: no file name

    monkeypatch.setattr(pq, "write_table", fail)  # how every Parquet file is written
    monkeypatch.setattr(pq.ParquetWriter, "write_table", fail)  # ... or written as it comes
    status, _, err = ingest(root, monkeypatch, capsys)
    assert status == 2
    assert err == (
        f"churn ingest: error: data/interim/transactions.parquet: cannot write: {problem} (previous outputs are "
        "left as they were)\n"
    )
    assert not (root / "data/interim").exists()


def test_ingest_writes_the_kept_rows_as_they_come_in_the_bytes_of_the_held_rows(tmp_path, monkeypatch, capsys):
    """The kept transactions go to Parquet batch by batch (never held whole: the validation
    hands on no rows), and the file is the one the rows held whole and written at once give."""
    from churn import io
    from churn.config import load_params
    from churn.data import validation

    lines = [
        f"o{i % 500},{i % 37},2024-01-{1 + i % 28:02d},{i % 13}.5,{'Cancelled' if i % 9 == 0 else 'Completed'}"
        for i in range(3000)
    ]
    root = project(tmp_path, HEADER + "\n".join(lines) + "\n")
    monkeypatch.setattr(validation, "BATCH_ROWS", 64)
    handed_on = []
    real = raw.raw_table

    def spy(*args, **kwargs):
        result = real(*args, **kwargs)
        handed_on.append(result.rows)
        return result

    monkeypatch.setattr("churn.stages.ingest.raw_table", spy)
    status, _, _ = ingest(root, monkeypatch, capsys)
    assert status == 0 and handed_on == [None]
    held = raw.raw_table(
        root, "data.transactions", "data/raw/tx.csv", "transactions", load_params(root / "params.yaml")
    )
    io.write_arrow_parquet(held.rows, tmp_path / "held.parquet")
    assert (root / "data/interim/transactions.parquet").read_bytes() == (tmp_path / "held.parquet").read_bytes()
    assert report(root)["transactions"]["rows_kept"] == len(held.rows) > 0
