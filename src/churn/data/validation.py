"""Validate and type raw tables: every row is kept, filtered by a user rule, or rejected.

One rule set, written as Ibis expressions and run by the configured engine: DuckDB for a
file on this machine (read by DuckDB itself, csv_on_duckdb and parquet_on_duckdb, or a
frame read by inputs/raw.py), Spark for a Spark DataFrame (`engine: spark`). Each row's
reason for rejection is the first rule that holds; the bad-row policy, the status
filter, duplicate removal and the counts are expressions over the same table. Values are
typed by data/parsing.py.

Row numbers in messages count the header as row 1, as a spreadsheet shows them, so
"row 7" is the seventh line of the CSV file. Spark sources (Parquet, Delta, catalog
tables) have no lines: their rows have no number, and "first" (the customers table's
first occurrence of an id) is the order Spark reads them in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from churn import engine, io
from churn.config import DataSettings
from churn.data import parsing
from churn.errors import InputError

TRANSACTION_FIELDS = ("customer_id", "timestamp", "amount")
OPTIONAL_TRANSACTION_FIELDS = ("order_id", "category", "channel", "status")
EVENT_FIELDS = ("customer_id", "timestamp", "event_type")
CUSTOMER_FIELDS = ("customer_id",)
CONTACT_FIELDS = ("customer_id", "timestamp")
CONTACT_TEXT_FIELDS = ("channel", "action", "campaign", "group")
CAMPAIGN_GROUPS = ("treatment", "control")
CUSTOMER_TEXT_FIELDS = ("tier", "region")

# Why a row is rejected: "<field>: <what is wrong>".
MISSING_ID = "customer_id: missing"
NOT_A_DATE = "timestamp: not a date in the expected format"
ISO_DATES = "an ISO 8601 date or datetime"
AMOUNT_NOT_A_NUMBER = "amount: not a number"
AMOUNT_NOT_FINITE = "amount: not a finite number"
MISSING_EVENT_TYPE = "event_type: missing"
SIGNUP_NOT_A_DATE = "signup_date: not a date"
LOYALTY_NOT_A_FLAG = "loyalty_member: expected true or false"
CONFLICTING_ID = "customer_id: listed again with different attributes (first occurrence kept)"
GROUP_NOT_KNOWN = "group: expected treatment or control"
# Timestamps pandas can hold (nanoseconds since 1970 in 64 bits); outside these, a date is out of range.
EARLIEST = pd.Timestamp("1677-09-22")
LATEST = pd.Timestamp("2262-04-11")  # exclusive
SHOWN_CHARS = 80  # a bad value in a message is cut to this many characters
LOYALTY_FLAGS = {"true": True, "1": True, "yes": True, "y": True, "false": False, "0": False, "no": False, "n": False}


def timestamp_reason(fmt: str | None) -> str:
    return f"{NOT_A_DATE} ({fmt or ISO_DATES})"


def amount_limit_reason(max_abs_amount: float) -> str:
    return f"amount: beyond +/-{max_abs_amount:g} (data.max_abs_amount)"


def date_bounds(settings: DataSettings) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Plausible timestamps (naive UTC): from data.min_date, inclusive, to the end of
    data.max_date (no later bound than pandas' own when null: the ingest stage sets it to
    the day after the run), within what pandas can hold."""
    lo = max(pd.Timestamp(settings.min_date), EARLIEST)
    hi = LATEST if settings.max_date is None else min(pd.Timestamp(settings.max_date) + pd.Timedelta(days=1), LATEST)
    return lo, hi


def date_range_reason(settings: DataSettings, field: str = "timestamp") -> str:
    lo, hi = date_bounds(settings)
    last = (hi - pd.Timedelta(days=1)).date()
    return f"{field}: outside the plausible range {lo.date()} to {last} (data.min_date, data.max_date)"


def shown(value) -> str:
    """A value as a message quotes it: plain text (no numpy reprs), cut to SHOWN_CHARS."""
    if value is None or (np.ndim(value) == 0 and pd.isna(value)):
        return "an empty value"
    if isinstance(value, np.generic):
        value = value.item()
    text = str(value)
    if len(text) > SHOWN_CHARS:
        text = text[: SHOWN_CHARS - 3] + "..."
    return repr(text)


def exclude_status_missing_error(source: str, settings: DataSettings, found: list[str]) -> InputError:
    """data.exclude_status is set, but the file has no status column to apply it to."""
    column = settings.columns.status
    return InputError(
        source,
        f"data.exclude_status is set ({', '.join(settings.exclude_status)}) but the status column {column!r} "
        f"(data.columns.status) is not in the file; found: {', '.join(map(str, found))}",
        row=1,
        column=column,
    )


def duplicate_header_error(source: str, columns) -> InputError | None:
    """Two columns with one name: which one a field reads would be a guess."""
    seen: set[str] = set()
    for name in map(str, columns):
        if name in seen and name.strip():
            return InputError(
                source, f"the header names column {name!r} twice; rename or remove one of them", row=1, column=name
            )
        seen.add(name)
    return None


