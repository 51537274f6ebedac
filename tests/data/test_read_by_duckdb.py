"""A plain UTF-8 CSV file or a Parquet file is read and checked by DuckDB without being
held here (inputs/raw._streamed_csv, _streamed_parquet). It must give what reading the
file here and checking the frame gives: the same kept rows, rows set aside with the same
row numbers, counts, warnings and errors. A file DuckDB would read otherwise (blank
lines, another encoding, rows it will not read as written, a damaged Parquet file) is
read here instead."""

from __future__ import annotations

import datetime as dt
import decimal
import shutil
from pathlib import Path

import pandas as pd
import pytest

from churn import io
from churn.data import validation
from churn.errors import InputError
from churn.inputs import raw

BAD = Path(__file__).parent / "bad"
HEADER = "order_id,customer_id,timestamp,amount,status\n"

FILES = {
    "plain": HEADER + "o1,001,2024-01-01T10:00:00,5.5,Completed\no2,002,2024-01-02,7,Completed\n",
    "crlf": (HEADER + "o1,001,2024-01-01,5,Completed\no2,002,2024-01-02,7,Completed\n").replace("\n", "\r\n"),
    "byte order mark": "\ufeff" + HEADER + "o1,001,2024-01-01,5,Completed\n",
    "no newline at the end": HEADER + "o1,001,2024-01-01,5,Completed",
    "quoted newline and quotes": HEADER + 'o1,"0\n01",2024-01-01,5,Completed\no2,"a ""b""",2024-01-01,x,Completed\n'
    "o3,003,2024-01-01,5,Completed\n",
    "edge spaces": HEADER + "o1,  001 ,\t2024-01-01 ,  5 ,Completed \n",
    "bad rows": HEADER + "o1,,2024-01-01,5,Completed\no2,2,31/12/2024,5,Completed\no3,3,2024-01-01,1e99,Completed\n"
    "o4,4,2024-01-01,nan,Completed\no5,5,2024-01-01,5,cancelled\no6,6,2024-01-01,5,Completed\n",
    "duplicates": HEADER + "o1,1,2024-01-01,5,Completed\no1,1,2024-01-01,5,Completed\n,2,2024-01-01,5,Completed\n"
    ",2,2024-01-01,5,Completed\n",
    "header only": HEADER,
    "every row filtered": HEADER + "o1,1,2024-01-01,5,cancelled\n",
    "empty fields": HEADER + ",1,2024-01-01,5,\n",
    "trailing delimiter": HEADER + "o1,1,2024-01-01,5,Completed,\no2,2,2024-01-01,6,Completed\n",
    "blank lines": HEADER + "o1,1,2024-01-01,5,Completed\n\n\no2,,2024-01-01,5,Completed\n",
    "ragged row": HEADER + "o1,1,2024-01-01,5,Completed\no2,2,2024-01-01\n",
    "long row": HEADER + "o1,1,2024-01-01,5,Completed\no2,2,2024-01-01,5,Completed,more\n",
    "unclosed quote": HEADER + 'o1,"1,2024-01-01,5,Completed\n',
    "backslash in quotes": HEADER + 'o1,"a\\"b",2024-01-01,5,Completed\n',
}
STREAMED = {
    "plain",
    "crlf",
    "byte order mark",
    "no newline at the end",
    "quoted newline and quotes",
    "edge spaces",
    "bad rows",
    "duplicates",
    "header only",
    "every row filtered",
    "empty fields",
    "trailing delimiter",
}


def with_data(params, **data):
    return params.model_copy(update={"data": params.data.model_copy(update=data)})


def outcome(root: Path, params, name: str = "transactions", file: str = "data/raw/file.csv") -> tuple:
    """What raw_table gives for `file`: the kept rows, rows set aside, counts and warnings,
    or the error."""
    try:
        got = raw.raw_table(root, f"data.{name}", file, name, params)
    except InputError as exc:
        return ("error", str(exc))
    return ("rows", got.table.reset_index(drop=True), got.rejected.reset_index(drop=True), got.counts, got.warnings)


def assert_same(streamed: tuple, read_here: tuple) -> None:
    assert streamed[0] == read_here[0], (streamed, read_here)
    if streamed[0] == "error":
        assert streamed == read_here
        return
    pd.testing.assert_frame_equal(streamed[1], read_here[1])
    pd.testing.assert_frame_equal(streamed[2], read_here[2])
    assert streamed[3:] == read_here[3:]


