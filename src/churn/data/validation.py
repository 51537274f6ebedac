"""Validate and type raw tables: every row is kept, filtered by a user rule, or rejected.

Pure: frames in, frames out. Row numbers in messages count the header as row 1, as a
spreadsheet shows them, so "row 7" is the seventh line of the CSV file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from churn import io
from churn.config import DataSettings
from churn.errors import InputError

TRANSACTION_FIELDS = ("customer_id", "timestamp", "amount")
OPTIONAL_TRANSACTION_FIELDS = ("order_id", "category", "channel", "status")
EVENT_FIELDS = ("customer_id", "timestamp", "event_type")
CUSTOMER_FIELDS = ("customer_id",)
CONTACT_FIELDS = ("customer_id", "timestamp")
CONTACT_TEXT_FIELDS = ("channel", "action", "campaign", "group")
CAMPAIGN_GROUPS = ("treatment", "control")
CUSTOMER_TEXT_FIELDS = ("tier", "region")

# Why a row is rejected: "<field>: <what is wrong>". The same words on every engine (the
# Spark ingest in data/spark_validation.py uses these too).
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


@dataclass
class Validated:
    """A typed table, the rows rejected (with `row` and `reason`), and the row counts."""

    table: pd.DataFrame
    rejected: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _missing_columns_error(source: str, raw: pd.DataFrame, missing: list[str]) -> InputError:
    found = ", ".join(map(str, raw.columns))
    hint = ""
    if len(raw.columns) == 1 and any(sep in str(raw.columns[0]) for sep in (";", "\t", "|")):
        hint = " The header looks like one column: is the file delimited by something other than a comma?"
    return InputError(
        source,
        f"missing required column(s) {', '.join(repr(m) for m in missing)}; found: {found}.{hint}",
        row=1,
        column=missing[0],
    )


# A UTC offset or Z at the end of a timestamp: "2024-03-01T10:00:00+01:00", "...Z".
_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"


def _parse_timestamps(
    values: pd.Series, fmt: str | None, timezone: str, bounds: tuple[pd.Timestamp, pd.Timestamp] = (EARLIEST, LATEST)
) -> pd.Series:
    """Parse to naive UTC (nanoseconds); unparseable values become NaT, and so do dates
    outside `bounds` (see _timestamps, which tells the two apart).

    A value with a UTC offset is that instant; a value without one is a wall-clock time
    in `timezone`. Exports that mix the two in one column are parsed value by value
    (pandas refuses a column of mixed offsets and naive times as a whole).
    """
    return _timestamps(values, fmt, timezone, bounds)[0]


def _timestamps(
    values: pd.Series, fmt: str | None, timezone: str, bounds: tuple[pd.Timestamp, pd.Timestamp]
) -> tuple[pd.Series, pd.Series]:
    """Naive UTC timestamps (nanoseconds; NaT where not a date or out of range) and the
    mask of dates outside [lo, hi). Parsed at microseconds first, so 9999-12-31 or
    0001-01-01 are dates out of range, never an overflow."""
    if pd.api.types.is_datetime64_any_dtype(values):  # typed already (Parquet): instants, or wall-clock times
        instants = values.dt.tz_convert("UTC") if values.dt.tz is not None else _localize(values, timezone)
    else:
        plain = _plain_iso(values) if fmt is None else None
        instants = None if plain is None else _localize(plain, timezone)
    if instants is not None:
        return _naive_utc_within(instants, bounds)
    text = _strip(values)
    zoned = text.str.contains(_OFFSET, regex=True, na=False)
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    outside = pd.Series(False, index=text.index)
    for part, with_offset in ((zoned, True), (~zoned, False)):
        if not part.any():
            continue
        every = bool(part.all())  # the usual case: no mask to apply, no values to copy
        parsed = _to_datetime(text if every else text[part], fmt, utc=with_offset)
        if parsed.dt.tz is None:
            parsed = _localize(parsed, timezone)
        utc, far = _naive_utc_within(parsed, bounds)
        if every:
            return utc, far
        outside[far[far].index] = True
        out[part] = utc
    return out, outside


def _naive_utc_within(instants: pd.Series, bounds: tuple[pd.Timestamp, pd.Timestamp]) -> tuple[pd.Series, pd.Series]:
    """Instants as naive UTC (nanoseconds), NaT outside [lo, hi), and the mask of those outside."""
    lo, hi = bounds
    utc = instants.dt.tz_convert("UTC").dt.tz_localize(None)
    far = utc.notna() & ((utc < lo) | (utc >= hi))
    return utc.mask(far).astype("datetime64[ns]"), far


def _plain_iso(values: pd.Series) -> pd.Series | None:
    """Naive timestamps (microseconds) when every value is a plain ISO 8601 date or date and
    time, with no offset and no surrounding spaces, else None. Arrow parses such a column
    several times faster than pandas; it accepts a strict subset of what pandas' ISO 8601
    parser does (tested), with the same instants, so anything else is left to pandas."""
    if not (pd.api.types.is_string_dtype(values) or values.dtype == object):
        return None
    try:
        parsed = pc.cast(pa.array(values.astype("string").array), pa.timestamp("us"))
    except (pa.ArrowException, TypeError):
        return None
    return pd.Series(parsed.to_numpy(zero_copy_only=False), index=values.index, dtype="datetime64[us]")


def _localize(naive: pd.Series, timezone: str) -> pd.Series:
    """Wall-clock times in `timezone` as instants. Daylight saving: a repeated hour is its
    first occurrence (the earlier offset); a skipped one is moved forward by the length of
    the gap (02:30 in a one-hour gap is 03:30), as java.time and so the Spark ingest do."""
    if timezone == "UTC":
        return naive.dt.tz_localize("UTC")
    first = np.ones(len(naive), dtype=bool)  # True: the daylight-saving (first) occurrence
    local = naive.dt.tz_localize(timezone, ambiguous=first, nonexistent="NaT")
    gap = local.isna() & naive.notna()
    if gap.any():
        # In a gap, the offset in force before it applies: UTC = wall clock - that offset.
        before = (naive[gap] - pd.Timedelta(days=1)).dt.tz_localize(
            timezone, ambiguous=np.ones(int(gap.sum()), dtype=bool), nonexistent="shift_forward"
        )
        offset = before.dt.tz_localize(None) - before.dt.tz_convert("UTC").dt.tz_localize(None)
        local[gap] = (naive[gap] - offset).dt.tz_localize("UTC").dt.tz_convert(timezone)
    return local


def _to_datetime(text: pd.Series, fmt: str | None, utc: bool) -> pd.Series:
    return pd.to_datetime(text, format=fmt or "ISO8601", errors="coerce", utc=utc)


def _reject(reasons: pd.Series, mask: pd.Series, reason: str) -> None:
    """Record the first reason for each newly bad row."""
    new = mask & reasons.isna()
    reasons[new] = reason


def validate_transactions(raw: pd.DataFrame, settings: DataSettings, source: str) -> Validated:
    """Map, type and check a raw transaction table.

    Output columns: customer_id (text), timestamp (naive UTC), amount (float; negative =
    refund), plus any of order_id, category, channel, status that are mapped and present.
    """
    mapping = settings.columns.model_dump()
    _check_header(raw, source)
    missing = [mapping[f] for f in TRANSACTION_FIELDS if mapping[f] not in raw.columns]
    if missing:
        raise _missing_columns_error(source, raw, missing)
    if settings.exclude_status and (not settings.columns.status or settings.columns.status not in raw.columns):
        raise exclude_status_missing_error(source, settings, list(raw.columns))
    _require_rows(raw, source)
    present = {
        f: mapping[f]
        for f in TRANSACTION_FIELDS + OPTIONAL_TRANSACTION_FIELDS
        if mapping.get(f) and mapping[f] in raw.columns
    }
    df = raw[list(present.values())].rename(columns={v: k for k, v in present.items()})
    df.index = _row_numbers(raw)
    reasons = pd.Series(pd.NA, index=df.index, dtype="object")
    repeated_header = _repeated_header(df, present)

    cid = _strip(df["customer_id"])
    _reject(reasons, cid.isna() | (cid == ""), MISSING_ID)
    ts, outside = _timestamps(df["timestamp"], settings.timestamp_format, settings.timezone, date_bounds(settings))
    _reject(reasons, outside, date_range_reason(settings))
    _reject(reasons, ts.isna(), timestamp_reason(settings.timestamp_format))
    amount = df["amount"]
    if pd.api.types.is_numeric_dtype(amount) and not pd.api.types.is_bool_dtype(amount):
        amount = amount.astype("float64")  # already parsed as numbers: the same floats without a text round trip
    else:
        amount = _numbers(amount)
    _reject(reasons, amount.isna(), AMOUNT_NOT_A_NUMBER)
    _reject(reasons, ~np.isfinite(amount.fillna(0.0)), AMOUNT_NOT_FINITE)
    _reject(reasons, amount.abs() > settings.max_abs_amount, amount_limit_reason(settings.max_abs_amount))

    table = pd.DataFrame({"customer_id": cid, "timestamp": ts, "amount": amount}, index=df.index)
    for f in OPTIONAL_TRANSACTION_FIELDS:
        if f in df.columns:
            table[f] = _strip(df[f])
    return _finish(table, df, reasons, settings, source, repeated_header, drop_duplicates=settings.drop_duplicates)


def _numbers(values: pd.Series) -> pd.Series:
    """Text as numbers (float64), NaN where a value is not one. Arrow parses a column of
    valid numbers several times faster than pandas; where it refuses a value, or would give
    -0.0 for an integer "-0" (pandas gives 0.0), pandas parses the column, as before."""
    text = _strip(values)
    try:
        parsed = pc.cast(pa.array(text.array), pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowException, TypeError):
        parsed = None
    if parsed is not None and not (np.signbit(parsed) & (parsed == 0)).any():
        return pd.Series(parsed, index=values.index, dtype="float64")
    return pd.to_numeric(text, errors="coerce").astype("float64")


def _strip(values: pd.Series) -> pd.Series:
    """Text without surrounding white space. The column itself when no value has any (the
    usual case): no second copy of a large text column."""
    text = values.astype("string")
    if not isinstance(text.array, pd.arrays.ArrowStringArray):
        return text.str.strip()
    arr = pa.array(text.array)
    if not any(_may_have_edge_space(chunk) for chunk in getattr(arr, "chunks", [arr])):
        return text
    trimmed = pc.utf8_trim_whitespace(arr)
    if pc.all(pc.equal(arr, trimmed)).as_py() in (True, None):
        return text
    return pd.Series(pd.arrays.ArrowStringArray(trimmed), index=text.index, name=text.name)


_ASCII_SPACE = np.zeros(256, dtype=bool)
_ASCII_SPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True  # white space below 128 (a superset, to be safe)
_ASCII_SPACE[128:] = True  # a multi-byte character might be a Unicode space: look closer


def _may_have_edge_space(chunk: pa.Array) -> bool:
    """Whether any value of a chunk of text starts or ends with a byte that could be white
    space: read from the chunk's buffers, without building a single string."""
    if len(chunk) == 0 or chunk.null_count == len(chunk):
        return False
    _, offsets, data = chunk.buffers()
    width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    bounds = np.frombuffer(offsets, dtype=width, count=len(chunk) + 1, offset=chunk.offset * np.dtype(width).itemsize)
    starts, ends = bounds[:-1], bounds[1:]
    present = ends > starts  # empty strings and nulls have no edges
    if chunk.null_count:
        present &= chunk.is_valid().to_numpy(zero_copy_only=False)
    if not present.any():
        return False
    raw = np.frombuffer(data, dtype=np.uint8)
    return bool(_ASCII_SPACE[raw[starts[present]]].any() or _ASCII_SPACE[raw[ends[present] - 1]].any())


