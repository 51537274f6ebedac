"""The trained churn model: the local files in models/, or an MLflow model URI."""

from __future__ import annotations

import hashlib
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
    if not isinstance(meta, dict) or "calibration" not in meta or "features" not in meta:
        raise ChurnError(f"{meta_path}: not a model description of this pipeline; run `dvc repro train`")
    text = model_path.read_text(encoding="utf-8", errors="replace")
    expected = meta.get("model_sha256")
    if expected and hashlib.sha256(text.encode("utf-8")).hexdigest() != expected:
        raise ChurnError(
            f"{model_path} does not match {meta_path} (truncated, edited, or from another training run); "
            "run `dvc repro train` or `dvc checkout models`"
        )
    return ChurnModel.from_parts(text, meta)


def load(root: Path, model_uri: str | None = None) -> tuple[ChurnModel, dict]:
    """The model to score with (an MLflow model URI when given, else the local one) and what
    is known about it: {"uri", "run_id", "version", "skill"}; `skill` is evaluate's verdict
    ({"has_skill", "reason"}) or None when the model was never evaluated."""
    if model_uri:
        from churn import tracking  # only when asked: importing mlflow costs seconds

        return tracking.load_churn_model(root, model_uri)
    skill = None
    metrics_path = root / layout.METRICS
    model = local_model(root)
    if metrics_path.exists():
        metrics = io.read_json(metrics_path)
        # Only the verdict on this very model counts (metrics.json may be older than model.txt).
        if isinstance(metrics, dict) and metrics.get("model_sha256") == model.card.get("model_sha256"):
            skill = metrics.get("skill")
    return model, {"uri": str(layout.MODEL), "run_id": None, "version": None, "skill": skill}
