"""Validate and type raw tables: every row is kept, filtered by a user rule, or rejected.

Pure: frames in, frames out. Row numbers in messages count the header as row 1, as a
spreadsheet shows them, so "row 7" is the seventh line of the CSV file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

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
LOYALTY_FLAGS = {"true": True, "1": True, "yes": True, "y": True, "false": False, "0": False, "no": False, "n": False}


def timestamp_reason(fmt: str | None) -> str:
    return f"{NOT_A_DATE} ({fmt or ISO_DATES})"


def date_range(settings: DataSettings) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[earliest, latest) instants a timestamp may take: data.min_date to data.max_date
    (default: tomorrow, UTC) inclusive. A sentinel such as 9999-12-31 or a typo such as
    1900-01-01 would otherwise move the scoring day or the report's first month."""
    latest = settings.max_date or (pd.Timestamp.now(tz="UTC").date() + dt.timedelta(days=1))
    return pd.Timestamp(settings.min_date), pd.Timestamp(latest) + pd.Timedelta(days=1)


def date_range_reason(settings: DataSettings) -> str:
    earliest, latest = date_range(settings)
    last = (latest - pd.Timedelta(days=1)).date()
    return f"timestamp: outside the plausible dates {earliest.date()} to {last} (data.min_date, data.max_date)"


def amount_limit_reason(max_abs_amount: float) -> str:
    return f"amount: beyond +/-{max_abs_amount:g} (data.max_abs_amount)"


def bad_rows_error(
    source: str, reason: str, value, n_bad: int, settings: DataSettings, row: int | None = None
) -> InputError:
    """The error for data.on_bad_rows: fail, naming the first bad row's column (as the user
    calls it) and value, and how many rows are bad in all."""
    column = reason.split(":", 1)[0]
    return InputError(
        source,
        f"{reason.split(': ', 1)[-1]}, got {value!r} ({n_bad} bad row(s) in all; "
        "set data.on_bad_rows: quarantine to set them aside instead)",
        row=row,
        column=settings.columns.model_dump().get(column, column) or column,
    )


def row_counts(
    *,
    read: int,
    kept: int,
    repeated_header: int,
    filtered: int,
    duplicates: int,
    rejected: int,
    possible_repeats: int = 0,
) -> dict[str, int]:
    """The ingest report of one table: every row read is in exactly one of the `rows_*`
    counts; `possible_repeats` are exact duplicates that were kept (part of rows_kept)."""
    counts = {
        "rows_read": int(read),
        "rows_kept": int(kept),
        "rows_repeated_header": int(repeated_header),
        "rows_filtered_status": int(filtered),
        "rows_duplicate_dropped": int(duplicates),
        "rows_rejected": int(rejected),
    }
    assert sum(v for k, v in counts.items() if k != "rows_read") == counts["rows_read"]
    counts["possible_repeats"] = int(possible_repeats)
    return counts


def drops_duplicates(settings: DataSettings, has_order_id: bool) -> bool:
    """Whether exact duplicate transaction rows are dropped (`data.drop_duplicates`): `auto`
    drops them only when the rows carry an order id, since without one two same-day
    purchases of the same amount are real repeats (as the BTYD reference keeps them)."""
    return settings.drop_duplicates == "always" or (settings.drop_duplicates == "auto" and has_order_id)


def excluded_status(values: pd.Series, exclude: list[str]) -> pd.Series:
    """Rows whose status is listed in `data.exclude_status`, matched ignoring case and
    surrounding spaces ("cancelled " is "Cancelled"); a row without a status never matches."""
    wanted = {v.strip().casefold() for v in exclude}
    return values.astype("string").str.strip().str.casefold().isin(wanted).fillna(False)


def check_status_mapping(settings: DataSettings, columns, source: str) -> None:
    """`data.exclude_status` set without a status column to read would silently filter nothing."""
    if not settings.exclude_status:
        return
    mapped = settings.columns.status
    if mapped is None:
        raise InputError(
            source,
            f"data.exclude_status is set ({', '.join(settings.exclude_status)}) but no status column is "
            "mapped (data.columns.status is null): map your status column, or set data.exclude_status: []",
        )
    if mapped not in set(columns):
        raise InputError(
            source,
            f"data.exclude_status is set ({', '.join(settings.exclude_status)}) but the status column "
            f"data.columns.status = '{mapped}' is not in the file; found: {', '.join(map(str, columns))}",
            column=mapped,
        )


def status_warning(values: pd.Series, settings: DataSettings, filtered: int) -> str | None:
    """A warning when data.exclude_status matched no row, naming the statuses the file has."""
    if not settings.exclude_status or filtered:
        return None
    counts = values.astype("string").str.strip().value_counts().sort_index()
    top = counts.sort_values(ascending=False, kind="stable").head(5)  # most common first, ties by value
    seen = ", ".join(f"{v!s} ({n:,})" for v, n in top.items()) or "none"
    return f"data.exclude_status ({', '.join(settings.exclude_status)}) matched no row; the status column holds: {seen}"