def _row_numbers(raw: pd.DataFrame) -> pd.Index:
    """Spreadsheet row numbers (header = 1): the index inputs.raw sets when a CSV file has
    blank lines (pandas skips them; a spreadsheet shows them), else 2, 3, ..."""
    if raw.index.name == "row" and len(raw.index) == len(raw):
        return pd.Index(raw.index.to_numpy(dtype="int64"), name="row")
    return pd.RangeIndex(2, len(raw) + 2, name="row")


def _check_header(raw: pd.DataFrame, source: str) -> None:
    error = duplicate_header_error(source, raw.columns)
    if error is not None:
        raise error


def _require_rows(raw: pd.DataFrame, source: str) -> None:
    if raw.empty:
        raise InputError(source, "has a header row but no data rows", row=2)


def _repeated_header(df: pd.DataFrame, names: dict[str, str]) -> pd.Series:
    """Rows that repeat the header line (concatenated exports): every field equals its column name."""
    mask = pd.Series(True, index=df.index)
    for name, column in names.items():
        values = df[name]
        if not (pd.api.types.is_string_dtype(values) or values.dtype == object):
            return pd.Series(False, index=df.index)  # a parsed number or date column holds no header text
        text = values.astype("string")
        if (
            isinstance(text.array, pd.arrays.ArrowStringArray)
            and not pc.any(pc.match_substring(pa.array(text.array), column)).as_py()
        ):
            return pd.Series(False, index=df.index)  # no value even contains the name: a quick answer
        mask &= _strip(text).eq(column).fillna(False)
        if not mask.any():
            break
    return mask


