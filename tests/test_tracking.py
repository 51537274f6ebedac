"""MLflow tracking: what a training + evaluation run records, the pyfunc model, the champion rule.

The e2e tests read the shared pipeline project (tests/conftest.py); one reruns train and
evaluate in-process on a copy of it.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn import layout, tracking
from churn.config import load_params
from churn.inputs.model import local_model
from tests.projects import client_for, copy_project, evaluation_run, training_runs

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("generate", "ingest", "features", "train", "evaluate")


def run_stages(root: Path, *stages: str) -> dict:
    import importlib

    params = load_params(root / "params.yaml")
    return {name: importlib.import_module(f"churn.stages.{name}").run(root, params) for name in stages}


def the_run(root: Path):
    client = client_for(root)
    exp = client.get_experiment_by_name("churn")
    return client, training_runs(client, exp.experiment_id)


@pytest.mark.e2e
def test_run_logs_params_metrics_features_fingerprint_and_context(pipeline_project):
    client, runs = the_run(pipeline_project)
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
    assert params["generate.n_customers"] == "2000"
    # A name that says what the run is; the headline metrics on it, rounded for the runs table.
    assert run.info.run_name == "train: committed params"
    assert set(metrics) >= {"test_roc_auc", "test_pr_auc", "test_ece"}
    assert "test_brier" not in metrics  # the full evaluation is its own run
    metrics_json = json.loads((pipeline_project / layout.METRICS).read_text())
    assert metrics["test_roc_auc"] == round(metrics_json["model"]["roc_auc"], 4)
    # The evaluation: a child run named after it, every metric grouped by scorer.
    exp = client.get_experiment_by_name("churn")
    evaluation = evaluation_run(client, exp.experiment_id, run.info.run_id)
    assert evaluation.info.run_name == "evaluate: train: committed params"
    child = evaluation.data.metrics
    for key in (
        "model/roc_auc",
        "model/pr_auc",
        "model/brier",
        "model/log_loss",
        "model/ece",
        "model/top_decile_lift",
        "model/captured_top10",
        "model/captured_top20",
        "bgnbd/roc_auc",
        "bgnbd/ece",
        "rfm_score/roc_auc",
        "recency/top_decile_lift",
        "bgnbd_params/r",
    ):
        assert key in child, key
    assert "recency/brier" not in child  # a ranking, not a probability
    assert all(v == round(v, 4) for v in child.values())
    # Why the model is (or is not) champion, where people look.
    assert tags["mlflow.note.content"].startswith("Setup 90d-")
    assert "The model has skill: ROC-AUC" in tags["mlflow.note.content"]
    assert "Champion decision: promoted version 1 to champion-90d-" in tags["mlflow.note.content"]
    version = client.get_model_version_by_alias("churn-model", "champion")
    assert version.description == tags["mlflow.note.content"]
    # Data fingerprint, model hash and the code version.
    snapshots_sha = hashlib.sha256((pipeline_project / layout.SNAPSHOTS).read_bytes()).hexdigest()
    assert tags[tracking.DATA_HASH_TAG] == snapshots_sha
    assert tags[tracking.MODEL_HASH_TAG] == hashlib.sha256((pipeline_project / layout.MODEL).read_bytes()).hexdigest()
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=pipeline_project, capture_output=True, text=True).stdout
    assert tags["git_commit"] == head.strip()
    assert tags["champion_decision"].startswith("promoted version 1")
    # Feature list, plots and figures as artifacts.
    features = json.loads(Path(client.download_artifacts(run.info.run_id, "features.json")).read_text())["features"]
    assert features == json.loads((pipeline_project / layout.MODEL_META).read_text())["features"]
    figures = {Path(a.path).name for a in client.list_artifacts(evaluation.info.run_id, "figures")}
    assert {"roc.png", "precision_recall.png", "calibration.png", "gains.png", "feature_importance.png"} <= figures
    gains = {Path(a.path).name for a in client.list_artifacts(evaluation.info.run_id, "plots/gains")}
    assert gains == {"model.csv", "bgnbd.csv", "rfm_score.csv", "recency.csv"}


@pytest.mark.e2e
def test_registered_pyfunc_returns_the_calibrated_probabilities(pipeline_project):
    import mlflow

    uri = tracking.tracking_uri(pipeline_project)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    pyfunc = mlflow.pyfunc.load_model("models:/churn-model@champion")
    assert pyfunc.metadata.signature is not None
    model = local_model(pipeline_project)
    features = model.features
    snaps = pd.read_parquet(pipeline_project / layout.SNAPSHOTS)
    sample = snaps[snaps["split"] == "test"].head(200)
    got = np.asarray(pyfunc.predict(sample[features]))
    assert np.allclose(got, model.predict_proba(sample), rtol=0, atol=1e-12)
    assert ((got > 0) & (got < 1)).all() and len(np.unique(got.round(6))) > 10
    # The BG/NBD prior is part of what is served: the trees' own output differs from it.
    trees_alone = 1 / (1 + np.exp(-model.booster.predict(sample[features], raw_score=True)))
    assert not np.allclose(got, trees_alone)


@pytest.mark.e2e
def test_same_data_and_params_give_the_same_files_and_a_second_run(pipeline_project, tmp_path):
    pipeline_project = copy_project(pipeline_project, tmp_path / "copy")  # it adds a run
    before = {p: (pipeline_project / p).read_bytes() for p in (layout.MODEL, layout.MODEL_META, layout.METRICS)}
    plots_before = {p: p.read_bytes() for p in sorted((pipeline_project / layout.PLOTS).rglob("*.csv"))}
    result = run_stages(pipeline_project, "train", "evaluate")
    for path, data in before.items():
        assert (pipeline_project / path).read_bytes() == data, path
    for path, data in plots_before.items():
        assert path.read_bytes() == data, path
    client, runs = the_run(pipeline_project)
    assert len(runs) == 2
    # An equal model does not take the champion alias from the current one; the run says so.
    assert result["evaluate"]["champion"].startswith("kept champion-90d-")
    assert " version 1 " in result["evaluate"]["champion"]
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


def test_a_run_name_says_which_params_changed(tmp_path, monkeypatch):
    import subprocess as sp

    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    (tmp_path / "params.yaml").write_text("train:\n  num_leaves: 31\n  seed: 42\n")
    sp.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    sp.run([*git, "add", "params.yaml"], cwd=tmp_path, check=True)
    sp.run([*git, "commit", "-qm", "p"], cwd=tmp_path, check=True)
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    assert tracking.run_name("train", tmp_path, {"train.num_leaves": 31, "train.seed": 42}) == "train: committed params"
    monkeypatch.setenv("DVC_EXP_NAME", "tidy-lark")
    name = tracking.run_name("train", tmp_path, {"train.num_leaves": 63, "train.seed": 42})
    assert name == "train: exp tidy-lark, train.num_leaves=63"
