"""The trained churn model: the local files in models/, or an MLflow model URI."""

from __future__ import annotations

from pathlib import Path

from churn import io, layout
from churn.errors import ChurnError
from churn.modeling.model import ChurnModel


def local_model(root: Path) -> ChurnModel:
    """The trained model (trees, calibrator, prior) from models/."""
    model_path, meta_path = root / layout.MODEL, root / layout.MODEL_META
    if not model_path.exists() or not meta_path.exists():
        raise ChurnError(f"{model_path}: no trained model; run `dvc repro train` first")
    meta = io.read_json(meta_path)
    if "calibration" not in meta:
        raise ChurnError(f"{meta_path}: written by an older version without calibration; run `dvc repro train`")
    return ChurnModel.from_parts(model_path.read_text(encoding="utf-8"), meta)


def load(root: Path, model_uri: str | None = None) -> ChurnModel:
    """The model to score with: an MLflow model URI when given, else the local one."""
    if model_uri:
        from churn import tracking  # only when asked: importing mlflow costs seconds

        return tracking.load_churn_model(root, model_uri)
    return local_model(root)