def both_ways(
    tmp_path: Path, params, monkeypatch, name: str = "transactions", file: str = "data/raw/file.csv"
) -> tuple[tuple, tuple, bool]:
    """The outcome streamed (when the file qualifies), the outcome read here, and whether
    DuckDB read the file."""
    used = []
    name_of_reader = "_streamed_parquet" if file.endswith(".parquet") else "_streamed_csv"
    real = getattr(raw, name_of_reader)

    def spy(*args):
        try:
            result = real(*args)
        except InputError:  # raised by the checks DuckDB ran
            used.append(True)
            raise
        used.append(result is not None)
        return result

    with monkeypatch.context() as m:
        m.setattr(raw, name_of_reader, spy)
        streamed = outcome(tmp_path, params, name, file)
    with monkeypatch.context() as m:
        m.setattr(raw, "_streamed_csv", lambda *args: None)
        m.setattr(raw, "_streamed_parquet", lambda *args: None)
        read_here = outcome(tmp_path, params, name, file)
    return streamed, read_here, used == [True]


@pytest.mark.parametrize("case", FILES)
@pytest.mark.parametrize("on_bad_rows", ["quarantine", "fail"])
def test_streamed_equals_read_here(tmp_path, params, monkeypatch, case, on_bad_rows):
    (tmp_path / "data/raw").mkdir(parents=True)
    (tmp_path / "data/raw/file.csv").write_bytes(FILES[case].encode())
    params = with_data(params, on_bad_rows=on_bad_rows)
    streamed, read_here, by_duckdb = both_ways(tmp_path, params, monkeypatch)
    assert_same(streamed, read_here)
    # A file DuckDB read has no error of its reading; an error naming a row may come from the checks.
    assert by_duckdb == (case in STREAMED), case


@pytest.mark.parametrize("file", sorted(p.name for p in BAD.glob("*.csv")))
def test_bad_files_streamed_equal_read_here(tmp_path, params, monkeypatch, file):
    (tmp_path / "data/raw").mkdir(parents=True)
    shutil.copy(BAD / file, tmp_path / "data/raw/file.csv")
    name = "customers" if file.startswith("customers") else "transactions"
    streamed, read_here, _ = both_ways(tmp_path, params, monkeypatch, name)
    assert_same(streamed, read_here)


def typed_frames() -> dict[str, pd.DataFrame]:
    """Parquet as exports write it: typed columns, missing values, time zones."""
    ts = pd.to_datetime(["2024-01-01 10:00", "2024-01-02 00:00:00.123456789", None], format="ISO8601")
    return {
        "text": pd.DataFrame(
            {
                "customer_id": ["1", " 2 ", None],
                "timestamp": ["2024-01-01", "x", "2024-01-03"],
                "amount": ["5", "1e99", ""],
            }
        ),
        "typed": pd.DataFrame(
            {
                "order_id": ["o1", "o2", "o3"],
                "customer_id": [1.0, 2.0, float("nan")],
                "timestamp": ts,
                "amount": [5.5, float("inf"), -3.0],
                "status": pd.Categorical(["Completed", "cancelled", "Completed"]),
            }
        ),
        "zoned": pd.DataFrame(
            {"customer_id": [7, 8, 9], "timestamp": ts.tz_localize("Europe/Berlin"), "amount": [1, 2, 3]}
        ),
        "decimal amounts and dates": pd.DataFrame(
            {
                "customer_id": ["a", "b", "b"],
                "timestamp": [dt.date(2024, 1, 1), dt.date(2024, 1, 2), dt.date(2024, 1, 2)],
                "amount": [decimal.Decimal("5.00"), decimal.Decimal("-1.25"), decimal.Decimal("-1.25")],
            }
        ),
        "booleans where a date belongs": pd.DataFrame(
            {"customer_id": ["1", "2"], "timestamp": [False, True], "amount": [1.0, 2.0]}
        ),
        "fractional and huge ids": pd.DataFrame(
            {"customer_id": [1.0, 2.5, 1e20, 1e-5], "timestamp": ["2024-01-01"] * 4, "amount": [1.0] * 4}
        ),
        "no rows": pd.DataFrame({"customer_id": pd.Series([], dtype="string"), "timestamp": [], "amount": []}),
    }


@pytest.mark.parametrize("case", list(typed_frames()))
@pytest.mark.parametrize("on_bad_rows", ["quarantine", "fail"])
def test_parquet_streamed_equals_read_here(tmp_path, params, monkeypatch, case, on_bad_rows):
    (tmp_path / "data/raw").mkdir(parents=True)
    typed_frames()[case].to_parquet(tmp_path / "data/raw/file.parquet")
    params = with_data(params, on_bad_rows=on_bad_rows, exclude_status=["cancelled"] if case == "typed" else [])
    streamed, read_here, by_duckdb = both_ways(tmp_path, params, monkeypatch, file="data/raw/file.parquet")
    assert_same(streamed, read_here)
    assert by_duckdb


