"""The latest scores (data/scores/), checked against their summary as one set."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from churn import io, layout
from churn.errors import ChurnError


def load(root: Path) -> tuple[pd.DataFrame, dict]:
    """The scores table (Parquet) and its summary ({} when there is none). The summary, written last, holds each
    file's SHA-256: a Parquet from another run than the summary (a scoring run killed
    between its renames) is refused rather than read as a mix."""
    table_path = root / layout.SCORES_PARQUET
    summary_path = root / layout.SCORES_CSV.with_suffix(".summary.json")
    summary = io.read_json(summary_path) if summary_path.is_file() else {}
    expected = (summary.get("sha256") or {}).get(str(layout.SCORES_PARQUET)) if isinstance(summary, dict) else None
    if expected and table_path.is_file() and io.file_sha256(table_path) != expected:
        raise ChurnError(
            f"{table_path} does not match {summary_path} (a scoring run was interrupted between its files); "
            "rerun `churn score`"
        )
    return io.read_table(table_path, text_columns=("customer_id",)), summary
