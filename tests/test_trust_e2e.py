"""Trust, end to end: a model without skill never steers the budget, and a champion competes
only within its setup (horizon and data), on copies of the shared pipeline project."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.projects import BIN, client_for, copy_project, sh, training_runs

pytestmark = pytest.mark.e2e


def _set(project: Path, section: str, key: str, value) -> None:
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    params[section][key] = value
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")


def _churn(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "MLFLOW_DISABLE_TELEMETRY": "true"}
    return subprocess.run(["churn", *args], cwd=project, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def no_skill(pipeline_project, tmp_path_factory) -> Path:
    """The shared project with its labels shuffled within each cutoff: nothing can be learnt."""
    project = copy_project(pipeline_project, tmp_path_factory.mktemp("trust") / "no_skill")
    path = project / "data/processed/snapshots.parquet"
    snaps = pd.read_parquet(path)
    rng = np.random.default_rng(7)
    for _, rows in snaps.groupby("cutoff").groups.items():
        snaps.loc[rows, "churned"] = rng.permutation(snaps.loc[rows, "churned"].to_numpy())
    snaps.to_parquet(path, index=False)
    for stage in ("train", "evaluate", "score"):
        sh(["churn", stage], project)
    return project


def test_evaluate_flags_a_model_without_skill_and_does_not_promote_it(no_skill, capsys):
    metrics = json.loads((no_skill / "reports/metrics.json").read_text())
    skill = metrics["skill"]
    assert skill["has_skill"] is False and skill["beats_best_baseline"] is False
    assert "includes 0.5 (chance)" in skill["reason"] or "ranks worse than" in skill["reason"]
    client = client_for(no_skill)
    runs = training_runs(client, client.get_experiment_by_name("churn").experiment_id)
    newest = runs[-1]
    assert newest.data.tags["skill"] == "no"
    assert newest.data.tags["champion_decision"].startswith("not promoted: version")
    assert "HAS NO SKILL" in newest.data.tags["mlflow.note.content"]
    # The champion is still the model that had skill.
    champion = client.get_model_version_by_alias("churn-model", "champion")
    assert champion.run_id == runs[0].info.run_id
    summary = sh(["churn", "summary"], no_skill).stdout
    assert "WARNING: the model has no skill:" in summary


def test_scoring_falls_back_to_bgnbd_and_says_why(no_skill):
    scores = pd.read_parquet(no_skill / "data/scores/churn_scores.parquet")
    assert set(scores["ranked_by"]) == {"bgnbd"}
    summary = json.loads((no_skill / "data/scores/churn_scores.summary.json").read_text())
    assert summary["ranking"]["by"] == "bgnbd" and summary["ranking"]["planned"] is True
    assert "so customers are ranked by BG/NBD" in summary["ranking"]["why"]
    acted = scores[scores["priority"].notna() & (scores["status"] == "active")]
    assert len(acted) and acted["reason_1"].str.startswith("their buying rhythm alone gives a").all()


def test_no_plan_scores_but_spends_nothing(no_skill, tmp_path):
    project = copy_project(no_skill, tmp_path / "no_plan")
    _set(project, "score", "without_skill", "no_plan")
    sh(["churn", "score"], project)
    summary = json.loads((project / "data/scores/churn_scores.summary.json").read_text())
    assert summary["spend"] == 0 and summary["expected_customers_retained"] == 0
    assert (
        summary["ranking"]
        == {
            "by": "model",
            "planned": False,
            "why": summary["ranking"]["why"],
        }
        and "no action planned" in summary["ranking"]["why"]
    )


def test_a_champion_competes_only_within_its_horizon_and_scoring_refuses_another(pipeline_project, tmp_path):
    project = copy_project(pipeline_project, tmp_path / "horizon60")
    client = client_for(project)
    first = client.get_model_version_by_alias("churn-model", "champion")
    (scoped,) = [a for a in first.aliases if a.startswith("champion-90d-")]

    _set(project, "churn", "horizon_days", 60)
    refused = _churn(project, "score", "--model", "models:/churn-model@champion", "--output", "x.csv")
    assert refused.returncode == 2
    assert "models:/churn-model@champion was trained for churn.horizon_days 90, but params.yaml sets 60" in (
        refused.stderr + refused.stdout
    )
    assert not (project / "x.csv").exists()

    for stage in ("features", "train", "evaluate"):
        sh(["churn", stage], project)
    newest = client.get_model_version_by_alias("churn-model", "champion")
    sixty = [a for a in newest.aliases if a.startswith("champion-60d-")]
    assert newest.version != first.version and sixty, newest.aliases  # a new setup: its own champion
    # The 90-day champion is untouched: models of another horizon never replace it.
    assert client.get_model_version_by_alias("churn-model", scoped).version == first.version
    run = client.get_run(newest.run_id)
    assert run.data.tags["setup"].startswith("60d-")
    assert run.data.tags["champion_decision"].startswith(f"promoted version {newest.version} to {sixty[0]}")
    sh(["churn", "score", "--model", f"models:/churn-model@{sixty[0]}", "--output", "y.csv"], project)
    summary = json.loads((project / "y.summary.json").read_text())
    assert summary["model"]["horizon_days"] == 60 and summary["model"]["version"] == int(newest.version)
    assert summary["model"]["data_sha256"] and summary["model"]["uri"] == f"models:/churn-model@{sixty[0]}"
    labels = pd.read_csv(project / "y.csv")["ranked_by"].unique()
    assert list(labels) == [f"models:/churn-model@{sixty[0]} v{newest.version} (60d, data {scoped[-8:]})"]
