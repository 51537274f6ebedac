"""A broken or locked MLflow store gives a clear message, not a traceback or a hang."""

from __future__ import annotations

import sqlite3
import time

import pytest

from churn import tracking
from churn.config import MlflowSettings
from churn.errors import ChurnError


def test_damaged_store_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("DVC_ROOT", raising=False)
    (tmp_path / "mlflow.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(ChurnError, match=r"MLflow tracking store sqlite:///.*mlflow.db is not usable"):
        tracking.configure(tmp_path, MlflowSettings())


def test_locked_store_fails_fast_with_a_hint(tmp_path, monkeypatch):
    monkeypatch.delenv("DVC_ROOT", raising=False)
    tracking.configure(tmp_path, MlflowSettings(experiment="first"))
    holder = sqlite3.connect(tmp_path / "mlflow.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        start = time.monotonic()
        with pytest.raises(ChurnError, match="locked.*another process holds it"):
            tracking.configure(tmp_path, MlflowSettings(experiment="second"))
        assert time.monotonic() - start < 60
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.e2e
def test_a_locked_store_leaves_the_previous_model_in_place(pipeline_project, tmp_path):
    """Training that cannot log its run must not swap in an unevaluated model for `churn score`."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import yaml

    from tests.projects import copy_project

    project = copy_project(pipeline_project, tmp_path / "project")
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["train"]["num_leaves"] = 7  # another model than the one in place
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    before = {name: (project / "models" / name).read_bytes() for name in ("model.txt", "model.json")}
    holder = sqlite3.connect(project / "mlflow.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        env = {k: v for k, v in os.environ.items() if k != "DVC_ROOT"}
        churn = str(Path(sys.executable).parent / "churn")
        proc = subprocess.run([churn, "train"], cwd=project, env=env, capture_output=True, text=True, timeout=300)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert proc.returncode == 2, proc.stderr
    assert "another process holds it" in proc.stderr
    assert {name: (project / "models" / name).read_bytes() for name in before} == before
    assert not list(project.glob(".train.*.tmp"))  # the staged model is gone too