def status_matched_nothing(source: str, settings: DataSettings, counts: list[tuple[str, int]]) -> str:
    """The warning when data.exclude_status filters no row, naming the statuses present."""
    present = ", ".join(f"{str(v)!r} ({int(n)} rows)" for v, n in counts) or "no values"
    return (
        f"{source}: data.exclude_status ({', '.join(settings.exclude_status)}) matched no row (case and surrounding "
        f"spaces ignored); column '{settings.columns.status}' holds {present}: check the spelling"
    )


def excluded(settings: DataSettings) -> list[str]:
    """data.exclude_status as compared: lower case, without surrounding spaces."""
    return sorted({s.strip().lower() for s in settings.exclude_status})


def bad_rows_error(
    source: str, reason: str, value, n_bad: int, settings: DataSettings, row: int | None = None
) -> InputError:
    """The error for data.on_bad_rows: fail, naming the first bad row's column (as the user
    calls it) and value, and how many rows are bad in all."""
    column = reason.split(":", 1)[0]
    return InputError(
        source,
        f"{reason.split(': ', 1)[-1]}, got {shown(value)} ({int(n_bad)} bad row(s) in all; "
        "set data.on_bad_rows: quarantine to set them aside instead)",
        row=None if row is None else int(row),
        column=settings.columns.model_dump().get(column, column) or column,
    )


def row_counts(
    *, read: int, kept: int, repeated_header: int, filtered: int, duplicates: int, rejected: int
) -> dict[str, int]:
    """The ingest report of one table: every row read is in exactly one of the other counts."""
    counts = {
        "rows_read": int(read),
        "rows_kept": int(kept),
        "rows_repeated_header": int(repeated_header),
        "rows_filtered_status": int(filtered),
        "rows_duplicate_dropped": int(duplicates),
        "rows_rejected": int(rejected),
    }
    assert sum(v for k, v in counts.items() if k != "rows_read") == counts["rows_read"]
    return counts


class KeptRows(Protocol):
    """Where DuckDB's kept rows go as they are read: `write` takes each batch within the
    `with` block; `rows` afterwards is what Validated.rows holds (None when written out as
    they came, e.g. by io.ParquetStream). Spark's kept rows stay a lazy DataFrame."""

    rows: Any

    def __enter__(self) -> KeptRows: ...

    def __exit__(self, *exc) -> Any: ...

    def write(self, table: pa.Table) -> None: ...


RowsTo = Callable[[pa.Schema], KeptRows]  # the kept rows' schema -> where they go


@dataclass
class Validated:
    """The typed rows (an Arrow table from DuckDB, or None when `rows_to` wrote them out; a
    lazy Spark DataFrame on Spark), the rows rejected (`row`, the raw values as text,
    `reason`), and the row counts. `table` is the rows as a pandas frame (made when first
    asked for). Call `release()` once a Spark table is written."""

    rows: Any
    rejected: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    cached: Any = None

    @cached_property
    def table(self) -> Any:
        """A pandas frame of the rows from DuckDB; the Spark DataFrame as it is."""
        return io.arrow_to_pandas(self.rows) if isinstance(self.rows, pa.Table) else self.rows

    def release(self) -> None:
        if self.cached is not None:
            self.cached.release()
            self.cached = None


def _missing_columns_error(source: str, raw, missing: list[str]) -> InputError:
    columns = _columns(raw)
    found = ", ".join(columns)
    hint = ""
    if len(columns) == 1 and any(sep in columns[0] for sep in (";", "\t", "|")):
        hint = " The header looks like one column: is the file delimited by something other than a comma?"
    return InputError(
        source,
        f"missing required column(s) {', '.join(repr(m) for m in missing)}; found: {found}.{hint}",
        row=1,
        column=missing[0],
    )


# DuckDB's working memory for the checks (the sort of the kept rows spills beyond it, to a
# private temporary directory): the kept rows are held once more, in Arrow, unless they are
# written as they come (`rows_to`).
CHECK_MEMORY = "512MB"
ROW = "_row"  # the spreadsheet row number (null where the source has no lines)
ORDER = "_order"  # the order rows were read in, for "first occurrence"
REASON = "_reason"
HEADER = "_header"  # a repeated header line
RAW = "_raw_"  # a raw value, kept for the rows set aside

# A rule: a condition on the typed table (the typed columns under their field names, the
# raw ones under RAW + name, ROW and ORDER) and the reason it gives.
Rule = tuple[Any, str]