@dataclass
class Validated:
    """A typed table, the rows rejected (with `row` and `reason`), the row counts, and what
    to tell the user (e.g. a status filter that matched nothing)."""

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
    values: pd.Series, fmt: str | None, timezone: str, bounds: tuple[pd.Timestamp, pd.Timestamp] | None = None
) -> tuple[pd.Series, pd.Series]:
    """Parse to naive UTC: (timestamps, outside `bounds`); unparseable values and values
    outside the [earliest, latest) `bounds` become NaT, the latter flagged.

    A value with a UTC offset is that instant; a value without one is a wall-clock time
    in `timezone`. Exports that mix the two in one column are parsed value by value
    (pandas refuses a column of mixed offsets and naive times as a whole). Dates beyond
    what nanoseconds hold (0001-01-01, 9999-12-31) parse at a coarser unit and are
    bounded before they become nanoseconds, so they are rejected, never a crash.
    """
    text = values.astype("string").str.strip()
    zoned = text.str.contains(_OFFSET, regex=True, na=False)
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    outside = pd.Series(False, index=text.index)
    earliest, latest = bounds or (pd.Timestamp("1678-01-01"), pd.Timestamp("2262-01-01"))

    def place(mask: pd.Series, parsed: pd.Series) -> None:
        bad = ((parsed < earliest) | (parsed >= latest)).fillna(False)
        outside[mask] = bad.to_numpy()
        out[mask] = parsed.where(~bad).dt.as_unit("ns")

    if zoned.any():
        place(zoned, _to_datetime(text[zoned], fmt, utc=True).dt.tz_localize(None))
    if (~zoned).any():
        parsed = _to_datetime(text[~zoned], fmt, utc=False)
        if parsed.dt.tz is None:
            parsed = parsed.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="shift_forward")
        place(~zoned, parsed.dt.tz_convert("UTC").dt.tz_localize(None))
    return out, outside


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
    missing = [mapping[f] for f in TRANSACTION_FIELDS if mapping[f] not in raw.columns]
    if missing:
        raise _missing_columns_error(source, raw, missing)
    check_status_mapping(settings, raw.columns, source)
    _require_rows(raw, source)
    present = {
        f: mapping[f]
        for f in TRANSACTION_FIELDS + OPTIONAL_TRANSACTION_FIELDS
        if mapping.get(f) and mapping[f] in raw.columns
    }
    df = raw[list(present.values())].rename(columns={v: k for k, v in present.items()})
    df.index = pd.RangeIndex(2, len(df) + 2, name="row")
    reasons = pd.Series(pd.NA, index=df.index, dtype="object")
    repeated_header = _repeated_header(df, present)

    cid = df["customer_id"].astype("string").str.strip()
    _reject(reasons, cid.isna() | (cid == ""), MISSING_ID)
    ts, outside = _parse_timestamps(df["timestamp"], settings.timestamp_format, settings.timezone, date_range(settings))
    _reject(reasons, outside, date_range_reason(settings))
    _reject(reasons, ts.isna(), timestamp_reason(settings.timestamp_format))
    amount = pd.to_numeric(df["amount"].astype("string").str.strip(), errors="coerce").astype("float64")
    _reject(reasons, amount.isna(), AMOUNT_NOT_A_NUMBER)
    _reject(reasons, ~np.isfinite(amount.fillna(0.0)), AMOUNT_NOT_FINITE)
    _reject(reasons, amount.abs() > settings.max_abs_amount, amount_limit_reason(settings.max_abs_amount))

    table = pd.DataFrame({"customer_id": cid, "timestamp": ts, "amount": amount}, index=df.index)
    for f in OPTIONAL_TRANSACTION_FIELDS:
        if f in df.columns:
            table[f] = df[f].astype("string").str.strip()
    drop = drops_duplicates(settings, "order_id" in table.columns)
    return _finish(table, df, reasons, settings, source, repeated_header, drop_duplicates=drop)


def _require_rows(raw: pd.DataFrame, source: str) -> None:
    if raw.empty:
        raise InputError(source, "has a header row but no data rows", row=2)


def _repeated_header(df: pd.DataFrame, names: dict[str, str]) -> pd.Series:
    """Rows that repeat the header line (concatenated exports): every field equals its column name."""
    mask = pd.Series(True, index=df.index)
    for name, column in names.items():
        mask &= df[name].astype("string").str.strip().eq(column).fillna(False)
    return mask


