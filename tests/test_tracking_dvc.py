"""The tuning journey in a temporary git + DVC copy of the project:

`dvc repro`, then `dvc exp run -S train.num_leaves=63` and `dvc exp run --temp -S ...`
each add an MLflow run next to the last one in the project's mlflow.db, tagged with the
DVC experiment; `dvc metrics show`, `dvc plots diff` and `dvc exp show` read the outputs.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from tests.projects import new_project, sh

pytestmark = pytest.mark.e2e


def runs(root: Path) -> list[dict]:
    """Training runs in mlflow.db, oldest first, with their DVC tags and ROC-AUC."""
    con = sqlite3.connect(root / "mlflow.db")
    try:
        # Training runs only: their evaluation is a child run, each campaigns measurement a run of its own.
        rows = con.execute("SELECT run_uuid FROM runs WHERE name LIKE 'train:%' ORDER BY start_time").fetchall()
        out = []
        for (run_id,) in rows:
            tags = dict(con.execute("SELECT key, value FROM tags WHERE run_uuid = ?", (run_id,)).fetchall())
            params = dict(con.execute("SELECT key, value FROM params WHERE run_uuid = ?", (run_id,)).fetchall())
            metrics = dict(
                con.execute("SELECT key, value FROM latest_metrics WHERE run_uuid = ?", (run_id,)).fetchall()
            )
            out.append({"id": run_id, "tags": tags, "params": params, "metrics": metrics})
        return out
    finally:
        con.close()


def test_dvc_experiments_land_next_to_each_other_in_mlflow(tmp_path):
    root = new_project(tmp_path / "project", 800)
    sh(["git", "add", "-A"], root)
    sh(["git", "commit", "-qm", "baseline"], root)
    first = runs(root)
    assert len(first) == 1 and first[0]["tags"]["dvc_stage"] == "train"

    # Up to evaluate only: the training run and its metrics are what this test follows.
    sh(["dvc", "exp", "run", "-S", "train.num_leaves=63", "evaluate"], root)
    second = runs(root)
    assert len(second) == 2
    new = second[-1]
    assert new["params"]["train.num_leaves"] == "63"
    assert new["tags"]["mlflow.runName"] == f"train: exp {new['tags']['dvc_exp_name']}, train.num_leaves=63"
    assert new["tags"]["dvc_exp_name"] and new["tags"]["git_commit"] == new["tags"]["dvc_exp_baseline_rev"]
    assert "test_roc_auc" in new["metrics"] and "champion_decision" in new["tags"]

    # --temp runs in a throwaway copy under .dvc/tmp; its run still lands in this mlflow.db,
    # and the workspace's params and outputs are left alone.
    model_before = (root / "models/model.txt").read_bytes()
    sh(["dvc", "exp", "run", "--temp", "-S", "train.num_leaves=15", "evaluate"], root)
    third = runs(root)
    assert len(third) == 3
    assert third[-1]["params"]["train.num_leaves"] == "15"
    assert (root / "models/model.txt").read_bytes() == model_before
    assert yaml.safe_load((root / "params.yaml").read_text())["train"]["num_leaves"] == 63

    metrics = json.loads(sh(["dvc", "metrics", "show", "--json"], root).stdout)
    shown = metrics[""]["data"]["reports/metrics.json"]["data"]
    assert set(shown["baselines"]) == {"recency", "rfm_score", "bgnbd"}
    assert round(shown["model"]["roc_auc"], 4) == new["metrics"]["test_roc_auc"]  # logged with four decimals
    plots = json.loads(sh(["dvc", "plots", "diff", "--json"], root).stdout)
    # The six declared plots render: Qini, ROC, precision-recall, calibration, gains, feature importance.
    assert set(plots["data"]) == {
        "Qini",
        "ROC",
        "Precision-recall",
        "Calibration",
        "Cumulative gains",
        "Feature importance",
    }
    table = sh(["dvc", "exp", "show", "--csv"], root).stdout
    header = table.splitlines()[0]
    assert "model.roc_auc" in header and "baselines.bgnbd.roc_auc" in header and "train.num_leaves" in header
    assert sum(1 for line in table.splitlines() if ",63," in line or line.endswith(",63")) >= 1