@dataclass
class Source:
    """A raw table on an engine: the Ibis table with ROW and ORDER added, and whether its
    rows have numbers (lines of a file). A CSV file read by DuckDB is a view (`view`):
    `numbered` SQL, or `plain` SQL with ROW and ORDER missing, for queries that do not
    need them (see `unnumbered`)."""

    con: ibis.BaseBackend
    table: ir.Table
    numbered: bool
    view: tuple[str, str, str] | None = None  # name, numbered SQL, plain SQL

    @property
    def columns(self) -> list[str]:
        return list(self.table.columns)

    @contextmanager
    def unnumbered(self) -> Iterator[None]:
        """Within, a CSV file's rows have no ROW or ORDER: numbering rows in file order
        holds DuckDB's whole query to one thread (twice the time of the checks on two cores)."""
        if self.view is None:
            yield
            return
        name, numbered, plain = self.view
        self.con.raw_sql(f"CREATE OR REPLACE TEMP VIEW {name} AS {plain}")
        try:
            yield
        finally:
            self.con.raw_sql(f"CREATE OR REPLACE TEMP VIEW {name} AS {numbered}")


def _source(raw, con: ibis.BaseBackend | None) -> Source:
    """A Source (a file DuckDB reads) is used as it is. A pandas frame (read on this machine;
    its index holds the row numbers when inputs.raw set them) goes to a private DuckDB. An
    Ibis table stays on its engine and comes with ORDER, the read order (inputs.raw adds
    it); its rows have numbers only when it came from a file read here, in ROW."""
    if isinstance(raw, Source):
        return raw
    if isinstance(raw, pd.DataFrame):
        con = _checking_connection()
        rows = row_numbers(raw)
        frame = raw.copy(deep=False)
        for col in frame.columns:
            if frame[col].dtype == object:  # mixed Python values: as their text
                frame[col] = frame[col].astype("string")
        arrow = pa.Table.from_pandas(frame, preserve_index=False).append_column(ROW, pa.array(rows, pa.int64()))
        name = ibis.util.gen_name("raw")
        con.con.register(name, arrow)
        table = con.table(name)
        return Source(con, table.mutate(**{ORDER: table[ROW]}), numbered=True)
    if ROW in raw.columns:  # a file read on this machine, checked by Spark
        return Source(con, raw, numbered=True)
    return Source(con, raw.mutate(**{ROW: ibis.null("int64")}), numbered=False)


def _checking_connection() -> ibis.BaseBackend:
    """A private DuckDB for one table's checks, spilling to the private spill directory."""
    return ibis.duckdb.connect(temp_directory=str(io.spill_directory()), memory_limit=CHECK_MEMORY)


def csv_on_duckdb(file: Path, names: list[str], delimiter: str) -> Source:
    """A UTF-8 CSV file as DuckDB reads it, streamed, never held whole here: every column as
    text (an empty field missing), with ROW (the header is row 1) and ORDER. `names` are
    the header's. Rows are numbered in file order (DuckDB keeps a scan's order for a
    window without ORDER BY), so the file must have no blank lines: DuckDB skips them.

    DuckDB refuses what it will not read as written (a ragged row, bytes that are not
    UTF-8, an unclosed quote) when the rows are read, with duckdb.InvalidInputException:
    the caller then reads the file itself, where the message names the row and column.
    """
    con = _checking_connection()
    columns = ", ".join(f"{_sql_text(n)}: 'VARCHAR'" for n in names)
    read = (
        f"read_csv({_sql_text(str(file))}, header = true, auto_detect = false, columns = {{{columns}}}, "
        f"delim = {_sql_text(delimiter)}, quote = '\"', escape = '\"', strict_mode = true, null_padding = false)"
    )
    numbered = f"SELECT *, CAST(row_number() OVER () + 1 AS BIGINT) AS {ROW}, {ROW} AS {ORDER} FROM {read}"
    plain = f"SELECT *, CAST(NULL AS BIGINT) AS {ROW}, CAST(NULL AS BIGINT) AS {ORDER} FROM {read}"
    name = ibis.util.gen_name("csv")
    con.raw_sql(f"CREATE TEMP VIEW {name} AS {numbered}")
    return Source(con, con.table(name), numbered=True, view=(name, numbered, plain))


def parquet_on_duckdb(file: Path, text_columns: tuple[str, ...] = ()) -> Source:
    """A Parquet file as DuckDB reads it, never held whole here: its columns as typed,
    with ROW (2, 3, ... in file order, as if after a header line, as for a file read here)
    and ORDER. `text_columns` (ids) become text as io.read_table makes them: numbers as
    written, floats without ".0" when every one is whole."""
    con = _checking_connection()
    read = f"read_parquet({_sql_text(str(file))}, file_row_number = true)"
    schema = con.con.sql(f"SELECT * FROM {read}").limit(0).to_arrow_table().schema
    as_text = []
    for name in text_columns:
        if name not in schema.names:
            continue
        col = _sql_name(name)
        if pa.types.is_floating(schema.field(name).type):
            whole = con.con.sql(
                f"SELECT coalesce(bool_and(isfinite({col}) AND {col} = floor({col})), true) "
                f"FROM {read} WHERE {col} IS NOT NULL AND NOT isnan({col})"
            ).fetchone()[0]
            as_text.append(
                f"CAST(CAST({col} AS BIGINT) AS VARCHAR) AS {col}" if whole else f"CAST({col} AS VARCHAR) AS {col}"
            )
        else:
            as_text.append(f"CAST({col} AS VARCHAR) AS {col}")
    replace = f" REPLACE ({', '.join(as_text)})" if as_text else ""
    table = con.sql(
        f"SELECT * EXCLUDE (file_row_number){replace}, file_row_number + 2 AS {ROW}, file_row_number + 2 AS {ORDER} "
        f"FROM {read}"
    )
    return Source(con, table, numbered=True)


