"""Train the churn model (modeling/model.py) on stacked training snapshots.

With `train.prior: bgnbd` BG/NBD is fitted on every customer with history at the newest
training cutoff, lapsed ones included, as its own field fits it (no labels involved) and every booster below starts from its log-odds (LightGBM's
init_score), so the trees learn corrections to the textbook model.

Every step is split by time, never at random across cutoffs (customers recur across
snapshots, and a random split would let the model peek at a customer's future):

1. Probe. The newest training cutoff v is held out. A probe booster trains on the older
   cutoffs whose label windows have closed by v (cutoff + horizon_days <= v), exactly as
   the final model will have seen only closed label windows when it meets the test or
   scoring cutoff. Cutoffs whose label windows reach past v are left out of the probe:
   their labels describe purchases after v, which would leak v's outcomes into the probe
   and make early stopping and calibration over-confident.
2. Early stopping picks the number of trees on v (ROC-AUC).
3. Calibration (`train.calibration`: auto, isotonic, platt or none; auto is platt with
   balanced class weights, else none: calibrate.chosen_method) is fitted on the probe's
   raw probabilities for v: customers the probe never trained on.
4. Refit. The final booster trains on all training cutoffs with the chosen number of
   trees and the same settings; the calibrator from step 3 maps its raw probabilities.
   The probe sees v from one horizon away as the final model sees the test cutoff, so the
   calibrator learns the map at the distance it is used at.

Class imbalance: with `train.class_weight: balanced` each class carries half of the total
weight while the trees are grown (churners are often the minority, or, in a shop of
one-off buyers, the vast majority), and the trees start from the log-odds shifted by
log(non-churners / churners), the balanced optimum, so no trees are spent on moving a
constant; the calibrator then restores true probabilities.

LightGBM runs with deterministic=True, a fixed seed and a fixed thread count, so the same
data and params give byte-identical models.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

from churn.config import TrainSettings
from churn.modeling import bgnbd
from churn.modeling.calibrate import Calibrator, chosen_method, fit_calibrator
from churn.modeling.model import PRIOR_FEATURES, ChurnModel, Prior, init_log_odds

# Fixed so the same data and params give the same trees on any machine.
NUM_THREADS = 2


@dataclass(frozen=True)
class TrainedModel:
    model: ChurnModel
    best_iteration: int
    validation_roc_auc: float  # the probe's on the validation cutoff: a purged score for comparing settings
    validation_cutoff: pd.Timestamp
    probe_cutoffs: tuple[pd.Timestamp, ...]
    train_cutoffs: tuple[pd.Timestamp, ...]

    @property
    def booster(self) -> lgb.Booster:
        return self.model.booster


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


def class_weights(y: np.ndarray, mode: str) -> np.ndarray | None:
    """Per-row weights: `balanced` gives each class half of the total weight; `none` gives None."""
    if mode == "none":
        return None
    y = np.asarray(y, dtype=int)
    n, n_pos = len(y), int(y.sum())
    return np.where(y == 1, n / (2.0 * n_pos), n / (2.0 * (n - n_pos)))


def class_offset(y: np.ndarray, mode: str) -> float:
    """log(non-churners / churners) under balanced weights: how far the best constant log-odds moves."""
    if mode == "none":
        return 0.0
    y = np.asarray(y, dtype=int)
    return float(np.log((len(y) - y.sum()) / y.sum()))


def _dataset(frame: pd.DataFrame, features: list[str], mode: str, prior: Prior | None, offset: float) -> lgb.Dataset:
    y = frame["churned"].to_numpy()
    return lgb.Dataset(
        frame[features],
        label=y,
        weight=class_weights(y, mode),
        init_score=init_log_odds(prior, offset, frame),
        free_raw_data=False,
    )


def split_probe(train: pd.DataFrame, horizon_days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(probe training rows, validation rows): the validation cutoff is the newest; the probe
    gets the cutoffs whose label windows close on or before it."""
    valid_cutoff = train["cutoff"].max()
    closed = train["cutoff"] + pd.Timedelta(days=horizon_days) <= valid_cutoff
    return train[closed], train[train["cutoff"] == valid_cutoff]


