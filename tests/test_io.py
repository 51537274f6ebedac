import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from churn import io
from churn.errors import InputError


def test_atomic_write_keeps_previous_output_on_failure(tmp_path):
    target = tmp_path / "out.csv"
    io.write_table(pd.DataFrame({"a": [1]}), target)
    before = target.read_bytes()
    with pytest.raises(RuntimeError):
        with io.atomic_path(target) as tmp:
            tmp.write_text("half-written")
            raise RuntimeError("killed mid-write")
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_atomic_dir_swaps_whole_directory(tmp_path):
    target = tmp_path / "d"
    with io.atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("1")
    with pytest.raises(RuntimeError):
        with io.atomic_dir(target) as tmp:
            (tmp / "b.txt").write_text("2")
            raise RuntimeError("interrupted")
    assert sorted(p.name for p in target.iterdir()) == ["a.txt"]


def test_text_columns_keep_leading_zeros(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("customer_id,amount\n00017,1.5\n")
    df = io.read_table(path, text_columns=("customer_id",))
    assert df["customer_id"].tolist() == ["00017"]


def test_parquet_round_trip_is_byte_identical(tmp_path):
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    io.write_table(frame, tmp_path / "one.parquet")
    io.write_table(frame, tmp_path / "two.parquet")
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "two.parquet").read_bytes()


def test_csv_is_written_in_the_bytes_pandas_would_write(tmp_path):
    """DuckDB writes the CSV (fast); the bytes are what pandas' to_csv gives: numbers in
    shortest form, True/False, empty and missing text alike, quotes only where needed."""
    frame = pd.DataFrame(
        {
            "number": [1e-05, 1000000.0, 1 / 3, float("nan"), -0.0, 1e20, 123456789.123, float("inf")],
            "text": pd.Series(["a,b", 'say "hi"', None, "two\nlines", "", " lead", "plain", "ü"], dtype="string"),
            "count": pd.Series([1, None, 3, 4, 5, 6, 7, 8], dtype="Int64"),
            "when": pd.to_datetime(["2024-01-01 10:00:00"] * 7 + [None]),
            "when_ns": pd.to_datetime(["2024-07-01"] * 8).astype("datetime64[ns]"),
            "when_s": pd.to_datetime(["2024-07-01 23:59:59"] * 8).astype("datetime64[s]"),
            "when_berlin": pd.to_datetime(["2024-07-01 12:00"] * 8).tz_localize("Europe/Berlin"),
            "flag": [True, False] * 4,
            "label": pd.Categorical(["x", "y"] * 4),
        }
    )
    io.write_table(frame, tmp_path / "out.csv")
    expected = frame.to_csv(index=False, lineterminator="\n", date_format="%Y-%m-%dT%H:%M:%S")
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == expected


def test_empty_file_is_a_clear_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(InputError, match="empty.csv: the file is empty"):
        io.read_table(path)


def test_csv_outputs_neutralise_spreadsheet_formulas_and_parquet_keeps_them(tmp_path):
    from churn.io import write_table

    frame = pd.DataFrame(
        {
            "customer_id": pd.array(
                ['=HYPERLINK("x")', "+cmd|' /C calc'!A0", "@SUM(A1)", "-2+3", "00017"], dtype="string"
            ),
            "amount": [-5.0, 1.0, 2.0, 3.0, 4.0],
        }
    )
    write_table(frame, tmp_path / "out.csv")
    write_table(frame, tmp_path / "out.parquet")
    text = pd.read_csv(tmp_path / "out.csv", dtype={"customer_id": str})
    assert text["customer_id"].tolist() == ['\'=HYPERLINK("x")', "'+cmd|' /C calc'!A0", "'@SUM(A1)", "'-2+3", "00017"]
    assert text["amount"].tolist() == [-5.0, 1.0, 2.0, 3.0, 4.0]  # numbers stay numbers
    assert pd.read_parquet(tmp_path / "out.parquet")["customer_id"].tolist() == frame["customer_id"].tolist()


def test_a_live_runs_temporary_file_is_never_removed_and_a_dead_ones_is(tmp_path):
    import subprocess
    import sys

    from churn.io import write_text

    target = tmp_path / "scores.csv"
    live = tmp_path / f".scores.csv.{os.getpid()}.abc.tmp"  # this process: alive
    live.write_text("being written")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = tmp_path / f".scores.csv.{int(gone.stdout)}.def.tmp"  # a process that has ended
    dead.write_text("left by a killed run")
    write_text("new", target)
    assert target.read_text() == "new" and live.exists() and not dead.exists()


def test_a_dataset_directory_has_one_fingerprint_of_its_names_and_bytes(tmp_path):
    from churn.io import file_sha256, path_sha256

    (tmp_path / "one.csv").write_bytes(b"a,b\n1,2\n")
    assert path_sha256(tmp_path / "one.csv") == file_sha256(tmp_path / "one.csv")
    data = tmp_path / "ds"
    (data / "part=1").mkdir(parents=True)
    (data / "part=1" / "x.parquet").write_bytes(b"abc")
    (data / "y.parquet").write_bytes(b"def")
    first = path_sha256(data)
    assert path_sha256(data) == first
    (data / "y.parquet").write_bytes(b"deg")
    assert path_sha256(data) != first