def _finish(
    table,
    raw_mapped,
    reasons,
    settings: DataSettings,
    source: str,
    repeated_header: pd.Series | None = None,
    drop_duplicates: str | None = None,
) -> Validated:
    """Apply the bad-row policy, the status filter and duplicate removal; count everything.

    Repeated header lines are dropped and counted, never reported as bad rows. Exact
    duplicates are dropped per `drop_duplicates`: data.drop_duplicates for transactions
    (auto drops only rows that carry an order id; those kept are counted as
    `possible_repeats`, beside the accounting of the rows read), None for the other tables
    (always dropped).
    """
    if repeated_header is None:
        repeated_header = pd.Series(False, index=table.index)
    reasons = reasons.mask(repeated_header)
    table, raw_mapped, reasons = table[~repeated_header], raw_mapped[~repeated_header], reasons[~repeated_header]
    bad = reasons.notna()
    if bad.any() and settings.on_bad_rows == "fail":
        row = int(bad.idxmax())
        reason = str(reasons[row])
        column = reason.split(":", 1)[0]
        value = raw_mapped.loc[row, column] if column in raw_mapped.columns else None
        if isinstance(value, pd.Series):  # a row number given twice cannot happen, but never crash on it
            value = value.iloc[0]
        raise bad_rows_error(source, reason, value, int(bad.sum()), settings, row=row)
    rows = raw_mapped[bad] if bad.any() else raw_mapped.iloc[:0]  # a mask copies every column, even to keep none
    rejected = rows.astype("string").assign(reason=reasons[bad].astype("string")).reset_index()
    good = table[~bad] if bad.any() else table  # a boolean mask copies every column, even when it keeps all
    filtered = pd.Series(False, index=good.index)
    warnings = []
    if "status" in good.columns and settings.exclude_status:
        status = good["status"]  # stripped with the other text columns
        codes, values = pd.factorize(status)  # a handful of statuses: compare each once, not every row
        hit = np.append(pd.Series(values, dtype="string").str.lower().isin(excluded(settings)).to_numpy(bool), False)
        filtered = pd.Series(hit[codes], index=good.index)  # code -1 (missing) reads the appended False
        if not filtered.any():
            top = status.value_counts(dropna=True).rename_axis("value").reset_index()
            top = top.sort_values(["count", "value"], ascending=[False, True], kind="stable").head(5)
            warnings.append(status_matched_nothing(source, settings, list(zip(top["value"], top["count"]))))
    # Sorted by every column (the output does not depend on the input's row order), exact
    # duplicates are neighbours: a row equal to the one before it repeats it.
    ordered = _sorted_by_every_column(good, keep=~filtered.to_numpy(bool))
    dup = _repeats_previous(ordered)
    if drop_duplicates in (None, "always"):
        drop = dup
    elif drop_duplicates == "auto" and "order_id" in ordered.column_names:
        drop = dup & pc.fill_null(pc.not_equal(ordered["order_id"], ""), False).to_numpy(zero_copy_only=False)
    else:
        drop = np.zeros(len(ordered), dtype=bool)
    kept = _to_pandas(ordered.filter(pa.array(~drop)) if drop.any() else ordered, good.dtypes)
    del ordered
    counts = row_counts(
        read=len(table) + repeated_header.sum(),
        kept=len(kept),
        repeated_header=repeated_header.sum(),
        filtered=filtered.sum(),
        duplicates=drop.sum(),
        rejected=bad.sum(),
    )
    if drop_duplicates is not None:
        counts["possible_repeats"] = int((dup & ~drop).sum())
    return Validated(kept, rejected, counts, warnings)