def test_damaged_parquet_is_read_here(tmp_path, params, monkeypatch):
    (tmp_path / "data/raw").mkdir(parents=True)
    shutil.copy(BAD / "truncated.parquet", tmp_path / "data/raw/file.parquet")
    streamed, read_here, by_duckdb = both_ways(tmp_path, params, monkeypatch, file="data/raw/file.parquet")
    assert_same(streamed, read_here)
    assert not by_duckdb and "not a readable Parquet file" in streamed[1]


def test_a_long_row_is_an_error_naming_it(tmp_path, params):
    """Neither reader drops the extra fields of a row longer than the header."""
    (tmp_path / "data/raw").mkdir(parents=True)
    (tmp_path / "data/raw/file.csv").write_text(FILES["long row"], encoding="utf-8")
    with pytest.raises(InputError, match="row 3: 6 fields in a row, more than the header's 5 columns"):
        raw.raw_table(tmp_path, "data.transactions", "data/raw/file.csv", "transactions", params)


def test_blank_lines_keep_the_files_row_numbers(tmp_path, params):
    (tmp_path / "data/raw").mkdir(parents=True)
    (tmp_path / "data/raw/file.csv").write_text(FILES["blank lines"], encoding="utf-8")
    params = with_data(params, on_bad_rows="quarantine")
    got = raw.raw_table(tmp_path, "data.transactions", "data/raw/file.csv", "transactions", params)
    assert got.rejected["row"].tolist() == [5]  # header 1, row 2, two blank lines, row 5


def test_one_column_with_a_blank_line_is_read_here(tmp_path, params):
    """To DuckDB a blank line in a one-column file is a row with a missing value."""
    (tmp_path / "data/raw").mkdir(parents=True)
    (tmp_path / "data/raw/file.csv").write_text("customer_id\n1\n\n2\n", encoding="utf-8")
    got = raw.raw_table(tmp_path, "data.customers", "data/raw/file.csv", "customers", params)
    assert got.table["customer_id"].tolist() == ["1", "2"] and got.rejected.empty


def test_the_file_is_not_held_here(tmp_path, params, monkeypatch):
    """A plain file never becomes a frame of text: only the kept rows come back."""
    (tmp_path / "data/raw").mkdir(parents=True)
    (tmp_path / "data/raw/file.csv").write_text(FILES["bad rows"], encoding="utf-8")

    def refuse(*args, **kwargs):
        raise AssertionError("the file was read into a frame")

    monkeypatch.setattr(io, "read_table", refuse)
    params = with_data(params, on_bad_rows="quarantine")
    got = raw.raw_table(tmp_path, "data.transactions", "data/raw/file.csv", "transactions", params)
    assert got.counts["rows_read"] == 6 and got.rejected["row"].tolist() == [2, 3, 4, 5]


def test_other_encodings_are_read_here(tmp_path, params):
    (tmp_path / "data/raw").mkdir(parents=True)
    shutil.copy(BAD / "latin1.csv", tmp_path / "data/raw/file.csv")
    params = with_data(params, encoding="latin-1", exclude_status=[])
    assert raw._streamed_csv(tmp_path / "data/raw/file.csv", "transactions", params.data, "file.csv") is None
    got = raw.raw_table(tmp_path, "data.transactions", "data/raw/file.csv", "transactions", params)
    assert got.table["category"].tolist() == ["Cafe", "Café"]


def test_row_numbers_are_file_order_on_many_threads(tmp_path):
    """DuckDB reads a large file on several threads; the numbers still follow the file."""
    lines = [f"{i},x" for i in range(300_000)]
    file = tmp_path / "big.csv"
    file.write_text("n,v\n" + "\n".join(lines) + "\n", encoding="utf-8")
    source = validation.csv_on_duckdb(file, ["n", "v"], ",")
    got = source.con.to_pyarrow(source.table.select("n", validation.ROW)).to_pandas()
    assert (got["n"].astype("int64") + 2 == got[validation.ROW]).all() and len(got) == 300_000


def test_another_delimiter_streamed_equals_read_here(tmp_path, params, monkeypatch):
    (tmp_path / "data/raw").mkdir(parents=True)
    text = FILES["bad rows"].replace(",", "\t") + 'o7\t"7\t8"\t2024-01-01\t5\tCompleted\n'
    (tmp_path / "data/raw/file.csv").write_text(text, encoding="utf-8")
    params = with_data(params, delimiter="\t", on_bad_rows="quarantine")
    streamed, read_here, by_duckdb = both_ways(tmp_path, params, monkeypatch)
    assert_same(streamed, read_here)
    assert by_duckdb and streamed[1]["customer_id"].tolist() == ["6", "7\t8"]