CSV_BODIES = {
    "plain": b"id,amount,when\n00123,1.50,2024-01-01\n7, x ,\n",
    "quoted": b'id,note\n1,"a, b"\n2,"say ""hi"""\n3,""\n',
    "quoted newline": b'id,note\n1,"two\nlines"\n2,x\n',
    "byte order mark": b"\xef\xbb\xbfid,amount\n1,2\n",
    "CRLF": b"id,amount\r\n1,2\r\n3,4\r\n",
    "no final newline": b"id,amount\n1,2",
    "blank lines": b"id,amount\n\n1,2\n\n3,4\n",
    "short row": b"id,amount,extra\n1,2\n3,4,5\n",
    "header only": b"id,amount\n",
    "unnamed column": b"id,,amount\n1,2,3\n",
}


@pytest.mark.parametrize("name", CSV_BODIES)
def test_every_column_as_text_reads_what_pandas_reads(tmp_path, name):
    """all_text: Arrow reads a CSV as pandas would with every column as text (empty fields
    missing), or hands the file to pandas; either way the frame is the same."""
    file = tmp_path / "t.csv"
    file.write_bytes(CSV_BODIES[name])
    got = io.read_table(file, all_text=True)
    expected = pd.read_csv(file, dtype="string", keep_default_na=False, na_values=[""])
    pd.testing.assert_frame_equal(got, expected)
    assert all(isinstance(t, pd.StringDtype) for t in got.dtypes)


def test_arrow_reads_the_plain_files_itself(tmp_path):
    file = tmp_path / "t.csv"
    file.write_bytes(CSV_BODIES["plain"])
    fast = io._read_csv_as_text(file, ",", "utf-8")
    assert fast is not None and fast["id"].tolist() == ["00123", "7"]  # text as written, not 123
    file.write_bytes(CSV_BODIES["short row"])
    assert io._read_csv_as_text(file, ",", "utf-8") is None  # pandas fills the short row; Arrow would refuse it


def _table(n: int) -> pa.Table:
    """Columns as DuckDB hands them: text, microsecond timestamps, floats, flags, missing values."""
    i = np.arange(n)
    return pa.table(
        {
            "customer_id": pa.array((i % 977).astype(str)),
            "timestamp": pa.array(i.astype("datetime64[s]").astype("datetime64[us]")),
            "amount": pa.array(np.where(i % 11 == 0, np.nan, i * 0.25)),
            "flag": pa.array(i % 3 == 0, mask=i % 7 == 0),
        }
    )


@pytest.mark.parametrize("n", [0, 5, io.ROW_GROUP_ROWS + 12_345])
def test_a_parquet_stream_writes_the_bytes_of_one_write(tmp_path, n):
    """Tables written as they come (in uneven pieces, across row groups) give the file that
    writing their concatenation at once gives."""
    table = _table(n)
    io.write_arrow_parquet(table, tmp_path / "once.parquet")
    with io.ParquetStream(tmp_path / "streamed.parquet", table.schema) as out:
        start = 0
        for size in (0, 3, 700_001, 1, 10**7):
            out.write(table.slice(start, size))
            start += size
    assert (tmp_path / "streamed.parquet").read_bytes() == (tmp_path / "once.parquet").read_bytes()
    assert out.rows is None


def test_a_parquet_stream_compresses_as_asked(tmp_path):
    import pyarrow.parquet as pq

    table = _table(1000)
    with io.ParquetStream(tmp_path / "fast.parquet", table.schema, compression="lz4") as out:
        out.write(table)
    meta = pq.ParquetFile(tmp_path / "fast.parquet").metadata
    assert {meta.row_group(0).column(i).compression for i in range(meta.num_columns)} == {"LZ4"}
    io.write_arrow_parquet(table, tmp_path / "zstd.parquet")
    assert (
        pq.read_table(tmp_path / "fast.parquet")
        .to_pandas()
        .equals(pq.read_table(tmp_path / "zstd.parquet").to_pandas())
    )


def test_a_parquet_stream_that_fails_leaves_the_previous_file(tmp_path):
    target = tmp_path / "t.parquet"
    io.write_arrow_parquet(_table(3), target)
    before = target.read_bytes()
    with pytest.raises(RuntimeError, match="while reading"):  # the block fails
        with io.ParquetStream(target, _table(0).schema) as out:
            out.write(_table(io.ROW_GROUP_ROWS + 1))
            raise RuntimeError("while reading")
    with pytest.raises(pa.ArrowInvalid):  # the writing fails (a table the schema cannot hold)
        with io.ParquetStream(target, _table(0).schema) as out:
            out.write(pa.table({"customer_id": ["x"], "timestamp": ["not a time"], "amount": [1.0], "flag": [True]}))
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.parquet"]  # no temporary file left


def test_outputs_with_their_summary_are_the_bytes_of_each_file_written_alone(tmp_path):
    df = pd.DataFrame({"customer_id": ["a", "=b", "c"], "score": [0.5, np.nan, 1.25], "tier": ["low", "", None]})
    targets = [tmp_path / "scores.csv", tmp_path / "scores.parquet"]
    io.write_with_summary(df, targets, {"outputs": ["scores.csv", "scores.parquet"]})
    for target in targets:
        alone = tmp_path / "alone" / target.name
        alone.parent.mkdir(exist_ok=True)
        io.write_table(df, alone)
        assert target.read_bytes() == alone.read_bytes()
    summary = io.read_json(tmp_path / "scores.summary.json")
    assert summary["sha256"] == {t.name: io.file_sha256(t) for t in targets}


def test_a_failed_output_is_raised_and_no_summary_is_written(tmp_path):
    with pytest.raises(ValueError, match="unsupported table format"):
        io.write_with_summary(
            pd.DataFrame({"a": [1]}), [tmp_path / "s.csv", tmp_path / "s.xlsx"], {"outputs": ["s.csv", "s.xlsx"]}
        )
    assert not (tmp_path / "s.summary.json").exists()
    assert not (tmp_path / "s.xlsx").exists()