def _sorted_by_every_column(frame: pd.DataFrame, keep: np.ndarray) -> pa.Table:
    """frame[keep] sorted by every column, ascending, missing values last, as an Arrow table.

    DuckDB sorts (over twice as fast as Arrow's sort_indices and a pandas take on ten million
    rows); the frame's columns reach it without a copy, and its working memory is capped
    (SORT_MEMORY, spilling to a private temporary directory) so the sort adds little to the
    table itself. The order is total: rows it cannot tell apart are equal in every column."""
    import duckdb

    table = pa.Table.from_pandas(frame, preserve_index=False).append_column(_KEEP, pa.array(keep))
    columns = [_quoted(c) for c in frame.columns]
    order = ", ".join(f"{c} ASC NULLS LAST" for c in columns)
    spill = str(io.spill_directory())
    con = duckdb.connect(config={"memory_limit": SORT_MEMORY, "temp_directory": spill, "arrow_large_buffer_size": True})
    try:
        con.register("rows", table)
        query = f"SELECT {', '.join(columns)} FROM rows WHERE {_KEEP} ORDER BY {order}"
        return con.sql(query).to_arrow_reader(1 << 20).read_all()  # batches: no second full copy
    finally:
        con.close()


SORT_MEMORY = "256MB"
_KEEP = "_churn_keep"


