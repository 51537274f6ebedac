"""Comparing what the two engines wrote."""

from __future__ import annotations

import numpy as np
import pandas as pd

from churn.features.snapshots import feature_columns

TOLERANCE = 1e-9


def assert_same_snapshots(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    """Same columns, types, rows (cutoff, customer) and labels; every feature within TOLERANCE."""
    assert list(ours.columns) == list(theirs.columns)
    assert ours.dtypes.equals(theirs.dtypes)
    keys = [c for c in ("split", "cutoff", "customer_id", "is_active") if c in theirs.columns]
    pd.testing.assert_frame_equal(ours[keys], theirs[keys])
    for col in feature_columns(theirs):
        if not pd.api.types.is_float_dtype(theirs[col]):
            assert ours[col].astype("string").equals(theirs[col].astype("string")), col
            continue
        a, b = ours[col].to_numpy(), theirs[col].to_numpy()
        assert np.array_equal(np.isnan(a), np.isnan(b)), col
        assert np.nanmax(np.abs(a - b), initial=0.0) <= TOLERANCE, col
    for col in ("r_score", "f_score", "m_score", "rfm_segment", "churned"):
        if col in theirs.columns:
            assert ours[col].equals(theirs[col]), col


def assert_same_scores(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    """Same columns and rows in the same order; numbers within TOLERANCE, the rest equal."""
    assert list(ours.columns) == list(theirs.columns)
    assert ours["customer_id"].tolist() == theirs["customer_id"].tolist()
    pd.testing.assert_frame_equal(ours, theirs, check_exact=False, rtol=0, atol=TOLERANCE)