def _sql_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def row_numbers(raw: pd.DataFrame) -> np.ndarray:
    """Spreadsheet row numbers (header = 1): the index inputs.raw sets when a CSV file has
    blank lines (pandas skips them; a spreadsheet shows them), else 2, 3, ..."""
    if raw.index.name == "row" and len(raw.index) == len(raw):
        return raw.index.to_numpy(dtype="int64")
    return np.arange(2, len(raw) + 2, dtype="int64")


def _columns(raw) -> list[str]:
    return [c for c in map(str, raw.columns) if c not in (ORDER, ROW)]


def check_header(raw, source: str) -> None:
    """Refuses a column name given twice (which one a field reads would be a guess)."""
    error = duplicate_header_error(source, _columns(raw))
    if error is not None:
        raise error


def _require(raw, required, source: str) -> None:
    """Refuses a repeated column name and missing required columns."""
    check_header(raw, source)
    missing = [c for c in required if c not in _columns(raw)]
    if missing:
        raise _missing_columns_error(source, raw, missing)


def _no_rows_error(source: str, numbered: bool) -> InputError:
    """A table without rows: a file's header line is row 1, so its first row would be row 2."""
    if numbered:
        return InputError(source, "has a header row but no data rows", row=2)
    return InputError(source, "has no data rows")


def _blank(value) -> Any:
    return value.isnull() | (value == "")


def _outside(ts, settings: DataSettings) -> Any:
    """A date outside data.min_date .. data.max_date (date_bounds)."""
    lo, hi = (ibis.literal(b.to_pydatetime(), type="timestamp") for b in date_bounds(settings))
    return ts.notnull() & ((ts < lo) | (ts >= hi))


def _staged(src: Source, fields: dict[str, str], quarantined: dict[str, str], header: dict[str, str]) -> ir.Table:
    """The raw table as the rules see it: ROW, ORDER, each field under its name (raw, to be
    typed), the raw values to quarantine under RAW + their name in the quarantine file,
    and HEADER (a repeated header line: every field in `header` equals its column name)."""
    t = src.table
    return t.select(
        ROW,
        ORDER,
        **{RAW + name: t[c] for name, c in quarantined.items()},
        **{f: t[c] for f, c in fields.items()},
        **{HEADER: _repeated_header(t, header)},
    )


def _id_and_time(t: ir.Table, settings: DataSettings, dialect: parsing.Dialect, fmt_reason: str):
    """customer_id as stripped text and timestamp as naive UTC, and their rules."""
    t = t.mutate(customer_id=parsing.text(t.customer_id))
    t = parsing.timestamps(t, "timestamp", settings.timestamp_format, settings.timezone, dialect)
    rules = [
        (lambda c: _blank(c.customer_id), MISSING_ID),
        (lambda c: _outside(c.timestamp, settings), date_range_reason(settings)),
        (lambda c: c.timestamp.isnull(), fmt_reason),
    ]
    return t, rules


def validate_transactions(
    raw, settings: DataSettings, source: str, con: ibis.BaseBackend | None = None, rows_to: RowsTo | None = None
) -> Validated:
    """Map, type and check a raw transaction table.

    Output columns: customer_id (text), timestamp (naive UTC), amount (float; negative =
    refund), plus any of order_id, category, channel, status that are mapped and present.
    """
    mapping = settings.columns.model_dump()
    check_header(raw, source)
    found = _columns(raw)
    missing = [mapping[f] for f in TRANSACTION_FIELDS if mapping[f] not in found]
    if missing:
        raise _missing_columns_error(source, raw, missing)
    if settings.exclude_status and (not settings.columns.status or settings.columns.status not in found):
        raise exclude_status_missing_error(source, settings, found)
    present = {f: mapping[f] for f in TRANSACTION_FIELDS + OPTIONAL_TRANSACTION_FIELDS if mapping.get(f) in found}
    src = _source(raw, con)
    t = _staged(src, present, present, present)
    optional = [f for f in OPTIONAL_TRANSACTION_FIELDS if f in present]
    t = t.mutate(amount=parsing.number(t.amount), **{f: parsing.text(t[f]) for f in optional})
    t, rules = _id_and_time(t, settings, parsing.dialect_of(src.con), timestamp_reason(settings.timestamp_format))
    limit = settings.max_abs_amount
    rules += [
        (lambda c: c.amount.isnull() | c.amount.isnan(), AMOUNT_NOT_A_NUMBER),
        (lambda c: c.amount.abs() == float("inf"), AMOUNT_NOT_FINITE),
        (lambda c: c.amount.abs() > limit, amount_limit_reason(limit)),
    ]
    return _finish(
        src,
        t,
        list(present),
        rules,
        settings,
        source,
        quarantined=list(present),
        status=bool(settings.exclude_status) and "status" in present,
        drop_duplicates=settings.drop_duplicates,
        rows_to=rows_to,
    )


