"""Out-of-time evaluation: metrics and curve data for the model and a recency baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn import metrics as skm


def ranking_metrics(y: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """ROC-AUC and PR-AUC: how well `score` ranks churners first (any monotone score)."""
    y = np.asarray(y, dtype=int)
    return {
        "roc_auc": float(skm.roc_auc_score(y, score)),
        "pr_auc": float(skm.average_precision_score(y, score)),
    }


def probability_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Ranking metrics plus Brier score and log loss, which only make sense for probabilities."""
    y = np.asarray(y, dtype=int)
    clipped = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return {
        **ranking_metrics(y, p),
        "brier": float(skm.brier_score_loss(y, clipped)),
        "log_loss": float(skm.log_loss(y, clipped, labels=[0, 1])),
    }


def recency_baseline(test: pd.DataFrame) -> np.ndarray:
    """Churn score from recency alone: the longer since the last purchase, the riskier.

    Ranked into (0, 1] so the ranking metrics are comparable; it is not a probability.
    """
    return test["recency_days"].rank(pct=True).to_numpy()


def roc_points(y: np.ndarray, p: np.ndarray) -> pd.DataFrame:
    fpr, tpr, _ = skm.roc_curve(y, p)
    return pd.DataFrame({"fpr": fpr, "tpr": tpr}).round(6)


def precision_recall_points(y: np.ndarray, p: np.ndarray) -> pd.DataFrame:
    precision, recall, _ = skm.precision_recall_curve(y, p)
    return pd.DataFrame({"recall": recall, "precision": precision}).round(6)


def calibration_points(y: np.ndarray, p: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Mean predicted vs observed churn rate per equal-width probability bin."""
    frame = pd.DataFrame({"y": y, "p": p})
    frame["bin"] = np.minimum((frame["p"] * bins).astype(int), bins - 1)
    out = frame.groupby("bin").agg(predicted=("p", "mean"), observed=("y", "mean"), customers=("y", "size"))
    return out.reset_index(drop=True).round(6)
