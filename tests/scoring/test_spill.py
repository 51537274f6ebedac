"""The scoring snapshot built a range of customers at a time, its full rows on disk."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from churn.features.segments import RFM_COLUMNS
from churn.features.snapshots import build_snapshots, snapshot_ranges
from churn.inputs.spill import SpilledSnapshot
from tests.features.test_snapshots import CUSTOMERS, EVENTS, frame

CUTOFFS = [("score", pd.Timestamp("2024-03-01"))]
OPTIONS = dict(active_days=365, horizon_days=None, active_only=False)
KEEP = {"cutoff", "customer_id", "is_active", "recency_days", "frequency", "monetary_total", "tier"}


@pytest.fixture
def spilled():
    con = ibis.duckdb.connect()
    tables = {"events": ibis.memtable(EVENTS), "customers": ibis.memtable(CUSTOMERS)}
    whole = build_snapshots(con, ibis.memtable(frame()), CUTOFFS, **OPTIONS, **tables)
    ranges = snapshot_ranges(con, ibis.memtable(frame()), CUTOFFS, rows_per_query=2, **OPTIONS, **tables)
    spill = SpilledSnapshot(ranges, CUTOFFS, KEEP)
    yield whole, spill
    spill.close()


def test_the_narrow_frame_is_the_whole_snapshots_kept_columns_with_rfm_over_every_row(spilled):
    whole, spill = spilled
    assert whole["customer_id"].tolist() == ["A", "B", "C", "E"]  # in several ranges of ids
    expected = whole[[c for c in whole.columns if c in KEEP | {"split", *RFM_COLUMNS}]]
    pd.testing.assert_frame_equal(spill.narrow, expected)


@pytest.mark.parametrize("positions", [[0, 1, 2, 3], [3, 0, 2], [1], []])
def test_rows_at_any_positions_are_the_whole_snapshots_rows(spilled, positions):
    whole, spill = spilled
    got = spill.rows(np.array(positions, dtype=np.int64))
    expected = whole.drop(columns=list(RFM_COLUMNS)).iloc[positions].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_categorical=False)
    assert list(got.columns) == list(expected.columns)


def test_rows_are_read_across_batches(spilled, monkeypatch):
    whole, _ = spilled
    monkeypatch.setattr("churn.inputs.spill.BATCH_ROWS", 1)
    con = ibis.duckdb.connect()
    ranges = snapshot_ranges(con, ibis.memtable(frame()), CUTOFFS, rows_per_query=None, **OPTIONS)
    spill = SpilledSnapshot(ranges, CUTOFFS, KEEP)
    try:
        assert spill._file.num_record_batches == 4
        got = spill.rows(np.array([3, 1, 2, 0]))
        assert got["customer_id"].tolist() == whole["customer_id"].iloc[[3, 1, 2, 0]].tolist()
    finally:
        spill.close()


def test_closing_deletes_the_file(spilled):
    _, spill = spilled
    assert spill._path.is_file()
    spill.close()
    assert not spill._path.exists()


def test_the_next_range_is_made_one_ahead_in_order_and_its_errors_are_raised_here():
    import threading

    from churn.inputs.spill import _one_ahead

    made, closed = [], []

    def ranges(fail_at=None):
        try:
            for k in range(5):
                if k == fail_at:
                    raise RuntimeError(f"range {k} failed")
                made.append((k, threading.current_thread().name))
                yield k
        finally:
            closed.append(True)

    seen = []
    for item in _one_ahead(ranges()):
        seen.append(item)
        assert len(made) <= item + 2  # this range and at most the next one
    assert seen == [0, 1, 2, 3, 4]
    assert all(name != threading.current_thread().name for _, name in made)
    assert closed == [True]

    made.clear()
    closed.clear()
    got = []
    with pytest.raises(RuntimeError, match="range 2 failed"):
        for item in _one_ahead(ranges(fail_at=2)):
            got.append(item)
    assert got == [0, 1] and closed == [True]

    made.clear()
    closed.clear()
    for item in _one_ahead(ranges()):
        if item == 1:
            break  # the user of the ranges stops: the source is closed (a query's views dropped)
    assert closed == [True] and len(made) <= 3
