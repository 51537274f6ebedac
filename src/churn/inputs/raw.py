"""Raw tables as users deliver them: read, mapped and validated as `churn ingest` does."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from churn import engine, io
from churn.config import DataSettings, Params
from churn.data import validation
from churn.data.validation import (
    ORDER,
    ROW,
    RowsTo,
    Validated,
    check_header,
    duplicate_header_error,
    row_numbers,
    validate_contacts,
    validate_customers,
    validate_events,
    validate_transactions,
)
from churn.errors import ChurnError, InputError

VALIDATORS = {
    "transactions": validate_transactions,
    "events": validate_events,
    "contacts": validate_contacts,
    "customers": validate_customers,
}


def resolve(root: Path, path: str, key: str) -> Path:
    """Paths in params are relative to the project root and must stay inside it; an
    absolute path is taken as given, on purpose."""
    p = Path(path)
    if p.is_absolute():
        return p
    full = (root / p).resolve()
    if not full.is_relative_to(root.resolve()):
        raise ChurnError(f"{key}: {path!r} points outside the project; give an absolute path if you mean it")
    return full


def on_spark(params: Params, path: str) -> bool:
    """Whether Spark reads this table (engine: spark, and not a CSV file: a CSV file is read
    here, for its quirks and row numbers, and checked by Spark)."""
    if params.engine != "spark":
        return False
    from churn.spark_io import is_csv

    return not is_csv(path)


def with_clock(data: DataSettings, today: dt.date | None = None) -> DataSettings:
    """data.max_date null means the day after today (UTC): no transaction is dated later."""
    if data.max_date is not None:
        return data
    today = today or dt.datetime.now(dt.UTC).date()
    return data.model_copy(update={"max_date": today + dt.timedelta(days=1)})


def _read_local(
    root: Path, key: str, path: str, name: str, data: DataSettings, params: Params, rows_to: RowsTo | None
) -> Validated:
    """A file on this machine, checked by the configured engine: on DuckDB read by DuckDB
    itself when it reads the file as written, else read here (a CSV file's quirks and row
    numbers are handled by the reader)."""
    file = resolve(root, path, key)
    if params.engine != "spark":
        by_duckdb = _streamed_parquet if file.suffix == ".parquet" else _streamed_csv
        if (streamed := by_duckdb(file, name, data, path, rows_to)) is not None:
            return streamed
    raw = io.read_table(
        file, _id_columns(name, data), delimiter=data.delimiter, encoding=data.encoding, source=path, all_text=True
    )
    if file.suffix in {".csv", ".txt", ".tsv"}:
        raw = _csv_rows(file, raw, data, path)
    if params.engine == "spark":
        return check_on_spark(raw, name, data, path, engine.spark_session(params.spark))
    return VALIDATORS[name](raw, data, path, rows_to=rows_to)


def check_on_spark(raw: pd.DataFrame, name: str, data: DataSettings, source: str, session) -> Validated:
    """A frame read here, checked by Spark with its row numbers (ROW) and order (ORDER)."""
    check_header(raw, source)  # before the frame becomes a Spark table, where names must be unique
    rows = row_numbers(raw)
    frame = raw.reset_index(drop=True).assign(**{ROW: rows, ORDER: rows})
    con = engine.spark_backend(session)
    # As Arrow: pandas' chunked Arrow text made Spark fall back to converting row by row.
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    return VALIDATORS[name](engine.register(con, session.createDataFrame(arrow)), data, source, con)


def _streamed_csv(
    file: Path, name: str, data: DataSettings, source: str, rows_to: RowsTo | None = None
) -> Validated | None:
    """A plain UTF-8 CSV file read and checked by DuckDB without holding it here, or None
    when the file must be read here: another encoding, a header the checks refuse, blank
    lines (DuckDB skips them, so its row numbers would not be the file's), or rows DuckDB
    will not read as written (where this reader words the error)."""
    names = _plain_header(file, data)
    if names is None:
        return None
    try:
        result = VALIDATORS[name](validation.csv_on_duckdb(file, names, data.delimiter), data, source, rows_to=rows_to)
    except duckdb.InvalidInputException:
        return None
    except InputError:  # a message naming a row: only if the rows were numbered as the file's lines
        if _has_blank_line(file, None):
            return None
        raise
    # One column: a blank line is a row of one missing value to DuckDB, so count nothing.
    if _has_blank_line(file, result.counts["rows_read"] if len(names) > 1 else None):
        result.release()
        return None
    return result


def _id_columns(name: str, data: DataSettings) -> tuple[str, ...]:
    """The columns read as text however a file stores them: the customer ids."""
    return (data.columns.customer_id,) if name == "transactions" else ("customer_id",)


def _streamed_parquet(
    file: Path, name: str, data: DataSettings, source: str, rows_to: RowsTo | None = None
) -> Validated | None:
    """A Parquet file read and checked by DuckDB without holding it here, or None when
    DuckDB cannot read it (read here then, where the message says why)."""
    if not file.is_file():
        return None
    try:
        source_table = validation.parquet_on_duckdb(file, _id_columns(name, data))
        return VALIDATORS[name](source_table, data, source, rows_to=rows_to)
    except duckdb.Error:
        return None


def _plain_header(file: Path, data: DataSettings) -> list[str] | None:
    """The header of a non-empty UTF-8 CSV file of distinct, non-empty column names, else None."""
    if file.suffix not in {".csv", ".txt", ".tsv"} or not file.is_file() or file.stat().st_size == 0:
        return None
    try:
        if codecs.lookup(data.encoding).name != "utf-8" or len(data.delimiter) != 1:
            return None
    except LookupError:  # an unknown encoding is for the reader here to name
        return None
    return io.plain_csv_header(file, data.delimiter, "utf-8")


_BLANK_LINE = (b"\n\n", b"\n\r\n")
_CHUNK = 1 << 24


def _has_blank_line(file: Path, records: int | None) -> bool:
    """Whether the file holds an empty line (read in chunks: files can be large). A file of
    exactly one line per record plus the header has none: counting newlines settles the
    common case several times faster than searching for an empty line (`records` None:
    search)."""
    if records is not None:
        lines, last = 0, b""
        with file.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                lines += chunk.count(b"\n")
                last = chunk[-1:]
        if lines + (last not in (b"\n", b"")) == records + 1:
            return False
    tail = b""
    with file.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            window = tail + chunk
            if any(pattern in window for pattern in _BLANK_LINE):
                return True
            tail = window[-2:]
    return False


def _csv_rows(file: Path, raw: pd.DataFrame, data: DataSettings, source: str) -> pd.DataFrame:
    """The CSV header as written (pandas renames a repeated column name to "name.1": refused
    here, naming it), and, when the file has blank lines (which pandas skips but a
    spreadsheet shows), each row's spreadsheet row number as the index `row`."""
    blank = _has_blank_line(file, len(raw))
    numbers: list[int] = []
    header: list[str] | None = None
    try:
        with file.open(encoding=data.encoding, newline="") as fh:
            for number, record in enumerate(csv.reader(fh, delimiter=data.delimiter), start=1):
                if not record:
                    continue
                if header is None:
                    header = record
                    error = duplicate_header_error(source, header)
                    if error is not None:
                        raise error
                    if not blank:
                        return raw
                    continue
                numbers.append(number)
    except (csv.Error, UnicodeError):  # e.g. a field beyond the csv module's size limit: pandas read it
        return raw
    if blank and len(numbers) == len(raw):  # else the readers disagree: keep pandas' numbering
        raw = raw.copy()
        raw.index = pd.Index(numbers, name="row")
    return raw


def _read_spark(root: Path, key: str, path: str, name: str, data: DataSettings, params: Params) -> Validated:
    from pyspark.sql import functions as F

    from churn import spark_io

    session = engine.spark_session(params.spark)
    spec = path[len(spark_io.DELTA_PREFIX) :] if path.startswith(spark_io.DELTA_PREFIX) else path
    local = None if path.startswith(spark_io.TABLE_PREFIX) or spark_io.is_uri(spec) else resolve(root, spec, key)
    raw = spark_io.read(session, spark_io.source_of(path, local), path)
    check_header(raw, path)  # before the table reaches Ibis, where names must be unique
    con = engine.spark_backend(session)
    table = engine.register(con, raw.withColumn(ORDER, F.monotonically_increasing_id()))  # the read order
    return VALIDATORS[name](table, data, path, con)


def raw_table(root: Path, key: str, path: str, name: str, params: Params, rows_to: RowsTo | None = None):
    """Read and check raw table `name` (transactions, events, contacts or customers), named
    by params key `key`: with Spark when on_spark says so, else on this machine, where the
    kept rows go to `rows_to` as they are read (held as an Arrow table by default)."""
    data = with_clock(params.data)
    if on_spark(params, path):
        result = _read_spark(root, key, path, name, data, params)
    else:
        result = _read_local(root, key, path, name, data, params, rows_to)
    if name == "transactions" and result.counts["rows_kept"] == 0:
        raise InputError(path, "no usable transactions (every row was filtered or rejected)")
    return result