def _quoted(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _to_pandas(table: pa.Table, dtypes: pd.Series) -> pd.DataFrame:
    """The Arrow table as a frame with the validated dtypes (text stays Arrow-backed)."""
    frame = table.to_pandas(types_mapper=_PANDAS_TYPES.get, self_destruct=True)
    return frame.astype(dtypes.to_dict(), copy=False)


_PANDAS_TYPES = {
    pa.string(): pd.StringDtype("pyarrow"),
    pa.large_string(): pd.StringDtype("pyarrow"),
    pa.string_view(): pd.StringDtype("pyarrow"),
    pa.bool_(): pd.BooleanDtype(),
}


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


def _rows(raw: pd.DataFrame, required: tuple[str, ...], source: str) -> tuple[pd.DataFrame, pd.Series]:
    """The table with spreadsheet row numbers as index, and an empty reason per row;
    refuses missing columns and a header without rows."""
    _check_header(raw, source)
    missing = [c for c in required if c not in raw.columns]
    if missing:
        raise _missing_columns_error(source, raw, missing)
    _require_rows(raw, source)
    df = raw.copy()
    df.index = _row_numbers(raw)
    return df, pd.Series(pd.NA, index=df.index, dtype="object")


def _id_and_time(df: pd.DataFrame, settings: DataSettings, reasons: pd.Series) -> tuple[pd.Series, pd.Series]:
    """customer_id as stripped text and timestamp as naive UTC, rejecting blanks and non-dates."""
    cid = _strip(df["customer_id"])
    _reject(reasons, cid.isna() | (cid == ""), MISSING_ID)
    ts, outside = _timestamps(df["timestamp"], settings.timestamp_format, settings.timezone, date_bounds(settings))
    _reject(reasons, outside, date_range_reason(settings))
    _reject(reasons, ts.isna(), NOT_A_DATE)
    return cid, ts


def validate_events(raw: pd.DataFrame, settings: DataSettings, source: str) -> Validated:
    """Type an engagement-events table: customer_id (text), timestamp (naive UTC), event_type."""
    df, reasons = _rows(raw, EVENT_FIELDS, source)
    df = df[list(EVENT_FIELDS)]
    cid, ts = _id_and_time(df, settings, reasons)
    etype = _strip(df["event_type"]).str.lower()
    _reject(reasons, etype.isna() | (etype == ""), MISSING_EVENT_TYPE)
    table = pd.DataFrame({"customer_id": cid, "timestamp": ts, "event_type": etype}, index=df.index)
    no_status = settings.model_copy(update={"exclude_status": []})
    return _finish(table, df, reasons, no_status, source, _repeated_header(df, {c: c for c in EVENT_FIELDS}))


def validate_contacts(raw: pd.DataFrame, settings: DataSettings, source: str) -> Validated:
    """Type a contacts table (past retention contacts): customer_id (text), timestamp
    (naive UTC), plus channel, action, campaign and group as text when present. A row of a
    campaign names its group (treatment | control, any case); a control row's action is the
    one held back."""
    df, reasons = _rows(raw, CONTACT_FIELDS, source)
    cid, ts = _id_and_time(df, settings, reasons)
    table = pd.DataFrame({"customer_id": cid, "timestamp": ts}, index=df.index)
    for col in CONTACT_TEXT_FIELDS:
        if col in df.columns:
            table[col] = _strip(df[col]).replace("", pd.NA)
    if "group" in table.columns:
        table["group"] = table["group"].str.lower()
        in_campaign = table["campaign"].notna() if "campaign" in table.columns else table["group"].notna()
        _reject(reasons, in_campaign & ~table["group"].isin(CAMPAIGN_GROUPS).fillna(False), GROUP_NOT_KNOWN)
    no_status = settings.model_copy(update={"exclude_status": []})
    return _finish(table, df, reasons, no_status, source, _repeated_header(df, {c: c for c in CONTACT_FIELDS}))


def validate_customers(raw: pd.DataFrame, settings: DataSettings, source: str) -> Validated:
    """Type a customers table: customer_id (text, unique) plus static attributes.

    Recognised attributes: signup_date (date), loyalty_member (true/false/1/0/yes/no),
    tier and region (text). Other columns are ignored.
    """
    _check_header(raw, source)
    if "customer_id" not in raw.columns:
        raise _missing_columns_error(source, raw, ["customer_id"])
    _require_rows(raw, source)
    df = raw.copy()
    df.index = _row_numbers(raw)
    reasons = pd.Series(pd.NA, index=df.index, dtype="object")
    repeated_header = _repeated_header(df, {"customer_id": "customer_id"})
    cid = _strip(df["customer_id"])
    _reject(reasons, cid.isna() | (cid == ""), MISSING_ID)
    table = pd.DataFrame({"customer_id": cid}, index=df.index)
    if "signup_date" in df.columns:
        signup, outside = _timestamps(df["signup_date"], None, settings.timezone, date_bounds(settings))
        _reject(reasons, outside, date_range_reason(settings, "signup_date"))
        _reject(reasons, signup.isna() & df["signup_date"].notna(), SIGNUP_NOT_A_DATE)
        table["signup_date"] = signup
    if "loyalty_member" in df.columns:
        flag = _strip(df["loyalty_member"]).str.lower().map(LOYALTY_FLAGS)
        _reject(reasons, flag.isna() & df["loyalty_member"].notna(), LOYALTY_NOT_A_FLAG)
        table["loyalty_member"] = flag.astype("boolean")
    for col in CUSTOMER_TEXT_FIELDS:
        if col in df.columns:
            table[col] = _strip(df[col])
    # Exact repeats are dropped as duplicates later; the same id with other attributes is ambiguous.
    conflicting = cid.duplicated(keep="first") & ~table.duplicated(keep="first") & cid.notna()
    _reject(reasons, conflicting, CONFLICTING_ID)
    no_status = settings.model_copy(update={"exclude_status": []})
    return _finish(table, df, reasons, no_status, source, repeated_header)