def train_model(
    train: pd.DataFrame,
    features: list[str],
    settings: TrainSettings,
    horizon_days: int,
    history: pd.DataFrame | None = None,
) -> TrainedModel:
    """Fit the calibrated model on the training snapshots (`churned` labelled, several cutoffs).

    `history` holds every customer with history at the training cutoffs (lapsed ones too),
    which the BG/NBD prior is fitted on; without it, the prior is fitted on `train`."""
    if train["cutoff"].nunique() < 2:
        raise ValueError("training needs at least two cutoffs: the newest one validates early stopping")
    if train["churned"].nunique() < 2:
        raise ValueError("training snapshots hold only one class: every customer churned or none did")
    probe_rows, valid = split_probe(train, horizon_days)
    valid_cutoff = pd.Timestamp(valid["cutoff"].iloc[0])
    if valid["churned"].nunique() < 2:
        raise ValueError(
            f"the newest training snapshot ({valid_cutoff.date()}) holds only one class, so it can "
            "neither validate early stopping nor fit the calibrator"
        )
    if probe_rows.empty:
        raise ValueError(
            f"no training cutoff lies a full horizon ({horizon_days} days) before the newest one "
            f"({valid_cutoff.date()}), so the probe that validates early stopping and calibration "
            "has nothing to learn from without peeking past it. Raise features.n_train_cutoffs "
            "or features.cutoff_spacing_days (their product must reach churn.horizon_days)."
        )
    prior = None
    if settings.prior == "bgnbd":
        missing = [c for c in PRIOR_FEATURES if c not in features]
        if missing:
            raise ValueError(f"the BG/NBD prior needs the features {', '.join(missing)}")
        everyone = valid if history is None else history[history["cutoff"] == valid_cutoff]
        prior = Prior(bgnbd.fit_snapshot(everyone), horizon_days)
    params = lgb_params(settings)
    offset = class_offset(train["churned"].to_numpy(), settings.class_weight)
    y_valid = valid["churned"].to_numpy()
    probe = lgb.train(
        params,
        _dataset(probe_rows, features, settings.class_weight, prior, offset),
        num_boost_round=settings.n_estimators,
        valid_sets=[lgb.Dataset(valid[features], label=y_valid, init_score=init_log_odds(prior, offset, valid))],
        callbacks=[lgb.early_stopping(settings.early_stopping_rounds, verbose=False)],
    )
    best = max(1, probe.best_iteration)
    # The probe predicts with its best iteration (LightGBM's default after early stopping).
    probe_model = ChurnModel(probe, Calibrator("none"), list(features), prior, offset)
    method, why = chosen_method(settings.calibration, settings.class_weight)
    calibrator = fit_calibrator(
        probe_model.raw_proba(valid),
        y_valid,
        method,
        fitted_on={
            "cutoff": str(valid_cutoff.date()),
            "customers": int(len(valid)),
            "churn_rate": round(float(y_valid.mean()), 6),
        },
    )
    if why and not calibrator.note:
        calibrator = dataclasses.replace(calibrator, note=why)
    final = lgb.train(params, _dataset(train, features, settings.class_weight, prior, offset), num_boost_round=best)
    return TrainedModel(
        model=ChurnModel(final, calibrator, list(features), prior, offset),
        best_iteration=best,
        validation_roc_auc=float(probe.best_score["valid_0"]["auc"]),
        validation_cutoff=valid_cutoff,
        probe_cutoffs=tuple(pd.Timestamp(c) for c in sorted(probe_rows["cutoff"].unique())),
        train_cutoffs=tuple(pd.Timestamp(c) for c in sorted(train["cutoff"].unique())),
    )
