"""Out-of-time evaluation: metrics and curve data for the model and its baselines.

Two kinds of score are judged:
- probabilities (the calibrated model; BG/NBD's P(no purchase in the horizon)) get every
  metric: the ranking ones and the probability ones (Brier score, log loss, expected
  calibration error);
- rankings (recency, the RFM score) are only an order, so they get the ranking metrics
  alone: ROC-AUC, PR-AUC, top-decile lift and the share of churners captured in the top
  10% and 20%.

Tied scores count as if in random order (the expected value), so a coarse score such as
the RFM sum (13 distinct values) is judged fairly in the top-decile metrics too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn import metrics as skm

CALIBRATION_BINS = 10


def gains(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative gains: (share of customers, share of churners captured) at each distinct
    score, highest score first, starting at (0, 0). Within a run of tied scores the curve
    is a straight line: the expectation when ties are broken at random."""
    y = np.asarray(y, dtype=float)
    score = np.asarray(score, dtype=float)
    if y.sum() == 0:
        raise ValueError("no churner in the evaluation set: gains are undefined")
    order = np.argsort(-score, kind="stable")
    s, yy = score[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]
    customers = np.r_[0.0, (last_of_tie + 1) / len(s)]
    captured = np.r_[0.0, np.cumsum(yy)[last_of_tie] / yy.sum()]
    return customers, captured


def captured_share(y: np.ndarray, score: np.ndarray, top: float) -> float:
    """Share of all churners among the `top` fraction of customers with the highest score."""
    customers, captured = gains(y, score)
    return float(np.interp(top, customers, captured))


def top_decile_lift(y: np.ndarray, score: np.ndarray) -> float:
    """Churn rate in the riskiest 10% divided by the overall churn rate (1 = no better than random)."""
    return captured_share(y, score, 0.1) / 0.1


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Sum over equal-width probability bins of (share of customers) x |mean predicted - churn rate|."""
    table = calibration_points(y, p, bins)
    weights = table["customers"] / table["customers"].sum()
    return float((weights * (table["predicted"] - table["observed"]).abs()).sum())


def ranking_metrics(y: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """How well `score` ranks churners first; any monotone score (higher = riskier)."""
    y = np.asarray(y, dtype=int)
    return {
        "roc_auc": float(skm.roc_auc_score(y, score)),
        "pr_auc": float(skm.average_precision_score(y, score)),
        "top_decile_lift": top_decile_lift(y, score),
        "captured_top10": captured_share(y, score, 0.1),
        "captured_top20": captured_share(y, score, 0.2),
    }


def probability_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Ranking metrics plus Brier score, log loss and expected calibration error, which only
    make sense for probabilities."""
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    if ((p < 0) | (p > 1)).any() or np.isnan(p).any():
        raise ValueError("probability metrics need probabilities in [0, 1]")
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    return {
        **ranking_metrics(y, p),
        "brier": float(skm.brier_score_loss(y, clipped)),
        "log_loss": float(skm.log_loss(y, clipped, labels=[0, 1])),
        "ece": expected_calibration_error(y, p),
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


def gains_points(y: np.ndarray, score: np.ndarray, steps: int = 100) -> pd.DataFrame:
    """The cumulative gains curve at every 1/steps of customers: `customers` (share targeted,
    riskiest first) and `captured` (share of churners among them)."""
    customers, captured = gains(y, score)
    grid = np.linspace(0.0, 1.0, steps + 1)
    return pd.DataFrame({"customers": grid, "captured": np.interp(grid, customers, captured)}).round(6)


def calibration_points(y: np.ndarray, p: np.ndarray, bins: int = CALIBRATION_BINS) -> pd.DataFrame:
    """Mean predicted vs observed churn rate per equal-width probability bin (empty bins left out)."""
    frame = pd.DataFrame({"y": np.asarray(y, dtype=float), "p": np.asarray(p, dtype=float)})
    frame["bin"] = np.minimum((frame["p"] * bins).astype(int), bins - 1)
    out = frame.groupby("bin").agg(predicted=("p", "mean"), observed=("y", "mean"), customers=("y", "size"))
    return out.reset_index(drop=True).round(6)


def feature_importance(booster, features: list[str] | None = None) -> pd.DataFrame:
    """Total split gain per feature, as a share of the total, largest first (ties by name)."""
    names = list(booster.feature_name())
    gain = np.asarray(booster.feature_importance("gain"), dtype=float)
    splits = np.asarray(booster.feature_importance("split"), dtype=int)
    total = gain.sum() or 1.0
    table = pd.DataFrame({"feature": names, "gain_share": gain / total, "splits": splits})
    if features is not None:
        table = table.set_index("feature").reindex(features, fill_value=0).reset_index()
    table = table.sort_values(["gain_share", "feature"], ascending=[False, True], kind="stable")
    return table.reset_index(drop=True).round({"gain_share": 6})
