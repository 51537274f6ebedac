"""The classic baselines the model must beat, scored on the same out-of-time snapshot.

- recency: days since the last purchase (a ranking, not a probability)
- rfm_score: the RFM quintile sum from features/segments.py, low = risky (a ranking)
- bgnbd: BG/NBD fitted as its own field fits it, on every customer with history before the
  cutoff (lapsed ones included; no labels used), giving P(no purchase day within the
  horizon): a probability

Each is scored on exactly the rows the model is scored on (the active customers).

Each returns one score per row, higher = more likely to churn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from churn.features.segments import rfm_scores
from churn.modeling import bgnbd
from churn.modeling.evaluate import recency_baseline

PROBABILITY_BASELINES = ("bgnbd",)


@dataclass(frozen=True)
class BaselineScores:
    scores: dict[str, np.ndarray]  # name -> score per row, higher = riskier
    bgnbd_params: bgnbd.BgNbdParams

    def is_probability(self, name: str) -> bool:
        return name in PROBABILITY_BASELINES


def rfm_baseline(snapshot: pd.DataFrame) -> np.ndarray:
    """16 - rfm_score (3..15): the lower the RFM score, the riskier. Ties are many (13 values)."""
    ordered = snapshot.sort_values(["cutoff", "customer_id"], kind="stable")
    score = rfm_scores(ordered)["rfm_score"].reindex(snapshot.index)
    return (16 - score.astype(float)).to_numpy()


def score_baselines(snapshot: pd.DataFrame, horizon_days: int, history: pd.DataFrame | None = None) -> BaselineScores:
    """All baselines for the rows of one snapshot (one cutoff); BG/NBD is fitted on `history`
    (every customer with history at that cutoff), or on `snapshot` when it is not given."""
    if snapshot["cutoff"].nunique() != 1:
        raise ValueError("baselines are scored on one snapshot (one cutoff) at a time")
    params = bgnbd.fit_snapshot(snapshot if history is None else history)
    return BaselineScores(
        scores={
            "recency": recency_baseline(snapshot),
            "rfm_score": rfm_baseline(snapshot),
            "bgnbd": bgnbd.churn_probability(params, horizon_days, snapshot),
        },
        bgnbd_params=params,
    )
