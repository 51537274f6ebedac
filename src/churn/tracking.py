"""MLflow tracking: the only module that imports mlflow.

The store is `sqlite:///<project root>/mlflow.db` with artifacts in `<root>/mlartifacts`,
built from the project root (DVC sets DVC_ROOT), so `dvc exp run --temp` lands its runs
in the same database as `dvc repro`.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

# Nothing phones home: set before mlflow is imported.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import lightgbm as lgb  # noqa: E402
import mlflow  # noqa: E402
import pandas as pd  # noqa: E402
from mlflow.models import infer_signature  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

from churn.config import MlflowSettings  # noqa: E402
from churn.errors import ChurnError  # noqa: E402

CHAMPION = "champion"
MODEL_HASH_TAG = "model_sha256"
DECISION_METRIC = "test_roc_auc"


def tracking_uri(root: Path) -> str:
    return f"sqlite:///{(root / 'mlflow.db').resolve()}"


def configure(root: Path, settings: MlflowSettings) -> str:
    """Point MLflow at the project's store and return the experiment id (created if new)."""
    mlflow.set_tracking_uri(tracking_uri(root))
    mlflow.set_registry_uri(tracking_uri(root))
    try:
        exp = mlflow.get_experiment_by_name(settings.experiment)
        if exp is not None:
            return exp.experiment_id
        return mlflow.create_experiment(
            settings.experiment, artifact_location=(root / "mlartifacts").resolve().as_uri()
        )
    except Exception as exc:  # sqlalchemy/mlflow raise many types for a bad store
        raise ChurnError(f"MLflow tracking store {tracking_uri(root)} is not usable: {exc}") from None


def context_tags(root: Path) -> dict[str, str]:
    """DVC experiment/stage and git commit, so a run can be traced to its code and data."""
    tags = {k.lower(): os.environ[k] for k in ("DVC_EXP_NAME", "DVC_STAGE") if os.environ.get(k)}
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        tags["git_commit"] = commit
    except (OSError, subprocess.SubprocessError):
        pass
    return tags


def _pip_requirements() -> list[str]:
    # Listed explicitly: inferring them costs seconds per run.
    import numpy
    import sklearn

    return [
        f"lightgbm=={lgb.__version__}",
        f"pandas=={pd.__version__}",
        f"numpy=={numpy.__version__}",
        f"scikit-learn=={sklearn.__version__}",
    ]


def log_training(
    experiment_id: str,
    settings: MlflowSettings,
    *,
    params: dict[str, Any],
    metrics: dict[str, float],
    booster: lgb.Booster,
    example: pd.DataFrame,
    tags: dict[str, str],
    artifacts: list[Path],
) -> tuple[str, str]:
    """Start a run, log params/metrics/model, register a model version; return (run_id, version)."""
    with mlflow.start_run(experiment_id=experiment_id, run_name="train") as run:
        mlflow.set_tags(tags)
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        for path in artifacts:
            mlflow.log_artifact(str(path))
        signature = infer_signature(example, booster.predict(example))
        info = mlflow.lightgbm.log_model(
            booster,
            name="model",
            signature=signature,
            input_example=example,
            pip_requirements=_pip_requirements(),
            registered_model_name=settings.registered_model,
        )
        return run.info.run_id, str(info.registered_model_version)


def find_run(experiment_id: str, model_sha: str) -> str | None:
    """The newest run that trained the model with this file hash."""
    runs = mlflow.search_runs(
        experiment_ids=[experiment_id],
        filter_string=f"tags.{MODEL_HASH_TAG} = '{model_sha}'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
        output_format="list",
    )
    return runs[0].info.run_id if runs else None


def log_evaluation(run_id: str, metrics: dict[str, float], artifacts: list[Path], artifact_dir: str) -> None:
    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics(metrics)
        for path in artifacts:
            mlflow.log_artifact(str(path), artifact_path=artifact_dir)


def promote_if_better(settings: MlflowSettings, run_id: str, score: float) -> str:
    """Move the `champion` alias to this run's model version if it beats the current champion
    on the out-of-time ROC-AUC; tag the run with the decision and return it in words."""
    client = MlflowClient()
    versions = client.search_model_versions(f"name = '{settings.registered_model}' and run_id = '{run_id}'")
    if not versions:
        raise ChurnError(f"no registered version of {settings.registered_model} for run {run_id}")
    version = max(versions, key=lambda v: int(v.version))
    try:
        champ = client.get_model_version_by_alias(settings.registered_model, CHAMPION)
    except mlflow.exceptions.MlflowException:
        champ = None
    champ_score = None
    if champ is not None and champ.run_id:
        champ_score = client.get_run(champ.run_id).data.metrics.get(DECISION_METRIC)
    if champ is not None and champ.version == version.version:
        decision = f"version {version.version} is already the champion"
    elif champ_score is None or score > champ_score:
        client.set_registered_model_alias(settings.registered_model, CHAMPION, version.version)
        was = "none" if champ is None else f"version {champ.version} ({champ_score})"
        decision = f"promoted version {version.version} to champion ({score:.4f} beats {was})"
    else:
        decision = f"kept champion version {champ.version} ({champ_score:.4f} >= {score:.4f})"
    client.set_tag(run_id, "champion_decision", decision)
    return decision
