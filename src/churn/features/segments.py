"""RFM quintile scores and the standard named RFM segments.

Scores are quintiles within one snapshot (one cutoff): 5 is best (most recent, most
frequent, highest spend). Ties are broken by row order, so sort the snapshot first
(build_snapshots sorts by cutoff and customer_id) for reproducible scores.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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


def quintile(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """1..5 by equal-count bins of the rank (ties by position), 5 = best."""
    ranks = values.rank(method="first", ascending=higher_is_better, na_option="bottom" if higher_is_better else "top")
    n = len(values)
    if n == 0:
        return pd.Series([], index=values.index, dtype="int8")
    return pd.Series(np.ceil(ranks.to_numpy() * 5 / n).clip(1, 5), index=values.index).astype("int8")


def _first_rule(r: int, f: int) -> str:
    return next(name for rs, fs, name in _SEGMENT_RULES if str(r) in rs and str(f) in fs)


# The segment of every (R, F) pair, looked up by position: [r - 1, f - 1].
_GRID = np.array([[_first_rule(r, f) for f in range(1, 6)] for r in range(1, 6)], dtype=object)


def segment_name(r_score: pd.Series, f_score: pd.Series) -> pd.Series:
    """The named segment for each (R, F) pair of scores 1-5."""
    names = _GRID[r_score.to_numpy("int64") - 1, f_score.to_numpy("int64") - 1]
    return pd.Series(pd.array(names, dtype="string"), index=r_score.index)


def rfm_scores(snapshot: pd.DataFrame) -> pd.DataFrame:
    """r_score, f_score, m_score (1-5), rfm_score (their sum, 3-15) and rfm_segment,
    per row, with quintiles taken within each cutoff.

    Reads recency_days (lower is better), frequency and monetary_total.
    """
    parts = []
    for _, group in snapshot.groupby("cutoff", sort=True):
        r = quintile(group["recency_days"], higher_is_better=False)
        f = quintile(group["frequency"])
        m = quintile(group["monetary_total"])
        parts.append(
            pd.DataFrame(
                {
                    "r_score": r,
                    "f_score": f,
                    "m_score": m,
                    "rfm_score": (r.astype(int) + f + m).astype("int8"),
                    "rfm_segment": segment_name(r, f),
                },
                index=group.index,
            )
        )
    if not parts:
        return pd.DataFrame(
            {c: pd.Series(dtype="int8") for c in RFM_COLUMNS[:-1]} | {"rfm_segment": pd.Series(dtype="string")}
        )
    return pd.concat(parts).loc[snapshot.index]
