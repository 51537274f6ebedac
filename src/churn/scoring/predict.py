"""Churn probabilities and risk tiers for a feature snapshot."""

from __future__ import annotations

import numpy as np
import pandas as pd

from churn.config import RiskTiers
from churn.errors import ChurnError
from churn.features.season import SEASON_FEATURE
from churn.modeling.model import ChurnModel


def check_features(model_features: list[str], available: list[str]) -> None:
    """Refuse to score when the model expects features the snapshot does not have, or vice
    versa (the season feature aside: a model uses it only when trained across a year)."""
    missing = sorted(set(model_features) - set(available))
    extra = sorted(set(available) - set(model_features) - {SEASON_FEATURE})
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing at scoring time: {', '.join(missing)}")
        if extra:
            parts.append(f"not known to the model: {', '.join(extra)}")
        raise ChurnError(
            "the model's feature list does not match the features built for scoring ("
            + "; ".join(parts)
            + "). Retrain the model (dvc repro train) or score with the settings it was trained with."
        )


def check_horizon(model: ChurnModel, horizon_days: int, source: str) -> None:
    """Refuse a model trained for another horizon than the params in use: its probabilities
    answer another question ("no purchase in 120 days" is not "in 60 days")."""
    trained = model.card.get("horizon_days")
    if trained is not None and int(trained) != horizon_days:
        raise ChurnError(
            f"{source} was trained for churn.horizon_days {trained}, but params.yaml sets {horizon_days}: "
            "its probabilities answer another question. Score with a model of this horizon "
            f"(e.g. models:/<name>@champion-{horizon_days}d-<data>) or set churn.horizon_days: {trained}."
        )


def predict_proba(model: ChurnModel, snapshot: pd.DataFrame, features: list[str] | None = None) -> np.ndarray:
    """Calibrated probability of churning within the horizon, one per row of `snapshot`
    (BG/NBD prior, trees and calibrator: see modeling/model.py)."""
    if features is not None:
        check_features(model.features, list(features))
    return model.predict_proba(snapshot)


def risk_tier(probability: pd.Series, tiers: RiskTiers) -> pd.Series:
    """high / medium / low by the thresholds in params (score.risk_tiers)."""
    out = np.where(probability >= tiers.high, "high", np.where(probability >= tiers.medium, "medium", "low"))
    return pd.Series(out, index=probability.index, dtype="string")
