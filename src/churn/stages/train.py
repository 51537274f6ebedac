"""Stage `train`: fit the calibrated churn model on the training snapshots; save it; log an MLflow run.

Writes models/model.txt (the LightGBM trees, text format) and models/model.json (features,
calibrator, BG/NBD prior, training facts and the data fingerprint). Run ids and times stay
out of these files, so a rerun reproduces them byte for byte; the MLflow run is found again
by the model file's hash. The run logs every model-relevant param, the feature list, the
data fingerprint, the DVC context and the model as a pyfunc that returns calibrated
churn probabilities, registered as a new version of `mlflow.registered_model`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from churn import io, layout, tracking
from churn.config import Params
from churn.errors import ChurnError
from churn.features import season
from churn.features.snapshots import feature_columns
from churn.inputs import snapshots
from churn.modeling.train import lgb_params, train_model

# The params sections that shape the model and its evaluation (logged to MLflow, flattened).
MODEL_PARAM_SECTIONS = ("data", "generate", "churn", "features", "train", "mlflow")


def model_params(params: Params) -> dict[str, object]:
    """Every model-relevant setting, flattened to dotted keys (`train.num_leaves`)."""
    raw = params.model_dump(mode="json")
    flat = tracking.flatten({k: raw[k] for k in MODEL_PARAM_SECTIONS if k in raw})
    if params.data.source != "synthetic":
        flat = {k: v for k, v in flat.items() if not k.startswith("generate.")}
    return flat


def run(root: Path, params: Params) -> dict:
    snaps = snapshots.load(root)
    history = snaps[snaps["split"] == "train"]
    train = history[history["is_active"]]  # the model's population; BG/NBD sees everyone
    features = season.model_features(feature_columns(snaps), train["cutoff"].unique())
    try:
        trained = train_model(train, features, params.train, params.churn.horizon_days, history)
    except ValueError as exc:
        raise ChurnError(f"training failed: {exc}") from None
    data_sha = io.file_sha256(root / layout.SNAPSHOTS)
    booster_text = trained.booster.model_to_string()
    meta = {
        **trained.model.to_dict(),
        "best_iteration": trained.best_iteration,
        "validation_cutoff": str(trained.validation_cutoff.date()),
        "probe_cutoffs": [str(c.date()) for c in trained.probe_cutoffs],
        "train_cutoffs": [str(c.date()) for c in trained.train_cutoffs],
        "train_rows": int(len(train)),
        "horizon_days": params.churn.horizon_days,
        # The setup a champion competes in: the same horizon and the same data (the export as
        # given, so both engines, which write different Parquet bytes, name it alike).
        "data": {
            "source": params.data.source,
            "transactions": params.data.transactions,
            "sha256": io.path_sha256(root / params.data.transactions),
        },
        "class_weight": params.train.class_weight,
        "lightgbm_params": lgb_params(params.train),
        "data_sha256": data_sha,
        # Checked on load: a truncated or mismatched model.txt is refused before LightGBM reads it.
        "model_sha256": hashlib.sha256(booster_text.encode("utf-8")).hexdigest(),
    }
    # The model files go into place only once MLflow holds the run: a locked or broken store
    # leaves the previous (evaluated) model for `churn score`, not an unevaluated one.
    with io.staged_files(root, "train") as stage:
        model_file, meta_file = stage(root / layout.MODEL), stage(root / layout.MODEL_META)
        io.write_text(booster_text, model_file)
        io.write_json(meta, meta_file)
        run_id, version = _log(root, params, trained, train, features, meta, model_file, meta_file, data_sha)
    return {
        "run_id": run_id,
        "model_version": version,
        "best_iteration": trained.best_iteration,
        "calibration": trained.model.calibrator.method,
        "prior": params.train.prior,
    }


def _log(root, params, trained, train, features, meta, model_file, meta_file, data_sha) -> tuple[str, str]:
    """The training run in MLflow, with the model registered; returns (run id, version)."""
    experiment_id = tracking.configure(root, params.mlflow)
    logged_params = {
        **model_params(params),
        "best_iteration": trained.best_iteration,
        "n_features": len(features),
        "validation_cutoff": meta["validation_cutoff"],
    }
    if trained.model.prior is not None:
        logged_params.update({f"prior.{k}": v for k, v in trained.model.prior.to_dict().items()})
    return tracking.log_training(
        experiment_id,
        params.mlflow,
        params=logged_params,
        metrics={"train_rows": float(len(train)), "train_churn_rate": float(train["churned"].mean())},
        model_dir=model_file.parent,
        model=trained.model,
        example=train[features].head(5),
        tags={
            tracking.MODEL_HASH_TAG: meta["model_sha256"],  # the SHA-256 of model_file's bytes
            tracking.DATA_HASH_TAG: data_sha,
            tracking.SETUP_TAG: tracking.setup_name(params.churn.horizon_days, meta["data"]["sha256"]),
            **tracking.context_tags(root),
        },
        artifacts=[meta_file],
        features=features,
        name=tracking.run_name("train", root, model_params(params)),
    )
