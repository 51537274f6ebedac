import ibis
import pandas as pd
import pytest
from ibis import _

from churn.features.history import Measure, Window, aggregate_at_cutoffs

ROWS = pd.DataFrame(
    {
        "customer_id": pd.array(["a", "a", "a", "b", "b"], dtype="string"),
        "timestamp": pd.to_datetime(["2024-01-01", "2024-01-10", "2024-01-20", "2024-01-05", "2024-02-01"]),
        "amount": [1.0, 2.0, 4.0, 8.0, 16.0],
    }
)
MEASURES = {
    "n": Measure(ibis.literal(1)),
    "total": Measure(_.amount),
    "first": Measure(_.timestamp, "min"),
    "last": Measure(_.timestamp, "max"),
}


def run(cutoffs, windowed=None, **kw) -> pd.DataFrame:
    expr = aggregate_at_cutoffs(ibis.memtable(ROWS), cutoffs, MEASURES, windowed, **kw)
    return ibis.duckdb.connect().to_pandas(expr).sort_values(["cutoff", "customer_id"]).reset_index(drop=True)


def test_history_is_built_up_cutoff_by_cutoff():
    out = run([pd.Timestamp("2024-01-10"), pd.Timestamp("2024-01-06"), pd.Timestamp("2024-03-01")])
    got = {
        (str(r.cutoff.date()), r.customer_id): (r.n, r.total, str(r.first.date()), str(r.last.date()))
        for r in out.itertuples()
    }
    assert got == {
        ("2024-01-06", "a"): (1, 1.0, "2024-01-01", "2024-01-01"),
        ("2024-01-06", "b"): (1, 8.0, "2024-01-05", "2024-01-05"),
        ("2024-01-10", "a"): (1, 1.0, "2024-01-01", "2024-01-01"),  # 2024-01-10 itself is not history
        ("2024-01-10", "b"): (1, 8.0, "2024-01-05", "2024-01-05"),
        ("2024-03-01", "a"): (3, 7.0, "2024-01-01", "2024-01-20"),
        ("2024-03-01", "b"): (2, 24.0, "2024-01-05", "2024-02-01"),
    }


def test_windows_cover_their_half_open_span_before_and_after_the_cutoff():
    windowed = {
        "last_10d": ("total", Window(-10, 0)),
        "next_20d": ("n", Window(0, 20)),
        "latest": ("last", Window(-14, 0)),
    }
    out = run([pd.Timestamp("2024-01-20")], windowed).set_index("customer_id")
    assert out.loc["a", "last_10d"] == 2.0  # [01-10, 01-20): the row at 01-10 only
    assert out.loc["a", "next_20d"] == 1  # [01-20, 02-09): the row at 01-20
    assert out.loc["b", "last_10d"] == 0  # a sum over no rows is 0 ...
    assert pd.isna(out.loc["b", "latest"])  # ... a maximum over none is null
    assert out.loc["b", "next_20d"] == 1


def test_only_customers_with_history_before_the_cutoff_appear():
    out = run([pd.Timestamp("2024-01-03")], {"next": ("n", Window(0, 60))})
    assert out["customer_id"].tolist() == ["a"]  # b's rows are all in its future


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"cutoffs": []}, "at least one cutoff"),
        ({"windowed": {"x": ("nope", Window(-1, 0))}}, "unknown measures: nope"),
        ({"windowed": {"n": ("n", Window(-1, 0))}}, "both as a measure"),
        ({"history": ["nope"]}, "only measures"),
    ],
)
def test_bad_specifications_are_refused(kwargs, message):
    args = {"cutoffs": [pd.Timestamp("2024-01-10")], "windowed": None} | kwargs
    with pytest.raises(ValueError, match=message):
        aggregate_at_cutoffs(ibis.memtable(ROWS), args.pop("cutoffs"), MEASURES, **args)


def test_a_window_must_not_be_empty():
    with pytest.raises(ValueError, match="start_days < end_days"):
        Window(0, 0)


def test_overlapping_windows_combine_their_shared_segments():
    # Five windows over two segments, [-14, -10) and [-10, 0): aggregated per segment, then combined.
    windowed = {
        "last_14d": ("last", Window(-14, 0)),
        "last_10d": ("last", Window(-10, 0)),
        "total_14d": ("total", Window(-14, 0)),
        "total_10d": ("total", Window(-10, 0)),
        "total_older": ("total", Window(-14, -10)),
    }
    out = run([pd.Timestamp("2024-01-21")], windowed).set_index("customer_id")
    a = out.loc["a"]  # rows at 01-10 (2.0) and 01-20 (4.0); 01-07 starts the 14 days
    assert (a["total_14d"], a["total_10d"], a["total_older"]) == (6.0, 4.0, 2.0)
    assert a["last_14d"] == a["last_10d"] == pd.Timestamp("2024-01-20")
    b = out.loc["b"]  # its only history row, 01-05, is older than 14 days
    assert (b["total_14d"], b["total_10d"]) == (0.0, 0.0)
    assert pd.isna(b["last_14d"])
