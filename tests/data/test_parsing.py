"""The grammar of raw values (data/parsing.py): what is a number, a date and an instant,
stated value by value. tests/spark/test_ingest.py checks Spark gives the same answers."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from churn.data import parsing

CON = ibis.duckdb.connect()


def parsed(values, parse) -> list:
    """parse(table, dialect) -> the table with `value` parsed, as text for timestamps."""
    table = ibis.memtable(pd.DataFrame({"value": pd.Series(values, dtype="string")}))
    out = parse(table, parsing.dialect_of(CON))
    if out.value.type().is_timestamp():
        out = out.select(value=out.value.cast("string"))
    return CON.to_pyarrow(out).column("value").to_pylist()


def as_column(expr):
    return lambda t, d: t.select(value=expr(t.value))


TIMESTAMPS = {  # value -> naive UTC with data.timezone UTC (None: not a date)
    "2024-03-01": "2024-03-01 00:00:00",
    " 2024-03-01 10:00:00 ": "2024-03-01 10:00:00",
    "2024-03-01T10:00:00.250": "2024-03-01 10:00:00.25",
    "2024-03-01t10:00": "2024-03-01 10:00:00",
    "2024-03-01T10": "2024-03-01 10:00:00",
    "2024-3-1": "2024-03-01 00:00:00",
    "20240301": "2024-03-01 00:00:00",
    "2024-03-01T10:00:00,5": "2024-03-01 10:00:00.5",
    "2024-03-01T10:00:00.123456789": "2024-03-01 10:00:00.123456",  # cut to microseconds
    "2024-03-01T10:00:00Z": "2024-03-01 10:00:00",
    "2024-03-01T10:00Z": "2024-03-01 10:00:00",
    "2024-03-01T10:00:00+01": "2024-03-01 09:00:00",
    "2024-03-01T10:00:00+0130": "2024-03-01 08:30:00",
    "2024-03-01 10:00:00 -05:00": "2024-03-01 15:00:00",
    "9999-12-31": "9999-12-31 00:00:00",  # a date: the range rule rejects it, with its own reason
    "2024-02-30": None,
    "2024-03-01T24:00:00": None,
    "2024-13-01": None,
    "31/12/2024": None,
    "2024-03": None,
    "2024": None,
    "2024-03-01 UTC": None,
    "": None,
    None: None,
}


@pytest.mark.parametrize("value", list(TIMESTAMPS))
def test_iso_8601_grammar(value):
    got = parsed([value], lambda t, d: parsing.timestamps(t, "value", None, "UTC", d))
    assert got == [TIMESTAMPS[value]]


def test_wall_clock_times_across_daylight_saving_changes():
    # Berlin: 2024-03-31 02:30 does not exist (moved on by the gap: 03:30 CEST); 2024-10-27
    # 02:30 happens twice (the first, CEST). An offset names the instant whatever the zone.
    values = ["2024-03-31 02:30", "2024-10-27 02:30", "2024-10-27 03:30", "2024-07-01 12:00", "2024-07-01T12:00Z"]
    got = parsed(values, lambda t, d: parsing.timestamps(t, "value", None, "Europe/Berlin", d))
    assert got == [
        "2024-03-31 01:30:00",
        "2024-10-27 00:30:00",
        "2024-10-27 02:30:00",
        "2024-07-01 10:00:00",
        "2024-07-01 12:00:00",
    ]


def test_a_strftime_format_is_the_only_shape_accepted():
    values = ["05/01/2024 10:00", "2024-01-05 10:00", "32/01/2024 10:00"]
    got = parsed(values, lambda t, d: parsing.timestamps(t, "value", "%d/%m/%Y %H:%M", "UTC", d))
    assert got == ["2024-01-05 10:00:00", None, None]


NUMBERS = {
    "5": 5.0, " 7 ": 7.0, "+5": 5.0, "5.": 5.0, ".5": 0.5, "00012.50": 12.5, "1e5": 1e5, "-0": 0.0,
    "inf": float("inf"), "-Infinity": float("-inf"), "1e400": float("inf"),
    "1,5": None, "0x1p3": None, "1_0": None, "5 5": None, "$5": None, "1d": None, "0.1e": None, "e5": None,
    ".": None, "-": None, "": None,
}  # fmt: skip


@pytest.mark.parametrize("value", list(NUMBERS))
def test_number_grammar(value):
    got = parsed([value], as_column(parsing.number))[0]
    assert got == NUMBERS[value] and (got is None or str(got) != "-0.0")


def test_nan_is_read_as_nan_for_its_own_reason():
    got = parsed(["nan", "NaN"], as_column(parsing.number))
    assert all(g != g for g in got)


def test_text_is_stripped_of_ascii_white_space_only():
    got = parsed([" a ", "\tb\n", "\u00a0c", "d e", ""], as_column(parsing.text))
    assert got == ["a", "b", "\u00a0c", "d e", ""]
