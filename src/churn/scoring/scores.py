"""Assemble the per-customer scores table from a snapshot and the model's probabilities."""

from __future__ import annotations

import numpy as np
import pandas as pd

from churn.actions.playbook import recommend
from churn.config import Params
from churn.scoring.predict import risk_tier

SCORE_COLUMNS = [
    "customer_id",
    "as_of",
    "churn_probability",
    "risk_tier",
    "recommended_action",
    "action_reason",
    "recency_days",
    "frequency",
    "monetary_total",
]


def assemble_scores(snapshot: pd.DataFrame, probability: np.ndarray, params: Params) -> pd.DataFrame:
    """One row per customer in `snapshot`, riskiest first.

    Columns: customer_id, as_of (the last day of history), churn_probability (within
    churn.horizon_days), risk_tier, recommended_action, action_reason, and the RFM values
    recency_days, frequency, monetary_total the action rules may read.
    """
    frame = snapshot.reset_index(drop=True).copy()
    frame["as_of"] = (frame["cutoff"] - pd.Timedelta(days=1)).dt.strftime("%Y-%m-%d")
    frame["churn_probability"] = np.round(probability, 6)
    frame["risk_tier"] = risk_tier(frame["churn_probability"], params.score.risk_tiers)
    frame = frame.join(recommend(frame, params.actions.playbook))
    frame["recency_days"] = frame["recency_days"].round(2)
    frame["monetary_total"] = frame["monetary_total"].round(2)
    out = frame[SCORE_COLUMNS].sort_values(
        ["churn_probability", "customer_id"], ascending=[False, True], kind="stable"
    )
    return out.reset_index(drop=True)
