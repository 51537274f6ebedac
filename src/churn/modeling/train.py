"""Train a LightGBM churn classifier on stacked training snapshots.

Early stopping uses a time-based split: the newest training cutoff is the validation
set, never a random split across cutoffs (customers recur across snapshots, and a random
split would let the model peek at a customer's future). The final model is then refit on
all training cutoffs with the number of rounds early stopping chose.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import pandas as pd

from churn.config import TrainSettings

# Fixed so the same data and params give the same trees on any machine.
NUM_THREADS = 2


@dataclass(frozen=True)
class TrainedModel:
    booster: lgb.Booster
    feature_names: list[str]
    best_iteration: int
    validation_cutoff: pd.Timestamp


def lgb_params(settings: TrainSettings) -> dict:
    """LightGBM parameters for a deterministic binary classifier."""
    return {
        "objective": "binary",
        "metric": "auc",
        "num_leaves": settings.num_leaves,
        "learning_rate": settings.learning_rate,
        "min_child_samples": settings.min_child_samples,
        "seed": settings.seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": NUM_THREADS,
        "verbosity": -1,
    }


def _dataset(frame: pd.DataFrame, features: list[str], reference: lgb.Dataset | None = None) -> lgb.Dataset:
    return lgb.Dataset(
        frame[features], label=frame["churned"], reference=reference, free_raw_data=False
    )


def train_model(train: pd.DataFrame, features: list[str], settings: TrainSettings) -> TrainedModel:
    """Fit on the training snapshots (`churned` labelled, several cutoffs)."""
    if train["cutoff"].nunique() < 2:
        raise ValueError("training needs at least two cutoffs: the newest one validates early stopping")
    if train["churned"].nunique() < 2:
        raise ValueError("training snapshots hold only one class: every customer churned or none did")
    params = lgb_params(settings)
    valid_cutoff = train["cutoff"].max()
    fit, valid = train[train["cutoff"] < valid_cutoff], train[train["cutoff"] == valid_cutoff]
    fit_set = _dataset(fit, features)
    probe = lgb.train(
        params,
        fit_set,
        num_boost_round=settings.n_estimators,
        valid_sets=[_dataset(valid, features, reference=fit_set)],
        callbacks=[lgb.early_stopping(settings.early_stopping_rounds, verbose=False)],
    )
    best = max(1, probe.best_iteration)
    final = lgb.train(params, _dataset(train, features), num_boost_round=best)
    return TrainedModel(final, list(features), best, pd.Timestamp(valid_cutoff))