def _finish(
    table,
    raw_mapped,
    reasons,
    settings: DataSettings,
    source: str,
    repeated_header: pd.Series | None = None,
    *,
    drop_duplicates: bool = True,
) -> Validated:
    """Apply the bad-row policy, the status filter and duplicate removal (or, with
    `drop_duplicates` off, count exact duplicates as possible repeats); count everything.

    Repeated header lines are dropped and counted, never reported as bad rows.
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
        raise bad_rows_error(source, reason, value, int(bad.sum()), settings, row=row)
    rejected = raw_mapped[bad].astype("string").assign(reason=reasons[bad].astype("string"))
    rejected = rejected.reset_index()
    good = table[~bad]
    filtered = pd.Series(False, index=good.index)
    warnings = []
    if "status" in good.columns and settings.exclude_status:
        filtered = excluded_status(good["status"], settings.exclude_status)
        warning = status_warning(good["status"], settings, int(filtered.sum()))
        warnings += [warning] if warning else []
    kept = good[~filtered]
    repeats = kept.duplicated(keep="first")
    dup = repeats if drop_duplicates else pd.Series(False, index=kept.index)
    kept = kept[~dup]
    kept = kept.sort_values(list(kept.columns), kind="stable").reset_index(drop=True)
    counts = row_counts(
        read=len(table) + repeated_header.sum(),
        kept=len(kept),
        repeated_header=repeated_header.sum(),
        filtered=filtered.sum(),
        duplicates=dup.sum(),
        rejected=bad.sum(),
        possible_repeats=0 if drop_duplicates else repeats.sum(),
    )
    return Validated(kept, rejected, counts, warnings)


def _rows(raw: pd.DataFrame, required: tuple[str, ...], source: str) -> tuple[pd.DataFrame, pd.Series]:
    """The table with spreadsheet row numbers as index, and an empty reason per row;
    refuses missing columns and a header without rows."""
    missing = [c for c in required if c not in raw.columns]
    if missing:
        raise _missing_columns_error(source, raw, missing)
    _require_rows(raw, source)
    df = raw.copy()
    df.index = pd.RangeIndex(2, len(df) + 2, name="row")
    return df, pd.Series(pd.NA, index=df.index, dtype="object")


def _id_and_time(df: pd.DataFrame, settings: DataSettings, reasons: pd.Series) -> tuple[pd.Series, pd.Series]:
    """customer_id as stripped text and timestamp as naive UTC, rejecting blanks and non-dates."""
    cid = df["customer_id"].astype("string").str.strip()
    _reject(reasons, cid.isna() | (cid == ""), MISSING_ID)
    ts, outside = _parse_timestamps(df["timestamp"], settings.timestamp_format, settings.timezone, date_range(settings))
    _reject(reasons, outside, date_range_reason(settings))
    _reject(reasons, ts.isna(), NOT_A_DATE)
    return cid, ts


def validate_events(raw: pd.DataFrame, settings: DataSettings, source: str) -> Validated:
    """Type an engagement-events table: customer_id (text), timestamp (naive UTC), event_type."""
    df, reasons = _rows(raw, EVENT_FIELDS, source)
    df = df[list(EVENT_FIELDS)]
    cid, ts = _id_and_time(df, settings, reasons)
    etype = df["event_type"].astype("string").str.strip().str.lower()
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
            table[col] = df[col].astype("string").str.strip().replace("", pd.NA)
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
    if "customer_id" not in raw.columns:
        raise _missing_columns_error(source, raw, ["customer_id"])
    _require_rows(raw, source)
    df = raw.copy()
    df.index = pd.RangeIndex(2, len(df) + 2, name="row")
    reasons = pd.Series(pd.NA, index=df.index, dtype="object")
    repeated_header = _repeated_header(df, {"customer_id": "customer_id"})
    cid = df["customer_id"].astype("string").str.strip()
    _reject(reasons, cid.isna() | (cid == ""), MISSING_ID)
    table = pd.DataFrame({"customer_id": cid}, index=df.index)
    if "signup_date" in df.columns:
        signup, _ = _parse_timestamps(df["signup_date"], None, settings.timezone)
        _reject(reasons, signup.isna() & df["signup_date"].notna(), SIGNUP_NOT_A_DATE)
        table["signup_date"] = signup
    if "loyalty_member" in df.columns:
        flag = df["loyalty_member"].astype("string").str.strip().str.lower().map(LOYALTY_FLAGS)
        _reject(reasons, flag.isna() & df["loyalty_member"].notna(), LOYALTY_NOT_A_FLAG)
        table["loyalty_member"] = flag.astype("boolean")
    for col in CUSTOMER_TEXT_FIELDS:
        if col in df.columns:
            table[col] = df[col].astype("string").str.strip()
    # Exact repeats are dropped as duplicates later; the same id with other attributes is ambiguous.
    conflicting = cid.duplicated(keep="first") & ~table.duplicated(keep="first") & cid.notna()
    _reject(reasons, conflicting, CONFLICTING_ID)
    no_status = settings.model_copy(update={"exclude_status": []})
    return _finish(table, df, reasons, no_status, source, repeated_header)
