"""The snapshots the features stage wrote (data/processed/snapshots.parquet)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from churn import layout
from churn.errors import ChurnError


def load(root: Path) -> pd.DataFrame:
    path = root / layout.SNAPSHOTS
    if not path.exists():
        raise ChurnError(f"{path}: no snapshots yet; run `dvc repro features` first")
    return pd.read_parquet(path)