def validate_events(
    raw, settings: DataSettings, source: str, con: ibis.BaseBackend | None = None, rows_to: RowsTo | None = None
) -> Validated:
    """Type an engagement-events table: customer_id (text), timestamp (naive UTC), event_type."""
    _require(raw, EVENT_FIELDS, source)
    src = _source(raw, con)
    fields = {c: c for c in EVENT_FIELDS}
    t = _staged(src, fields, fields, fields)
    t = t.mutate(event_type=parsing.text(t.event_type).lower())
    t, rules = _id_and_time(t, settings, parsing.dialect_of(src.con), NOT_A_DATE)
    rules.append((lambda c: _blank(c.event_type), MISSING_EVENT_TYPE))
    return _finish(src, t, list(EVENT_FIELDS), rules, settings, source, quarantined=list(EVENT_FIELDS), rows_to=rows_to)


def validate_contacts(
    raw, settings: DataSettings, source: str, con: ibis.BaseBackend | None = None, rows_to: RowsTo | None = None
) -> Validated:
    """Type a contacts table (past retention contacts): customer_id (text), timestamp
    (naive UTC), plus channel, action, campaign and group as text when present. A row of a
    campaign names its group (treatment | control, any case); a control row's action is the
    one held back."""
    _require(raw, CONTACT_FIELDS, source)
    src = _source(raw, con)
    columns = _columns(raw)
    fields = {c: c for c in (*CONTACT_FIELDS, *CONTACT_TEXT_FIELDS) if c in columns}
    t = _staged(src, fields, {c: c for c in columns}, {c: c for c in CONTACT_FIELDS})
    texts = [c for c in CONTACT_TEXT_FIELDS if c in columns]
    t = t.mutate(**{c: parsing.text(t[c]).nullif("") for c in texts})
    t, rules = _id_and_time(t, settings, parsing.dialect_of(src.con), NOT_A_DATE)
    if "group" in fields:
        t = t.mutate(group=t.group.lower())

        def unknown_group(c):
            in_campaign = c.campaign.notnull() if "campaign" in fields else c.group.notnull()
            return in_campaign & ~c.group.isin(CAMPAIGN_GROUPS).fill_null(False)

        rules.append((unknown_group, GROUP_NOT_KNOWN))
    return _finish(src, t, list(fields), rules, settings, source, quarantined=columns, rows_to=rows_to)


def validate_customers(
    raw, settings: DataSettings, source: str, con: ibis.BaseBackend | None = None, rows_to: RowsTo | None = None
) -> Validated:
    """Type a customers table: customer_id (text, unique) plus static attributes.

    Recognised attributes: signup_date (date), loyalty_member (true/false/1/0/yes/no),
    tier and region (text). Other columns are ignored.
    """
    _require(raw, CUSTOMER_FIELDS, source)
    src = _source(raw, con)
    columns = _columns(raw)
    known = ("customer_id", "signup_date", "loyalty_member", *CUSTOMER_TEXT_FIELDS)
    fields = {c: c for c in known if c in columns}
    t = _staged(src, fields, {c: c for c in columns}, {"customer_id": "customer_id"})
    t = t.mutate(
        customer_id=parsing.text(t.customer_id), **{c: parsing.text(t[c]) for c in CUSTOMER_TEXT_FIELDS if c in fields}
    )
    rules: list[Rule] = [(lambda c: _blank(c.customer_id), MISSING_ID)]
    if "signup_date" in fields:
        t = parsing.timestamps(t, "signup_date", None, settings.timezone, parsing.dialect_of(src.con))
        rules.append((lambda c: _outside(c.signup_date, settings), date_range_reason(settings, "signup_date")))
        rules.append((lambda c: c.signup_date.isnull() & c[RAW + "signup_date"].notnull(), SIGNUP_NOT_A_DATE))
    if "loyalty_member" in fields:
        word = parsing.text(t.loyalty_member).lower()
        t = t.mutate(loyalty_member=word.substitute(LOYALTY_FLAGS, else_=ibis.null("boolean")))
        rules.append((lambda c: c.loyalty_member.isnull() & c[RAW + "loyalty_member"].notnull(), LOYALTY_NOT_A_FLAG))
    attributes = list(fields)

    # Exact repeats are dropped as duplicates later; the same id with other attributes is
    # ambiguous: a later row of an id whose attributes no earlier row of it had.
    def conflicting(c):
        first_of_id = c[ORDER].min().over(group_by=c.customer_id)
        first_of_row = c[ORDER].min().over(group_by=[c[a] for a in attributes])
        return c.customer_id.notnull() & (c[ORDER] != first_of_id) & (c[ORDER] == first_of_row)

    rules.append((conflicting, CONFLICTING_ID))
    return _finish(
        src, t, attributes, rules, settings, source, quarantined=columns, rules_use_order=True, rows_to=rows_to
    )


