"""MLflow tracking: what a training + evaluation run records, the pyfunc model, the champion rule.

The stages run in-process on a small synthetic world in a temporary project.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from churn import layout, tracking
from churn.config import load_params
from churn.inputs.model import local_model

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("generate", "ingest", "features", "train", "evaluate")


def run_stages(root: Path, *stages: str) -> dict:
    import importlib

    params = load_params(root / "params.yaml")
    out = {}
    for name in stages:
        out[name] = importlib.import_module(f"churn.stages.{name}").run(root, params)
    return out


def build_project(root: Path, n_customers: int = 1500) -> Path:
    """params.yaml from the repo with a small world, a git commit, and the stages up to evaluate."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["generate"]["n_customers"] = n_customers
    root.mkdir(parents=True, exist_ok=True)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    git = ["git", "-c", "user.email=test@example.com", "-c", "user.name=test"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "params.yaml"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "params"], cwd=root, check=True)
    run_stages(root, *STAGES)
    return root


@pytest.fixture(scope="session")
def tracked_project(tmp_path_factory) -> Path:
    """A small project after generate..evaluate, with one MLflow run and a champion."""
    saved = {k: os.environ.pop(k, None) for k in ("DVC_ROOT", "DVC_EXP_NAME", "DVC_STAGE")}
    try:
        yield build_project(tmp_path_factory.mktemp("tracked"))
    finally:
        os.environ.update({k: v for k, v in saved.items() if v is not None})


def client_for(root: Path):
    from mlflow.tracking import MlflowClient

    uri = tracking.tracking_uri(root)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def the_run(root: Path):
    client = client_for(root)
    exp = client.get_experiment_by_name("churn")
    runs = client.search_runs([exp.experiment_id], order_by=["attributes.start_time ASC"])
    return client, runs


def test_run_logs_params_metrics_features_fingerprint_and_context(tracked_project):
    client, runs = the_run(tracked_project)
    run = runs[0]
    params, metrics, tags = run.data.params, run.data.metrics, run.data.tags
    # Every model-relevant param, flattened.
    for key in (
        "train.num_leaves",
        "train.calibration",
        "train.prior",
        "train.class_weight",
        "churn.horizon_days",
        "features.n_train_cutoffs",
        "data.source",
        "data.columns.customer_id",
        "generate.n_customers",
        "mlflow.registered_model",
        "best_iteration",
    ):
        assert key in params, key
    assert params["generate.n_customers"] == "1500"
    # Model and every baseline, ranking and probability metrics.
    for key in (
        "test_roc_auc",
        "test_pr_auc",
        "test_brier",
        "test_log_loss",
        "test_ece",
        "test_top_decile_lift",
        "test_captured_top10",
        "test_captured_top20",
        "baseline_bgnbd_roc_auc",
        "baseline_bgnbd_ece",
        "baseline_rfm_score_roc_auc",
        "baseline_recency_top_decile_lift",
        "bgnbd_r",
    ):
        assert key in metrics, key
    assert "baseline_recency_brier" not in metrics  # a ranking, not a probability
    metrics_json = json.loads((tracked_project / layout.METRICS).read_text())
    assert metrics["test_roc_auc"] == pytest.approx(metrics_json["model"]["roc_auc"])
    # Data fingerprint, model hash and the code version.
    snapshots_sha = hashlib.sha256((tracked_project / layout.SNAPSHOTS).read_bytes()).hexdigest()
    assert tags[tracking.DATA_HASH_TAG] == snapshots_sha
    assert tags[tracking.MODEL_HASH_TAG] == hashlib.sha256((tracked_project / layout.MODEL).read_bytes()).hexdigest()
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tracked_project, capture_output=True, text=True).stdout
    assert tags["git_commit"] == head.strip()
    assert tags["champion_decision"].startswith("promoted version 1")
    # Feature list, plots and figures as artifacts.
    features = json.loads(Path(client.download_artifacts(run.info.run_id, "features.json")).read_text())["features"]
    assert features == json.loads((tracked_project / layout.MODEL_META).read_text())["features"]
    figures = {Path(a.path).name for a in client.list_artifacts(run.info.run_id, "figures")}
    assert {"roc.png", "precision_recall.png", "calibration.png", "gains.png", "feature_importance.png"} <= figures
    gains = {Path(a.path).name for a in client.list_artifacts(run.info.run_id, "plots/gains")}
    assert gains == {"model.csv", "bgnbd.csv", "rfm_score.csv", "recency.csv"}


def test_registered_pyfunc_returns_the_calibrated_probabilities(tracked_project):
    import mlflow

    uri = tracking.tracking_uri(tracked_project)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    pyfunc = mlflow.pyfunc.load_model("models:/churn-model@champion")
    assert pyfunc.metadata.signature is not None
    model = local_model(tracked_project)
    features = model.features
    snaps = pd.read_parquet(tracked_project / layout.SNAPSHOTS)
    sample = snaps[snaps["split"] == "test"].head(200)
    got = np.asarray(pyfunc.predict(sample[features]))
    assert np.allclose(got, model.predict_proba(sample), rtol=0, atol=1e-12)
    assert ((got > 0) & (got < 1)).all() and len(np.unique(got.round(6))) > 10
    # The calibrator is part of what is served: raw booster output differs from it.
    assert not np.allclose(got, model.raw_proba(sample))


def test_same_data_and_params_give_the_same_files_and_a_second_run(tracked_project):
    before = {p: (tracked_project / p).read_bytes() for p in (layout.MODEL, layout.MODEL_META, layout.METRICS)}
    plots_before = {p: p.read_bytes() for p in sorted((tracked_project / layout.PLOTS).rglob("*.csv"))}
    result = run_stages(tracked_project, "train", "evaluate")
    for path, data in before.items():
        assert (tracked_project / path).read_bytes() == data, path
    for path, data in plots_before.items():
        assert path.read_bytes() == data, path
    client, runs = the_run(tracked_project)
    assert len(runs) == 2
    # An equal model does not take the champion alias from the current one; the run says so.
    assert result["evaluate"]["champion"].startswith("kept champion version 1")
    assert runs[1].data.tags["champion_decision"] == result["evaluate"]["champion"]
    assert str(client.get_model_version_by_alias("churn-model", "champion").version) == "1"


def test_dvc_context_becomes_tags(monkeypatch, tmp_path):
    monkeypatch.setenv("DVC_EXP_NAME", "tidy-lark")
    monkeypatch.setenv("DVC_STAGE", "train")
    tags = tracking.context_tags(tmp_path)  # not a git repo: no commit tag
    assert tags == {"dvc_exp_name": "tidy-lark", "dvc_stage": "train"}


def test_store_follows_dvc_root(monkeypatch, tmp_path):
    monkeypatch.delenv("DVC_ROOT", raising=False)
    assert tracking.tracking_uri(tmp_path) == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    parent = tmp_path / "parent"
    parent.mkdir()
    monkeypatch.setenv("DVC_ROOT", str(parent))  # dvc exp run --temp: runs land in the parent repo
    assert tracking.tracking_uri(tmp_path / "executor") == f"sqlite:///{parent.resolve() / 'mlflow.db'}"


def test_flatten_params():
    flat = tracking.flatten(
        {"train": {"num_leaves": 31}, "data": {"columns": {"amount": "x"}, "events": None}, "exclude": ["A", "B"]}
    )
    assert flat == {"train.num_leaves": 31, "data.columns.amount": "x", "data.events": "null", "exclude": "A,B"}
