"""Temporary copies of the project for tests that run the real `churn` and `dvc` commands."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def sh(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run a command as a user would (venv on PATH, nothing phoning home); fail loudly."""
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DVC_NO_ANALYTICS": "1",
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
    }
    for key in ("DVC_ROOT", "DVC_EXP_NAME", "DVC_STAGE"):  # set when the suite itself runs under DVC
        env.pop(key, None)
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def copy_project(source: Path, target: Path) -> Path:
    """A copy of a built project (data, DVC cache, MLflow store) that a test may change.

    MLflow keeps absolute artifact paths, so runs logged in the copy put their artifacts
    beside the source's; the source's store (its runs and aliases) is never touched."""
    shutil.copytree(source, target, symlinks=True)
    return target


def client_for(root: Path):
    """An MLflow client on the project's own store."""
    from mlflow.tracking import MlflowClient

    from churn import tracking

    uri = tracking.tracking_uri(root)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def training_runs(client, experiment_id: str) -> list:
    """The training runs of an experiment, oldest first (evaluation runs are their children;
    campaign measurements are runs of their own)."""
    return client.search_runs(
        [experiment_id], filter_string="attributes.run_name LIKE 'train:%'", order_by=["attributes.start_time ASC"]
    )


def evaluation_run(client, experiment_id: str, training_run_id: str):
    """The evaluation run, a child of the training run."""
    (run,) = client.search_runs([experiment_id], filter_string=f"tags.mlflow.parentRunId = '{training_run_id}'")
    return run


def new_project(root: Path, n_customers: int = 2000, *, notebooks: bool = False, repro: bool = True) -> Path:
    """Copy code, dvc.yaml and params.yaml (with a small world) into `root`, make it a git +
    DVC repository, and run `dvc repro` unless told not to."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    if notebooks:
        shutil.copytree(ROOT / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copy(ROOT / "dvc.yaml", root / "dvc.yaml")
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["generate"]["n_customers"] = n_customers
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    (root / ".gitignore").write_text("mlflow.db\nmlartifacts/\n", encoding="utf-8")
    sh(["git", "init", "-q"], root)
    sh(["dvc", "init", "-q"], root)
    sh(["dvc", "config", "core.analytics", "false"], root)
    sh(["git", "add", "-A"], root)
    sh(["git", "commit", "-qm", "project"], root)  # runs record the commit they ran on
    if repro:
        sh(["dvc", "repro"], root)
    return root