def _finish(
    src: Source,
    t: ir.Table,
    fields: list[str],
    rules: list[Rule],
    settings: DataSettings,
    source: str,
    *,
    quarantined: list[str],
    status: bool = False,
    drop_duplicates: str | None = None,
    rules_use_order: bool = False,
    rows_to: RowsTo | None = None,
) -> Validated:
    """Apply the rules (the first that holds is a row's reason), the bad-row policy, the
    status filter and duplicate removal; count everything.

    Repeated header lines are dropped and counted, never reported as bad rows. Exact
    duplicates are dropped per `drop_duplicates`: data.drop_duplicates for transactions
    (auto drops only rows that carry an order id; those kept are counted as
    `possible_repeats`, beside the accounting of the rows read), None for the other tables
    (always dropped). The kept rows are sorted by every column, so the output does not
    depend on the input's row order.
    """
    reason = ibis.cases(*((rule(t), text_) for rule, text_ in rules), else_=ibis.null("string"))
    t = t.mutate(**{REASON: ibis.ifelse(t[HEADER], ibis.null("string"), reason)})
    bad = t[REASON].notnull()
    checked = t.select(
        ROW,
        ORDER,
        HEADER,
        REASON,
        *fields,
        # the raw values of the rows set aside only: the others would only take space
        **{RAW + c: ibis.ifelse(bad, t[RAW + c].cast("string"), ibis.null("string")) for c in quarantined},
    )
    if not engine.is_spark(src.con):  # DuckDB: one sorted query, no table stored
        return _counted_sorted(
            src, checked, fields, settings, source, quarantined, status, drop_duplicates, rules_use_order, rows_to
        )
    cached = _Persisted(src.con, checked)
    try:
        return _counted_on_spark(src, cached, fields, settings, source, quarantined, status, drop_duplicates)
    except BaseException:
        cached.release()
        raise


KIND = "_kind"  # where a row goes: 0 kept (unless a duplicate), 1 filtered by status, 2 a repeated header, 3 set aside
GOOD, FILTERED, REPEATED_HEADER, BAD = range(4)


def _filtered(t: ir.Table, settings: DataSettings, status: bool) -> Any:
    """A row data.exclude_status filters out (a good row; without a status it is never
    filtered; case and surrounding spaces do not count)."""
    if not status:
        return ibis.literal(False)
    return t[REASON].isnull() & ~t[HEADER] & t.status.lower().isin(excluded(settings)).fill_null(False)


def _counted_sorted(
    src, checked, fields, settings, source, quarantined, status, drop_duplicates, rules_use_order, rows_to
) -> Validated:
    """The DuckDB reading of the checked table: one query sorts every row by where it goes
    (KIND) and then by every column, so the kept rows come first, sorted, duplicates
    neighbours, and the counts are the sizes of the slices. The sorted rows are read in
    batches and the kept ones handed on as they come (`rows_to`; held here by default); the
    rows set aside are read again only when there are any. (On ten million rows, storing
    the checked rows in a temporary table took 41 s and 6.6 GB in the whole ingest;
    separate queries for the counts and the kept rows 13 s of checks against 11 s.)"""
    con = src.con
    kind = ibis.cases(
        (checked[REASON].notnull(), BAD),
        (checked[HEADER], REPEATED_HEADER),
        (_filtered(checked, settings, status), FILTERED),
        else_=GOOD,
    )
    ordered = checked.select(*fields, **{KIND: kind.cast("int8")}).order_by(
        [KIND, *(ibis.asc(c, nulls_first=False) for c in fields)]
    )
    set_aside = _set_aside(checked, quarantined)
    # The kept rows and the counts need no row numbers unless a rule reads ORDER.
    try:
        with nullcontext() if rules_use_order else src.unnumbered():
            reader = con.con.sql(con.compile(ordered)).to_arrow_reader(BATCH_ROWS)
            schema = reader.schema.remove(reader.schema.get_field_index(KIND))
            with (rows_to or _Held)(schema) as kept:
                sorted_rows = _SortedRows(fields, drop_duplicates, status, kept.write)
                for batch in reader:
                    sorted_rows.add(batch)
                sizes = sorted_rows.sizes
                if sizes.sum() == 0:
                    raise _no_rows_error(source, src.numbered)
                if sizes[BAD] and settings.on_bad_rows == "fail":
                    raise _FailOnBadRows  # the kept rows go away; the message needs the rows numbered
    except _FailOnBadRows:
        _raise_bad_row(con, set_aside, quarantined, int(sizes[BAD]), settings, source)
    totals = {
        "read": int(sizes.sum()),
        "header": sizes[REPEATED_HEADER],
        "bad": sizes[BAD],
        "filtered": sizes[FILTERED],
    }
    rejected = con.to_pyarrow(set_aside) if totals["bad"] else set_aside.schema().to_pyarrow().empty_table()
    warnings = []
    if status and totals["filtered"] == 0:
        top = sorted(sorted_rows.statuses.items(), key=lambda vc: (-vc[1], vc[0]))[:5]
        warnings.append(status_matched_nothing(source, settings, top))
    n_good, n_kept = int(sizes[GOOD]), sorted_rows.kept
    return Validated(
        kept.rows,
        _rejected_frame(rejected.to_pandas(), src.numbered),
        _counts(totals, n_good, n_good - sorted_rows.repeats, n_kept, drop_duplicates),
        warnings,
    )


