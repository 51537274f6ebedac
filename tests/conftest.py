"""Shared fixtures: small hand-built frames and a settings object built from params.yaml."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
import yaml

from churn.config import Params, parse_params

ROOT = Path(__file__).resolve().parents[1]

# Tests never phone home either.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")


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
