"""Stage `train`: fit LightGBM on the training snapshots; save the model; log an MLflow run.

Writes models/model.txt (LightGBM text format) and models/model.json (feature list and
training facts). Run ids stay out of these files so a rerun reproduces them byte for byte;
the MLflow run is found again by the model file's hash.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from churn import io, layout, tracking
from churn.config import Params
from churn.features.snapshots import feature_columns
from churn.modeling.train import lgb_params, train_model


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(root: Path, params: Params) -> dict:
    snaps = pd.read_parquet(root / layout.SNAPSHOTS)
    train = snaps[snaps["split"] == "train"]
    features = feature_columns(snaps)
    model = train_model(train, features, params.train)
    io.write_text(model.booster.model_to_string(), root / layout.MODEL)
    meta = {
        "features": model.feature_names,
        "best_iteration": model.best_iteration,
        "validation_cutoff": str(model.validation_cutoff.date()),
        "train_cutoffs": sorted(str(c.date()) for c in train["cutoff"].unique()),
        "train_rows": int(len(train)),
        "horizon_days": params.churn.horizon_days,
        "lightgbm_params": lgb_params(params.train),
    }
    io.write_json(meta, root / layout.MODEL_META)

    sha = file_sha256(root / layout.MODEL)
    experiment_id = tracking.configure(root, params.mlflow)
    logged_params = {
        **{f"train.{k}": v for k, v in params.train.model_dump().items()},
        **{f"churn.{k}": v for k, v in params.churn.model_dump().items()},
        **{f"features.{k}": v for k, v in params.features.model_dump().items()},
        "best_iteration": model.best_iteration,
        "n_features": len(features),
    }
    run_id, version = tracking.log_training(
        experiment_id,
        params.mlflow,
        params=logged_params,
        metrics={"train_rows": float(len(train)), "train_churn_rate": float(train["churned"].mean())},
        booster=model.booster,
        example=train[features].head(5),
        tags={tracking.MODEL_HASH_TAG: sha, **tracking.context_tags(root)},
        artifacts=[root / layout.MODEL_META],
    )
    return {"run_id": run_id, "model_version": version, "best_iteration": model.best_iteration}
