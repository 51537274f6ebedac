"""Stage `evaluate`: judge the model on the out-of-time test snapshot.

Writes reports/metrics.json (DVC metrics), reports/plots/*.csv (DVC plots) and
reports/figures/*.png; logs the metrics and figures to the training run in MLflow and
moves the `champion` alias when the model beats the current champion.
"""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm as lgb
import pandas as pd

from churn import io, layout, plots, tracking
from churn.config import Params
from churn.errors import ChurnError
from churn.features.snapshots import feature_columns
from churn.modeling import evaluate as ev
from churn.scoring.predict import check_features, predict_proba
from churn.stages.train import file_sha256


def load_model(root: Path) -> tuple[lgb.Booster, list[str]]:
    model_path = root / layout.MODEL
    if not model_path.exists():
        raise ChurnError(f"{model_path}: no trained model; run `dvc repro train` first")
    meta = json.loads((root / layout.MODEL_META).read_text(encoding="utf-8"))
    return lgb.Booster(model_file=str(model_path)), meta["features"]


def run(root: Path, params: Params) -> dict:
    booster, features = load_model(root)
    snaps = pd.read_parquet(root / layout.SNAPSHOTS)
    test = snaps[snaps["split"] == "test"]
    check_features(features, feature_columns(snaps))
    y = test["churned"].to_numpy()
    scores = {"model": predict_proba(booster, test, features), "recency": ev.recency_baseline(test)}
    metrics = {
        "test_cutoff": str(test["cutoff"].max().date()),
        "test_customers": int(len(test)),
        "test_churn_rate": round(float(y.mean()), 6),
        "model": ev.probability_metrics(y, scores["model"]),
        "baselines": {"recency": ev.ranking_metrics(y, scores["recency"])},
    }

    curves = {
        "roc": ({n: ev.roc_points(y, p) for n, p in scores.items()}, "fpr", "tpr", "ROC (out-of-time test)", True),
        "precision_recall": (
            {n: ev.precision_recall_points(y, p) for n, p in scores.items()},
            "recall",
            "precision",
            "Precision-recall (out-of-time test)",
            False,
        ),
        "calibration": (
            {"model": ev.calibration_points(y, scores["model"])},
            "predicted",
            "observed",
            "Calibration (out-of-time test)",
            True,
        ),
    }
    figure_paths = []
    for name, (per_model, x, yname, title, diagonal) in curves.items():
        for model_name, table in per_model.items():
            io.write_table(table, root / layout.PLOTS / name / f"{model_name}.csv")
        png = root / layout.FIGURES / f"{name}.png"
        with io.atomic_path(png) as tmp:
            plots.save_png(plots.line_figure(per_model, x, yname, title, diagonal), tmp)
        figure_paths.append(png)
    io.write_json(metrics, root / layout.METRICS)

    flat = {f"test_{k}": v for k, v in metrics["model"].items()}
    flat.update({f"baseline_recency_{k}": v for k, v in metrics["baselines"]["recency"].items()})
    experiment_id = tracking.configure(root, params.mlflow)
    run_id = tracking.find_run(experiment_id, file_sha256(root / layout.MODEL))
    if run_id is None:
        raise ChurnError(
            "no MLflow run found for models/model.txt (was mlflow.db deleted?); rerun `dvc repro --force train`"
        )
    tracking.log_evaluation(run_id, flat, figure_paths, "figures")
    decision = tracking.promote_if_better(params.mlflow, run_id, flat["test_roc_auc"])
    return {"roc_auc": metrics["model"]["roc_auc"], "champion": decision}