class _FailOnBadRows(Exception):
    """data.on_bad_rows is fail and a row is bad: raised within the reading, answered after it."""


# DuckDB's own row group: its sorted output of 10.8 million rows streamed in batches of this
# size in 8.5-9.2 s, against 10.2-10.8 s in batches of 1,048,576 rows.
BATCH_ROWS = 122_880


class _Held:
    """The kept rows held here, as one Arrow table (`rows`): the default of `rows_to`."""

    def __init__(self, schema: pa.Schema):
        self.schema, self.parts = schema, []

    def __enter__(self) -> _Held:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def write(self, table: pa.Table) -> None:
        self.parts.append(table)

    @property
    def rows(self) -> pa.Table:
        return pa.concat_tables(self.parts) if self.parts else self.schema.empty_table()


class _SortedRows:
    """The checked rows as they come, sorted by KIND and then by every field: rows per KIND,
    and the good rows' exact duplicates (neighbours, also across batches), the kept ones
    handed to `write`, and, with a status rule (`status`), their statuses counted (for the
    warning when the rule matches nothing). Comparing neighbours in Arrow was several times
    faster than a DISTINCT over ten million rows, which hashes every row."""

    def __init__(self, fields: list[str], drop_duplicates: str | None, status: bool, write: Callable[[pa.Table], None]):
        self.drops = _drops(drop_duplicates, "order_id" in fields)
        self.write = write
        self.sizes = np.zeros(4, dtype=np.int64)
        self.repeats = 0  # good rows equal to the row before
        self.kept = 0
        self.statuses: Counter = Counter()
        self.count_statuses = status
        self.last: pa.Table | None = None  # the previous good row

    def add(self, batch: pa.RecordBatch) -> None:
        kinds = batch.column(KIND).to_numpy()
        self.sizes += np.bincount(kinds, minlength=4)
        n_good = int(np.count_nonzero(kinds == GOOD))  # a prefix: KIND sorts first
        if n_good == 0:
            return
        good = pa.Table.from_batches([batch.slice(0, n_good)]).drop_columns([KIND])
        if self.last is None:
            dup = _repeats_previous(good)
        else:
            dup = _repeats_previous(pa.concat_tables([self.last, good]))[1:]
        self.last = good.slice(n_good - 1)
        self.repeats += int(dup.sum())
        if self.count_statuses:
            for vc in pc.value_counts(good["status"].drop_null()).to_pylist():
                self.statuses[vc["values"]] += vc["counts"]
        if self.drops == "all":
            drop = dup
        elif self.drops == "with_order_id":
            drop = dup & pc.fill_null(pc.not_equal(good["order_id"], ""), False).to_numpy(zero_copy_only=False)
        else:
            drop = np.zeros(n_good, dtype=bool)
        kept = good.filter(pa.array(~drop)) if drop.any() else good
        self.kept += len(kept)
        self.write(kept)


def _set_aside(checked: ir.Table, quarantined: list[str]) -> ir.Table:
    """The rows set aside in read order: `row`, their raw values as text (not the typed: a
    date out of range may not even convert), `reason`."""
    bad = checked.filter(checked[REASON].notnull()).order_by(ORDER)
    return bad.select(row=bad[ROW], **{c: bad[RAW + c] for c in quarantined}, reason=bad[REASON])


def _raise_bad_row(con, set_aside: ir.Table, quarantined, n_bad: int, settings: DataSettings, source: str):
    """data.on_bad_rows: fail, naming the first bad row's column and raw value."""
    first = con.to_pyarrow(set_aside.limit(1)).to_pylist()[0]
    column = first["reason"].split(":", 1)[0]
    value = first.get(column) if column in quarantined else None
    raise bad_rows_error(source, first["reason"], value, n_bad, settings, row=first["row"])


def _rejected_frame(rejected: pd.DataFrame, numbered: bool) -> pd.DataFrame:
    rejected = rejected.astype({c: "string" for c in rejected.columns if c != "row"})
    rejected["row"] = rejected["row"].astype("int64" if numbered else "Int64")
    return rejected


def _counts(totals: dict, n_good: int, n_distinct: int, n_kept: int, drop_duplicates) -> dict[str, int]:
    counts = row_counts(
        read=totals["read"],
        kept=n_kept,
        repeated_header=totals["header"],
        filtered=totals["filtered"],
        duplicates=n_good - n_kept,
        rejected=totals["bad"],
    )
    if drop_duplicates is not None:
        counts["possible_repeats"] = (n_good - n_distinct) - (n_good - n_kept)
    return counts


