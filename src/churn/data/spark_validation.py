"""The ingest checks of data/validation.py, on Spark DataFrames (`engine: spark`).

The same column mapping, rules, reasons, bad-row policy, status filter and duplicate
removal as the single-node ingest, with the same row accounting; the rules and reason
texts come from data/validation.py. What differs, because the rows are never on one
machine:

- no row numbers: Parquet, Delta and catalog tables have no lines; errors name the
  source and the column, and quarantined rows have an empty `row`;
- "first" (the customers table's first occurrence of an id) is the order Spark reads
  the rows in, which for a Parquet file is the file's order;
- nothing else: daylight-saving changes in data.timezone are resolved alike (a naive
  time the clocks skip moves forward by the length of the gap, one they repeat takes the
  earlier offset, its first occurrence), and so are the status rule (case and
  surrounding spaces ignored), the duplicate rule (data.drop_duplicates) and the
  plausible date range (data.min_date, data.max_date).

Imported only with `engine: spark`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from churn.config import DataSettings
from churn.data.validation import (
    AMOUNT_NOT_A_NUMBER,
    AMOUNT_NOT_FINITE,
    CONFLICTING_ID,
    CONTACT_FIELDS,
    CONTACT_TEXT_FIELDS,
    CUSTOMER_TEXT_FIELDS,
    EVENT_FIELDS,
    LOYALTY_FLAGS,
    LOYALTY_NOT_A_FLAG,
    MISSING_EVENT_TYPE,
    MISSING_ID,
    NOT_A_DATE,
    OPTIONAL_TRANSACTION_FIELDS,
    SIGNUP_NOT_A_DATE,
    TRANSACTION_FIELDS,
    _missing_columns_error,
    amount_limit_reason,
    bad_rows_error,
    date_bounds,
    date_range_reason,
    duplicate_header_error,
    exclude_status_missing_error,
    excluded,
    row_counts,
    status_matched_nothing,
    timestamp_reason,
)
from churn.errors import ChurnError, InputError

REASON = "_reason"
ORDER = "_order"  # read order, for "first occurrence"


@dataclass
class SparkValidated:
    """The typed table (a lazy DataFrame), the rejected rows (few: collected, with `row`
    empty and `reason`), and the row counts. `release()` once the table is written."""

    table: DataFrame
    rejected: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)
    cached: DataFrame | None = None
    warnings: list[str] = field(default_factory=list)

    def release(self) -> None:
        if self.cached is not None:
            self.cached.unpersist()


def validate_transactions(raw: DataFrame, settings: DataSettings, source: str) -> SparkValidated:
    """validation.validate_transactions on Spark: customer_id (text), timestamp (UTC),
    amount (double), plus the mapped optional columns as text."""
    mapping = settings.columns.model_dump()
    _check_header(raw, source)
    missing = [mapping[f] for f in TRANSACTION_FIELDS if mapping[f] not in raw.columns]
    if missing:
        raise _missing_columns_error(source, raw, missing)
    if settings.exclude_status and (not settings.columns.status or settings.columns.status not in raw.columns):
        raise exclude_status_missing_error(source, settings, list(raw.columns))
    present = {
        f: mapping[f]
        for f in TRANSACTION_FIELDS + OPTIONAL_TRANSACTION_FIELDS
        if mapping.get(f) and mapping[f] in raw.columns
    }
    df = raw.select(*(F.col(_q(col)).alias(f) for f, col in present.items()))
    types = dict(df.dtypes)
    amount = _number(F.col("amount"), types["amount"])
    cols = {
        "customer_id": text(F.col("customer_id"), types["customer_id"]),
        "timestamp": timestamps(F.col("timestamp"), types["timestamp"], settings.timestamp_format, settings.timezone),
        "amount": amount,
    }
    for f in OPTIONAL_TRANSACTION_FIELDS:
        if f in present:
            cols[f] = text(F.col(f), types[f])
    rules = [
        (_blank(cols["customer_id"]), MISSING_ID),
        (cols["timestamp"].isNull(), timestamp_reason(settings.timestamp_format)),
        (_outside(cols["timestamp"], settings), date_range_reason(settings)),
        (amount.isNull() | F.isnan(amount), AMOUNT_NOT_A_NUMBER),
        (F.abs(amount) == float("inf"), AMOUNT_NOT_FINITE),
        (F.abs(amount) > settings.max_abs_amount, amount_limit_reason(settings.max_abs_amount)),
    ]
    return _finish(
        df,
        cols,
        rules,
        settings,
        source,
        status=bool(settings.exclude_status) and "status" in cols,
        drop_duplicates=settings.drop_duplicates,
    )


def validate_events(raw: DataFrame, settings: DataSettings, source: str) -> SparkValidated:
    """validation.validate_events on Spark: customer_id, timestamp, event_type (lower case)."""
    df = _required(raw, EVENT_FIELDS, source)
    types = dict(df.dtypes)
    etype = F.lower(text(F.col("event_type"), types["event_type"]))
    cols = {**_id_and_time(df, settings), "event_type": etype}
    rules = [*_id_and_time_rules(cols, settings), (_blank(etype), MISSING_EVENT_TYPE)]
    return _finish(df, cols, rules, settings, source)


def validate_contacts(raw: DataFrame, settings: DataSettings, source: str) -> SparkValidated:
    """validation.validate_contacts on Spark: customer_id, timestamp, channel and action as text."""
    df = _required(raw, CONTACT_FIELDS, source, optional=CONTACT_TEXT_FIELDS)
    types = dict(df.dtypes)
    cols = _id_and_time(df, settings)
    cols.update({c: text(F.col(c), types[c]) for c in CONTACT_TEXT_FIELDS if c in df.columns})
    return _finish(df, cols, _id_and_time_rules(cols, settings), settings, source)


def validate_customers(raw: DataFrame, settings: DataSettings, source: str) -> SparkValidated:
    """validation.validate_customers on Spark: customer_id (unique), signup_date,
    loyalty_member (boolean), tier and region."""
    df = _required(raw, ("customer_id",), source, optional=("signup_date", "loyalty_member", *CUSTOMER_TEXT_FIELDS))
    types = dict(df.dtypes)
    cols = {"customer_id": text(F.col("customer_id"), types["customer_id"])}
    rules = [(_blank(cols["customer_id"]), MISSING_ID)]
    if "signup_date" in df.columns:
        cols["signup_date"] = timestamps(F.col("signup_date"), types["signup_date"], None, settings.timezone)
        rules.append((cols["signup_date"].isNull() & F.col("signup_date").isNotNull(), SIGNUP_NOT_A_DATE))
        rules.append((_outside(cols["signup_date"], settings), date_range_reason(settings, "signup_date")))
    if "loyalty_member" in df.columns:
        flags = F.create_map(*(F.lit(x) for pair in LOYALTY_FLAGS.items() for x in pair))
        word = F.lower(text(F.col("loyalty_member"), types["loyalty_member"]))
        cols["loyalty_member"] = F.element_at(flags, word)
        rules.append((cols["loyalty_member"].isNull() & F.col("loyalty_member").isNotNull(), LOYALTY_NOT_A_FLAG))
    cols.update({c: text(F.col(c), types[c]) for c in CUSTOMER_TEXT_FIELDS if c in df.columns})
    # The same id again with other attributes is ambiguous (exact repeats are duplicates):
    # a later row of the id whose attributes no earlier row of it had.
    df = df.withColumn(ORDER, F.monotonically_increasing_id())
    first_of_id = F.min(ORDER).over(Window.partitionBy(cols["customer_id"]))
    first_of_row = F.min(ORDER).over(Window.partitionBy(*cols.values()))
    conflicting = cols["customer_id"].isNotNull() & (F.col(ORDER) != first_of_id) & (F.col(ORDER) == first_of_row)
    rules.append((conflicting, CONFLICTING_ID))
    return _finish(df, cols, rules, settings, source, raw_columns=[c for c in df.columns if c != ORDER])


def _q(name: str) -> str:
    """A column name as Spark must see it, whatever characters it holds."""
    return "`" + name.replace("`", "``") + "`"


def _check_header(raw: DataFrame, source: str) -> None:
    error = duplicate_header_error(source, raw.columns)
    if error is not None:
        raise error


def _outside(ts: Column, settings: DataSettings) -> Column:
    """A date outside data.min_date .. data.max_date (validation.date_bounds)."""
    lo, hi = (F.lit(b.strftime("%Y-%m-%d %H:%M:%S")).cast("timestamp_ntz") for b in date_bounds(settings))
    return ts.isNotNull() & ((ts < lo) | (ts >= hi))


def _required(raw: DataFrame, required: tuple[str, ...], source: str, optional: tuple[str, ...] = ()) -> DataFrame:
    _check_header(raw, source)
    missing = [c for c in required if c not in raw.columns]
    if missing:
        raise _missing_columns_error(source, raw, missing)
    return raw.select(*(F.col(_q(c)) for c in (*required, *optional) if c in raw.columns))


def _id_and_time(df: DataFrame, settings: DataSettings) -> dict[str, Column]:
    types = dict(df.dtypes)
    return {
        "customer_id": text(F.col("customer_id"), types["customer_id"]),
        "timestamp": timestamps(F.col("timestamp"), types["timestamp"], settings.timestamp_format, settings.timezone),
    }


def _id_and_time_rules(cols: dict[str, Column], settings: DataSettings) -> list[tuple[Column, str]]:
    return [
        (_blank(cols["customer_id"]), MISSING_ID),
        (cols["timestamp"].isNull(), NOT_A_DATE),
        (_outside(cols["timestamp"], settings), date_range_reason(settings)),
    ]


def _blank(col: Column) -> Column:
    return col.isNull() | (col == "")


def text(col: Column, dtype: str) -> Column:
    """Text without surrounding white space; whole numbers without ".0" (17.0 -> "17"),
    as io.read_table gives ids stored as numbers."""
    if dtype in ("float", "double"):
        whole = col.isNotNull() & ~F.isnan(col) & (col == F.floor(col))
        return F.when(whole, col.cast("bigint").cast("string")).when(~F.isnan(col), col.cast("string"))
    if dtype.startswith("decimal"):
        return F.when(col == F.floor(col), col.cast("bigint").cast("string")).otherwise(col.cast("string"))
    return F.regexp_replace(col.cast("string"), r"^\s+|\s+$", "")


def _number(col: Column, dtype: str) -> Column:
    """A double, or null where the value is not a number."""
    if dtype in ("tinyint", "smallint", "int", "bigint", "float", "double") or dtype.startswith("decimal"):
        return col.cast("double")
    return text(col, dtype).try_cast("double")


def timestamps(col: Column, dtype: str, fmt: str | None, timezone: str) -> Column:
    """Naive UTC timestamps (TIMESTAMP_NTZ), null where a value is not a date.

    Times without a zone are wall-clock times in `timezone` (data.timezone); times with
    one (Spark's TIMESTAMP, text with an offset) are instants. Text is ISO 8601 unless
    `fmt` (data.timestamp_format, strftime) says otherwise.
    """
    if dtype == "timestamp":  # an instant; the session is in UTC
        return col.cast("timestamp_ntz")
    if dtype == "timestamp_ntz":
        return _from_local(col, timezone)
    if dtype == "date":
        return _from_local(col.cast("timestamp_ntz"), timezone)
    if dtype != "string":
        return F.lit(None).cast("timestamp_ntz")
    s = F.regexp_replace(col, r"^\s+|\s+$", "")
    if fmt:
        parsed = F.try_to_timestamp(s, F.lit(java_pattern(fmt))).cast("timestamp_ntz")  # in the UTC session
        return parsed if "%z" in fmt or "%Z" in fmt else _from_local(parsed, timezone)
    zoned = s.rlike(r"(?i)\d:\d{2}(:\d{2}(\.\d+)?)?\s*(z|[+-]\d{2}(:?\d{2})?)$")  # a time, then an offset
    return F.when(zoned, s.try_cast("timestamp").cast("timestamp_ntz")).otherwise(
        _from_local(s.try_cast("timestamp_ntz"), timezone)
    )


def _from_local(local: Column, timezone: str) -> Column:
    if timezone == "UTC":
        return local
    return F.to_utc_timestamp(local, timezone).cast("timestamp_ntz")


_STRFTIME = {
    "Y": "yyyy", "y": "yy", "m": "MM", "d": "dd", "H": "HH", "I": "hh", "M": "mm", "S": "ss",
    "f": "SSSSSS", "p": "a", "b": "MMM", "B": "MMMM", "a": "EEE", "A": "EEEE", "j": "DDD",
    "z": "XX", "Z": "z", "%": "%",
}  # fmt: skip


def java_pattern(fmt: str) -> str:
    """A strftime format (data.timestamp_format) as Spark's datetime pattern:
    "%d/%m/%Y %H:%M" -> "dd/MM/yyyy HH:mm"."""
    out, literal, i = [], [], 0

    def flush() -> None:
        if literal:
            text_ = "".join(literal).replace("'", "''")
            out.append(f"'{text_}'" if any(ch.isalpha() or ch == "'" for ch in text_) else text_)
            literal.clear()

    while i < len(fmt):
        ch = fmt[i]
        if ch == "%" and i + 1 < len(fmt):
            directive = fmt[i + 1]
            if directive not in _STRFTIME:
                raise ChurnError(
                    f"data.timestamp_format: %{directive} is not supported with engine: spark "
                    f"(supported: {' '.join('%' + d for d in _STRFTIME)})"
                )
            flush()
            out.append(_STRFTIME[directive] if directive != "%" else "%")
            i += 2
            continue
        literal.append(ch)
        i += 1
    flush()
    return "".join(out)


def _finish(
    df: DataFrame,
    cols: dict[str, Column],
    rules: list[tuple[Column, str]],
    settings: DataSettings,
    source: str,
    *,
    status: bool = False,
    raw_columns: list[str] | None = None,
    drop_duplicates: str | None = None,
) -> SparkValidated:
    """Apply the rules (the first that holds is a row's reason), the bad-row policy, the
    status filter and duplicate removal; count everything, as validation._finish does."""
    raw_columns = raw_columns or list(df.columns)
    reason = F.coalesce(*(F.when(cond, F.lit(text_)) for cond, text_ in rules))
    checked = df.select(
        *(F.col(c).alias(f"_raw_{c}") for c in raw_columns),
        *(c.alias(n) for n, c in cols.items()),
        reason.alias(REASON),
    ).persist()  # read once for the counts, the rejected rows and the write
    bad = F.col(REASON).isNotNull()
    # A row without a status is never filtered; case and surrounding spaces do not count.
    filtered = (
        ~bad & F.coalesce(F.lower(F.col("status")).isin(excluded(settings)), F.lit(False)) if status else F.lit(False)
    )
    totals = checked.agg(
        F.count(F.lit(1)).alias("read"),
        F.count(F.when(bad, 1)).alias("bad"),
        F.count(F.when(filtered, 1)).alias("filtered"),
    ).first()
    if totals["read"] == 0:
        checked.unpersist()
        raise InputError(source, "has no data rows")
    if totals["bad"] and settings.on_bad_rows == "fail":
        first = checked.filter(bad).select(REASON, *(f"_raw_{c}" for c in raw_columns)).first()
        column = first[REASON].split(":", 1)[0]
        value = first[f"_raw_{column}"] if column in raw_columns else None
        checked.unpersist()
        raise bad_rows_error(source, first[REASON], value, totals["bad"], settings)
    rejected = (
        checked.filter(bad)
        .select(*(F.col(f"_raw_{c}").cast("string").alias(c) for c in raw_columns), F.col(REASON).alias("reason"))
        .toPandas()  # bad rows are few (or the run fails first): the driver holds them
    )
    rejected.insert(0, "row", pd.array([pd.NA] * len(rejected), dtype="Int64"))
    rejected = rejected.astype({c: "string" for c in rejected.columns if c != "row"})
    warnings = []
    if status and totals["filtered"] == 0:
        top = (
            checked.filter(~bad & F.col("status").isNotNull())
            .groupBy("status")
            .count()
            .orderBy(F.desc("count"), "status")
            .limit(5)
            .collect()
        )
        warnings.append(status_matched_nothing(source, settings, [(r["status"], r["count"]) for r in top]))
    good = checked.filter(~bad & ~filtered).select(*cols)
    if drop_duplicates in (None, "always"):
        kept = good.dropDuplicates()
    elif drop_duplicates == "auto" and "order_id" in cols:
        no_id = F.coalesce(F.col("order_id"), F.lit("")) == ""
        kept = good.filter(~no_id).dropDuplicates().unionByName(good.filter(no_id))
    else:
        kept = good
    n_kept = kept.count()
    counts = row_counts(
        read=totals["read"],
        kept=n_kept,
        repeated_header=0,  # a CSV quirk; CSV files go through the single-node ingest
        filtered=totals["filtered"],
        duplicates=totals["read"] - totals["bad"] - totals["filtered"] - n_kept,
        rejected=totals["bad"],
    )
    if drop_duplicates is not None:
        counts["possible_repeats"] = n_kept - (good.dropDuplicates().count() if drop_duplicates != "always" else n_kept)
    return SparkValidated(kept, rejected, counts, checked, warnings)


VALIDATORS = {
    "transactions": validate_transactions,
    "events": validate_events,
    "contacts": validate_contacts,
    "customers": validate_customers,
}
