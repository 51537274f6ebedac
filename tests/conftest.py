"""Shared fixtures: small hand-built frames and a settings object built from params.yaml."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import settings

from churn.config import Params, parse_params

ROOT = Path(__file__).resolve().parents[1]

# Property tests draw the same examples on every run, so the suite passes or fails the same
# way everywhere; HYPOTHESIS_PROFILE=explore searches new random examples.
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

# Tests never phone home either.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")


@pytest.fixture(scope="session")
def pipeline_project(tmp_path_factory) -> Path:
    """The project with a 2,000-customer world after one `dvc repro`, built once for every
    e2e test. Read it as it is; a test that changes anything works on copy_project(...)."""
    from tests.projects import new_project

    saved = {k: os.environ.pop(k, None) for k in ("DVC_ROOT", "DVC_EXP_NAME", "DVC_STAGE")}
    try:
        yield new_project(tmp_path_factory.mktemp("pipeline"), notebooks=True)
    finally:
        os.environ.update({k: v for k, v in saved.items() if v is not None})


@pytest.fixture
def raw_params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))


@pytest.fixture
def params(raw_params) -> Params:
    return parse_params(raw_params)


def tx_frame(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    """Typed transactions from (customer_id, timestamp, amount) triples."""
    cid, ts, amount = zip(*rows)
    return pd.DataFrame(
        {
            "customer_id": pd.array(cid, dtype="string"),
            "timestamp": pd.to_datetime(list(ts), format="ISO8601").astype("datetime64[ns]"),
            "amount": pd.array(amount, dtype="float64"),
        }
    )
