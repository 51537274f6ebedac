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
