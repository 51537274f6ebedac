"""Raw values typed as Ibis expressions: one grammar for text, numbers and dates, run by
DuckDB or Spark alike.

What each engine's own casts accept differs ("2024-01-05T10:00Z" is a date to Spark, not
to DuckDB; "1d" a number to Spark, not to DuckDB), so what counts as a number or an ISO
8601 date is decided here by regular expressions both engines evaluate the same way, and
only values already in the shape both parse the same way reach an engine's cast. The
engine-specific parts are three functions with one meaning: a wall-clock time in a time
zone as an instant, and strftime parsing (Dialect).
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

UTC = dt.Timestamp(timezone="UTC")
# White space at either end of a value (ASCII, as Ibis's strip removes on both engines).
EDGE_SPACE = r"^[ \t\n\r\x0b\x0c]|[ \t\n\r\x0b\x0c]$"
# A number: digits with an optional fraction and exponent, or inf/infinity/nan, signed.
NUMBER = (
    r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$|^[+-]?([iI][nN][fF]([iI][nN][iI][tT][yY])?|[nN][aA][nN])$"
)
# The shape every engine casts alike: YYYY-MM-DD, optionally [T ]HH:MM:SS[.ffffff] (hours
# 00-23: DuckDB would read 24:00 as the next day), then optionally Z or +HH:MM. Most files hold only this; other ISO 8601 forms take ISO_ANY.
ISO_PLAIN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?$"
)
# ISO 8601 as accepted: a date (YYYY-M-D, YYYY-MM-DD, or YYYYMMDD, made dashed first by
# COMPACT_DATE), then optionally T or a space and HH, HH:MM or HH:MM:SS (colons optional)
# with a fraction of up to 9 digits (cut to microseconds), then optionally Z or an offset
# +HH, +HHMM or +HH:MM (a space before it allowed). Groups (at most 9: RE2 in DuckDB):
# 1-3 date, 4-7 time, 8 Z, 9 offset.
COMPACT_DATE = r"^([0-9]{4})([0-9]{2})([0-9]{2})"
ISO_ANY = (
    r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"
    r"(?:[Tt ]([01]?[0-9]|2[0-3])(?::?([0-5][0-9])(?::?([0-5][0-9])(?:[.,]([0-9]{1,9}))?)?)?)?"
    r" ?(?:([Zz])|([+-][0-9]{2}(?::?[0-9]{2})?))?$"
)


@dataclass(frozen=True)
class Dialect:
    """What the engines spell differently: `instant` reads wall-clock times in a time zone
    as naive UTC; `strptime(text, fmt)` parses a strftime format (null where a value does
    not match), as naive UTC when the format has %z, else wall clock."""

    name: str

    def instant(self, t: ir.Table, column: str, zone: str) -> ir.Table:
        """`t` with naive wall-clock times in `column` replaced by naive UTC."""
        if zone == "UTC":
            return t
        if self.name == "pyspark":  # java.time: a repeated hour is its first occurrence, a skipped one moves on
            return t.mutate(**{column: _to_utc_timestamp(t[column], zone)})
        # ICU: a skipped time moves on by the gap, as in java.time, but a repeated hour
        # reads as its second occurrence: take the hour before when it shows the same clock.
        later = t.mutate(**{LATER: _duckdb_timezone(zone, t[column]).cast(dt.timestamp)})
        earlier = later[LATER] - ibis.interval(hours=1)
        same_clock = _duckdb_wall_clock(zone, earlier.cast(UTC)) == later[column]
        return later.mutate(**{column: ibis.ifelse(same_clock, earlier, later[LATER])}).drop(LATER)

    def strptime(self, text: ir.StringValue, fmt: str) -> ir.TimestampValue:
        if self.name == "pyspark":
            return _try_to_timestamp(text, java_pattern(fmt)).cast(dt.timestamp)  # the session is in UTC
        if "%z" in fmt or "%Z" in fmt:
            return _try_strptime_zoned(text, fmt).cast(dt.timestamp)
        return _try_strptime(text, fmt)


# Working columns of the parsers (each step is its own projection: an expression that
# used another several times would be copied into the SQL as many times).
LATER, TEXT, PLAIN, DASHED, CANONICAL, ZONED, INSTANT = (
    f"_parse_{n}" for n in ("later", "text", "plain", "dashed", "canonical", "zoned", "instant")
)


def dialect_of(con: ibis.BaseBackend) -> Dialect:
    return Dialect(con.name)


@ibis.udf.scalar.builtin(name="to_utc_timestamp")
def _to_utc_timestamp(ts: dt.timestamp, zone: str) -> dt.timestamp: ...


@ibis.udf.scalar.builtin(name="timezone")
def _duckdb_timezone(zone: str, ts: dt.timestamp) -> UTC: ...


@ibis.udf.scalar.builtin(name="timezone")
def _duckdb_wall_clock(zone: str, ts: UTC) -> dt.timestamp: ...


@ibis.udf.scalar.builtin(name="try_strptime")
def _try_strptime(text: str, fmt: str) -> dt.timestamp: ...


@ibis.udf.scalar.builtin(name="try_strptime")
def _try_strptime_zoned(text: str, fmt: str) -> UTC: ...


@ibis.udf.scalar.builtin(name="try_to_timestamp")
def _try_to_timestamp(text: str, fmt: str) -> dt.timestamp: ...


def text(value: ir.Value) -> ir.StringValue:
    """Text without surrounding white space; whole numbers without ".0" (17.0 -> "17"), so
    an id stored as a number reads as the id."""
    if value.type().is_floating() or value.type().is_decimal():
        whole = value.notnull() & ~_isnan(value) & (value == value.floor())
        return ibis.ifelse(
            whole, value.cast("int64").cast("string"), ibis.ifelse(_isnan(value), None, value.cast("string"))
        )
    if value.type().is_string():
        # Most values have no space at either end: testing for one is four times faster than trimming.
        return ibis.ifelse(value.re_search(EDGE_SPACE), value.strip(), value)
    return value.cast("string")


def _isnan(value: ir.Value) -> ir.BooleanValue:
    return value.isnan() if value.type().is_floating() else ibis.literal(False)


def number(value: ir.Value) -> ir.FloatingValue:
    """A double, null where a value is not a number (NUMBER); -0 reads as 0."""
    if value.type().is_numeric() and not value.type().is_boolean():
        return value.cast("float64")
    s = text(value)
    parsed = ibis.ifelse(s.re_search(NUMBER), s.try_cast("float64"), None)
    return ibis.ifelse(parsed == 0, 0.0, parsed)


def timestamps(t: ir.Table, column: str, fmt: str | None, zone: str, dialect: Dialect) -> ir.Table:
    """`t` with `column` as naive UTC timestamps, null where a value is not a date.

    A value with a UTC offset (or a typed instant) is that instant; one without is a
    wall-clock time in `zone` (data.timezone). Text is ISO 8601 (ISO_ANY) unless `fmt`
    (data.timestamp_format, strftime) says otherwise."""
    value = t[column]
    kind = value.type()
    if kind.is_timestamp() and kind.timezone:
        return t.mutate(**{column: value.cast(dt.timestamp)})
    if kind.is_timestamp() or kind.is_date():
        return dialect.instant(t.mutate(**{column: value.cast(dt.timestamp)}), column, zone)
    if not kind.is_string():
        return t.mutate(**{column: ibis.null(dt.timestamp)})
    if fmt:
        t = t.mutate(**{column: dialect.strptime(text(value), fmt)})
        return t if "%z" in fmt or "%Z" in fmt else dialect.instant(t, column, zone)
    t = t.mutate(**{TEXT: text(value)})
    t = t.mutate(**{PLAIN: t[TEXT].re_search(ISO_PLAIN)})
    t = t.mutate(**{DASHED: ibis.ifelse(t[PLAIN], ibis.null(dt.string), _dashed(t[TEXT]))})
    t = t.mutate(**{CANONICAL: ibis.ifelse(t[PLAIN], t[TEXT], _canonical_iso(t[DASHED]))})
    c = t[CANONICAL]
    t = t.mutate(**{ZONED: c.endswith("Z") | ((c.length() >= 25) & c.right(6).substr(0, 1).isin(["+", "-"]))})
    t = t.mutate(
        **{
            INSTANT: ibis.ifelse(t[ZONED], c.try_cast(UTC).cast(dt.timestamp), ibis.null(dt.timestamp)),
            column: ibis.ifelse(t[ZONED], ibis.null(dt.timestamp), c.try_cast(dt.timestamp)),
        }
    )
    t = dialect.instant(t, column, zone)
    return t.mutate(**{column: t[INSTANT].coalesce(t[column])}).drop(TEXT, PLAIN, DASHED, CANONICAL, ZONED, INSTANT)


def _dashed(s: ir.StringValue) -> ir.StringValue:
    """A compact date (YYYYMMDD...) written with dashes."""
    return ibis.ifelse(s.re_search(COMPACT_DATE), s.substr(0, 4) + "-" + s.substr(4, 2) + "-" + s.substr(6), s)


def _canonical_iso(dashed: ir.StringValue) -> ir.StringValue:
    """An ISO_ANY value (date dashed) as YYYY-MM-DD HH:MM:SS.ffffff[+HH:MM | Z], ISO_PLAIN's
    shape; null when it is not ISO 8601. Invalid dates (February 30) stay invalid: the cast
    refuses them."""

    def group(i: int) -> ir.StringValue:
        return dashed.re_extract(ISO_ANY, i)

    def pad(part: ir.StringValue) -> ir.StringValue:  # one or two digits, or none
        return ("00" + part).right(2)

    year, month, day = group(1), pad(group(2)), pad(group(3))
    hour, minute, second = pad(group(4)), pad(group(5)), pad(group(6))
    fraction = (group(7) + "000000").substr(0, 6)
    offset = group(9).replace(":", "")  # +HH or +HHMM
    zone = ibis.ifelse(
        group(8) != "",
        "Z",
        ibis.ifelse(offset != "", offset.substr(0, 3) + ":" + (offset.substr(3, 2) + "00").substr(0, 2), ""),
    )
    stamp = year + "-" + month + "-" + day + " " + hour + ":" + minute + ":" + second + "." + fraction + zone
    return ibis.ifelse(dashed.re_search(ISO_ANY), stamp, ibis.null(dt.string))


_STRFTIME = {
    "Y": "yyyy", "y": "yy", "m": "MM", "d": "dd", "H": "HH", "I": "hh", "M": "mm", "S": "ss",
    "f": "SSSSSS", "p": "a", "b": "MMM", "B": "MMMM", "a": "EEE", "A": "EEEE", "j": "DDD",
    "z": "XX", "Z": "z", "%": "%",
}  # fmt: skip


def java_pattern(fmt: str) -> str:
    """A strftime format (data.timestamp_format) as Spark's datetime pattern:
    "%d/%m/%Y %H:%M" -> "dd/MM/yyyy HH:mm"."""
    from churn.errors import ChurnError

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