class _Persisted:
    """The checked table on Spark, persisted: it is read for the counts, the rows set aside
    and the rows kept. `release()` once the kept rows are written."""

    def __init__(self, con: ibis.BaseBackend, expr: ir.Table):
        self.frame = engine.to_spark(con, expr).persist()
        self.table = engine.register(con, self.frame)

    def release(self) -> None:
        if self.frame is not None:
            self.frame.unpersist()
            self.frame = None


def _repeated_header(t: ir.Table, names: dict[str, str]) -> Any:
    """Rows that repeat the header line: every field's raw value equals its column's name."""
    columns = list(names.values())
    if not all(t[c].type().is_string() for c in columns):
        return ibis.literal(False)  # a typed column holds no header text
    same = parsing.text(t[columns[0]]) == columns[0]
    for c in columns[1:]:
        same = same & (parsing.text(t[c]) == c)
    # Only rows whose first field holds its name are compared in full (a quick test: the
    # full one on every row took longer than the rest of the checks together).
    return ibis.ifelse(t[columns[0]].contains(columns[0]), same, False).fill_null(False)


def _counted_on_spark(src, cache, fields, settings, source, quarantined, status, drop_duplicates) -> Validated:
    """The Spark reading of the checked table, persisted: the counts, the rows set aside
    (collected: they are few, or the run fails first) and the kept rows, all lazy
    expressions until written."""
    con, cached = src.con, cache.table
    bad = cached[REASON].notnull()
    filtered = _filtered(cached, settings, status)
    aggregates = {"read": cached.count(), "header": cached[HEADER].sum(), "bad": bad.sum()}
    if status:
        aggregates["filtered"] = filtered.sum()
    totals = con.to_pyarrow(cached.aggregate(**aggregates)).to_pylist()[0]
    totals = {k: int(totals.get(k) or 0) for k in ("read", "header", "bad", "filtered")}
    if totals["read"] == 0:
        raise _no_rows_error(source, src.numbered)
    set_aside = _set_aside(cached, quarantined)
    if totals["bad"] and settings.on_bad_rows == "fail":
        _raise_bad_row(con, set_aside, quarantined, totals["bad"], settings, source)
    rejected = con.to_pyarrow(set_aside).to_pandas()
    warnings = []
    if status and totals["filtered"] == 0:
        good = cached.filter(~bad & ~cached[HEADER] & cached.status.notnull())
        top = con.to_pyarrow(
            good.group_by("status").aggregate(count=good.count()).order_by([ibis.desc("count"), "status"]).limit(5)
        ).to_pylist()
        warnings.append(status_matched_nothing(source, settings, [(r["status"], r["count"]) for r in top]))
    good = cached.filter(~bad & ~cached[HEADER] & ~filtered).select(*fields)
    kept, n_good, n_distinct, n_kept = _distinct_on_spark(con, good, fields, drop_duplicates)
    counts = _counts(totals, n_good, n_distinct, n_kept, drop_duplicates)
    return Validated(engine.to_spark(con, kept), _rejected_frame(rejected, src.numbered), counts, warnings, cache)


def _drops(drop_duplicates: str | None, has_order_id) -> str:
    """Which exact duplicates go: "all", "with_order_id" (auto: a row without an order id may
    be a real repeat purchase) or "none"."""
    if drop_duplicates in (None, "always"):
        return "all"
    return "with_order_id" if drop_duplicates == "auto" and has_order_id else "none"


def _distinct_on_spark(con, good: ir.Table, fields: list[str], drop_duplicates) -> tuple[ir.Table, int, int, int]:
    """The kept rows (lazy) and the counts of good, distinct and kept rows."""
    drops = _drops(drop_duplicates, "order_id" in fields)
    if drops == "all":
        kept = good.distinct()
    elif drops == "with_order_id":
        no_id = good.order_id.isnull() | (good.order_id == "")
        kept = good.filter(~no_id).distinct().union(good.filter(no_id), distinct=False)
    else:
        kept = good
    n_good, n_distinct = _count(con, good), _count(con, good.distinct())
    n_kept = {"all": n_distinct, "none": n_good}.get(drops) or _count(con, kept)
    return kept, n_good, n_distinct, n_kept


def _repeats_previous(table: pa.Table) -> np.ndarray:
    """True where a row equals the row before it in every column (missing equals missing)."""
    n = len(table)
    same = np.zeros(n, dtype=bool)
    if n < 2:
        return same
    rest = np.ones(n - 1, dtype=bool)
    for col in table.columns:
        now, before = col.slice(1), col.slice(0, n - 1)
        equal = pc.fill_null(pc.equal(now, before), False)
        both_missing = pc.and_(pc.is_null(now), pc.is_null(before))
        rest &= pc.or_(equal, both_missing).to_numpy(zero_copy_only=False)
    same[1:] = rest
    return same


def _count(con: ibis.BaseBackend, table: ir.Table) -> int:
    return int(con.to_pyarrow(table.aggregate(n=table.count())).to_pylist()[0]["n"])
