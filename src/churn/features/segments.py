"""RFM quintile scores and the standard named RFM segments.

Scores are quintiles within one snapshot (one cutoff): 5 is best (most recent, most
frequent, highest spend). Ties are broken by row order, so sort the snapshot first
(build_snapshots sorts by cutoff and customer_id) for reproducible scores.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa

RFM_COLUMNS = ("r_score", "f_score", "m_score", "rfm_score", "rfm_segment")

# The widely used recency x frequency grid (R score, F score) -> segment name.
_SEGMENT_RULES: tuple[tuple[str, str, str], ...] = (
    # (R scores, F scores, segment), first match wins
    ("5", "45", "Champions"),
    ("34", "45", "Loyal"),
    ("45", "23", "Potential Loyalist"),
    ("5", "1", "New Customers"),
    ("4", "1", "Promising"),
    ("3", "3", "Need Attention"),
    ("3", "12", "About To Sleep"),
    ("12", "5", "Cannot Lose Them"),
    ("12", "34", "At Risk"),
    ("1", "1", "Lost"),
    ("12", "12", "Hibernating"),
)
SEGMENTS = tuple(dict.fromkeys(rule[2] for rule in _SEGMENT_RULES))


def quintiles(values: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """1..5 (int8) by equal-count bins of the rank (ties by position), 5 = best. Missing
    values (NaN) rank last in the sort: best when higher is better, else worst. The rank is
    a stable sort's, as pandas' rank(method="first") ranks, which took several times
    longer (NumPy sorts without holding the GIL, so the scores of several columns and
    cutoffs are sorted on every core at once)."""
    n = len(values)
    if n == 0:
        return np.empty(0, dtype="int8")
    missing = np.isnan(values)
    present = np.flatnonzero(~missing)
    if higher_is_better:  # ascending, missing at the end
        order = np.concatenate([present[np.argsort(values[present], kind="stable")], np.flatnonzero(missing)])
    else:  # descending, missing first
        order = np.concatenate([np.flatnonzero(missing), present[np.argsort(-values[present], kind="stable")]])
    ranks = np.empty(n)
    ranks[order] = np.arange(1, n + 1)
    return np.ceil(ranks * 5 / n).clip(1, 5).astype("int8")


def _first_rule(r: int, f: int) -> str:
    return next(name for rs, fs, name in _SEGMENT_RULES if str(r) in rs and str(f) in fs)


# The segment of every (R, F) pair, looked up by position: [(r - 1) * 5 + f - 1].
_GRID = pa.array([_first_rule(r, f) for r in range(1, 6) for f in range(1, 6)])


def segment_names(r_score: np.ndarray, f_score: np.ndarray) -> pd.arrays.ArrowStringArray:
    """The named segment for each (R, F) pair of scores 1-5."""
    return pd.array(_GRID.take(pa.array((r_score - 1) * 5 + f_score - 1)), dtype="string")


# (score, column it ranks, higher is better)
_SCORED = (("r_score", "recency_days", False), ("f_score", "frequency", True), ("m_score", "monetary_total", True))


def rfm_scores(snapshot: pd.DataFrame) -> pd.DataFrame:
    """r_score, f_score, m_score (1-5), rfm_score (their sum, 3-15) and rfm_segment,
    per row, with quintiles taken within each cutoff.

    Reads recency_days (lower is better), frequency and monetary_total.
    """
    cutoff = snapshot["cutoff"].to_numpy()
    rows_of = [np.flatnonzero(cutoff == c) for c in np.unique(cutoff)]
    columns = {name: snapshot[col].to_numpy("float64", na_value=np.nan) for name, col, _ in _SCORED}
    scores = {name: np.empty(len(snapshot), dtype="int8") for name, _, _ in _SCORED}

    def score(job: tuple[str, bool, np.ndarray]) -> None:
        name, higher_is_better, rows = job
        scores[name][rows] = quintiles(columns[name][rows], higher_is_better)

    jobs = [(name, better, rows) for rows in rows_of for name, _, better in _SCORED]
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:  # threads start only as jobs need them
        list(pool.map(score, jobs))
    r, f, m = scores["r_score"], scores["f_score"], scores["m_score"]
    return pd.DataFrame(
        {
            "r_score": r,
            "f_score": f,
            "m_score": m,
            "rfm_score": (r + f + m).astype("int8"),
            "rfm_segment": segment_names(r, f),
        },
        index=snapshot.index,
    )
