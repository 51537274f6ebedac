"""MLflow tracking: the only module that imports mlflow.

The store is `sqlite:///<store root>/mlflow.db` with artifacts in `<store root>/mlartifacts`.
The store root is $DVC_ROOT when DVC runs the stage (for `dvc exp run --temp/--queue` DVC
points it at the parent repository, not the throwaway executor directory), else the
project root, so every experiment lands its runs in the same database as `dvc repro`.

The model is logged as a pyfunc (`ChurnPyfunc`) wrapping the LightGBM trees, the BG/NBD
prior and the calibrator, so `mlflow.pyfunc.load_model(...).predict(features)` returns
calibrated churn probabilities.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightgbm as lgb
import mlflow
import mlflow.pyfunc
import pandas as pd
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from churn.config import MlflowSettings
from churn.errors import ChurnError

# What a user cannot act on stays out of a stage's output: mlflow's cloudpickle notes and
# INFO lines.
logging.getLogger("mlflow").setLevel(logging.ERROR)

CHAMPION = "champion"
MODEL_HASH_TAG = "model_sha256"
DATA_HASH_TAG = "data_sha256"
DECISION_METRIC = "test_roc_auc"
SETUP_TAG = "setup"  # horizon and data a model competes within, e.g. 90d-1a2b3c4d
SKILL_TAG = "skill"  # set by evaluate: "yes" | "no"
SKILL_REASON_TAG = "skill_reason"


def setup_name(horizon_days: int, data_sha256: str) -> str:
    """The setup a model was trained for: its horizon and the fingerprint of its transactions export."""
    return f"{horizon_days}d-{data_sha256[:8]}"


def champion_alias(setup: str) -> str:
    """Champions are per setup: a 120-day model never competes with (or replaces) a 90-day one."""
    return f"{CHAMPION}-{setup}"


def store_root(root: Path) -> Path:
    """Where mlflow.db lives: $DVC_ROOT under DVC (the parent repo, also for --temp runs), else `root`."""
    env = os.environ.get("DVC_ROOT")
    if env and Path(env).is_dir():
        return Path(env).resolve()
    return Path(root).resolve()


def tracking_uri(root: Path) -> str:
    return f"sqlite:///{(store_root(root) / 'mlflow.db').resolve()}"


def _store_errors(func):
    """A store that is missing, damaged or locked by another process becomes one clear
    ChurnError (SQLite gives up on a lock after its busy timeout), never a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ChurnError:
            raise
        except Exception as exc:  # sqlalchemy/mlflow raise many types for a bad store
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            hint = (
                "; another process holds it (a running dvc repro?): wait for it and rerun" if "locked" in first else ""
            )
            raise ChurnError(
                f"MLflow tracking store {mlflow.get_tracking_uri()} is not usable: {first}{hint}"
            ) from None

    return wrapper


@_store_errors
def configure(root: Path, settings: MlflowSettings) -> str:
    """Point MLflow at the project's store and return the experiment id (created if new)."""
    mlflow.set_tracking_uri(tracking_uri(root))
    mlflow.set_registry_uri(tracking_uri(root))
    exp = mlflow.get_experiment_by_name(settings.experiment)
    if exp is not None:
        return exp.experiment_id
    return mlflow.create_experiment(
        settings.experiment, artifact_location=(store_root(root) / "mlartifacts").resolve().as_uri()
    )


def flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    """{"train": {"num_leaves": 31}} -> {"train.num_leaves": 31}; lists become text."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, (list, tuple)):
            out[name] = ",".join(str(v) for v in value)
        else:
            out[name] = "null" if value is None else value
    return out


def context_tags(root: Path) -> dict[str, str]:
    """DVC experiment/stage and git commit, so a run can be traced to its code and data."""
    keys = ("DVC_EXP_NAME", "DVC_STAGE", "DVC_EXP_BASELINE_REV")
    tags = {k.lower(): os.environ[k] for k in keys if os.environ.get(k)}
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        tags["git_commit"] = commit
    except (OSError, subprocess.SubprocessError):
        pass
    return tags


def changed_params(root: Path, current: dict[str, Any]) -> dict[str, Any]:
    """The flattened params that differ from params.yaml as committed (git HEAD): what a run
    (a DVC experiment, a local edit) changed. Empty outside git or when nothing changed."""
    try:
        committed = subprocess.run(
            ["git", "show", "HEAD:params.yaml"], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    import yaml

    base = flatten(yaml.safe_load(committed) or {})
    return {k: v for k, v in current.items() if k in base and str(base[k]) != str(v)}


def run_name(stage: str, root: Path, current: dict[str, Any]) -> str:
    """What a run is, at a glance in the runs table: the stage, the DVC experiment and the
    params it changed (`train: exp tidy-lark, train.num_leaves=63`), else `committed params`."""
    changed = changed_params(root, current)
    parts = [f"exp {os.environ['DVC_EXP_NAME']}"] if os.environ.get("DVC_EXP_NAME") else []
    parts += [f"{k}={v}" for k, v in sorted(changed.items())[:4]]
    if len(changed) > 4:
        parts.append(f"+{len(changed) - 4} more")
    return f"{stage}: {', '.join(parts) or 'committed params'}"


def rounded(metrics: dict[str, float], digits: int = 4) -> dict[str, float]:
    """Metrics as the UI should show them: four decimals tell runs apart, sixteen do not."""
    return {k: round(float(v), digits) for k, v in metrics.items()}


def _pip_requirements() -> list[str]:
    # Listed explicitly: inferring them costs seconds per run.
    import numpy
    import pydantic
    import scipy
    import sklearn
    import yaml

    return [
        f"mlflow=={mlflow.__version__}",
        f"lightgbm=={lgb.__version__}",
        f"pandas=={pd.__version__}",
        f"numpy=={numpy.__version__}",
        f"scipy=={scipy.__version__}",
        f"scikit-learn=={sklearn.__version__}",
        f"pydantic=={pydantic.__version__}",
        f"pyyaml=={yaml.__version__}",
    ]


class ChurnPyfunc(mlflow.pyfunc.PythonModel):
    """pyfunc wrapper: features in, calibrated churn probabilities out (one per row)."""

    def load_context(self, context) -> None:
        from churn.modeling.model import ChurnModel

        meta = json.loads(Path(context.artifacts["meta"]).read_text(encoding="utf-8"))
        booster_text = Path(context.artifacts["booster"]).read_text(encoding="utf-8")
        self.model = ChurnModel.from_parts(booster_text, meta)

    def predict(self, context, model_input: pd.DataFrame, params=None):  # the hint keeps mlflow quiet
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        return self.model.predict_proba(_categoricals(frame))


def _categoricals(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical features as pandas categories: callers such as Spark hand them over as
    text, and LightGBM maps categories (by name) onto the ones it was trained with."""
    from churn.features.attributes import CATEGORICAL

    text = [c for c in CATEGORICAL if c in frame.columns and not isinstance(frame[c].dtype, pd.CategoricalDtype)]
    if not text:
        return frame
    return frame.assign(**{c: pd.Categorical(frame[c].astype("string")) for c in text})


@contextlib.contextmanager
def spark_model_udf(root: Path, session, model_uri: str | None, model_dir: Path) -> Iterator[Any]:
    """A Spark UDF giving the churn model's calibrated probability per row, from the
    MLflow model at `model_uri`, or else the local model in `model_dir` (model.txt and
    model.json, saved as a pyfunc to a temporary directory first). Call it on a struct of
    the model's feature columns, and run the query inside the `with` block.

    The UDF runs the model in the executors' own Python (env_manager="local"): they must
    have this package and its pinned dependencies, as a local session does.
    """
    with tempfile.TemporaryDirectory(prefix="churn-model-") as tmp:
        if model_uri:
            mlflow.set_tracking_uri(tracking_uri(root))
            mlflow.set_registry_uri(tracking_uri(root))
            uri = model_uri
        else:
            uri = str(Path(tmp) / "model")
            mlflow.pyfunc.save_model(
                uri,
                python_model=ChurnPyfunc(),
                artifacts={"booster": str(model_dir / "model.txt"), "meta": str(model_dir / "model.json")},
                code_paths=[str(Path(__file__).resolve().parent)],
                pip_requirements=_pip_requirements(),
            )
        try:
            udf = mlflow.pyfunc.spark_udf(session, uri, result_type="double", env_manager="local")
        except Exception as exc:  # mlflow raises several types for a bad URI or store
            raise ChurnError(f"--model {uri}: cannot load it for Spark: {str(exc).splitlines()[0]}") from None
        yield udf


@_store_errors
def log_training(
    experiment_id: str,
    settings: MlflowSettings,
    *,
    params: dict[str, Any],
    metrics: dict[str, float],
    model_dir: Path,
    model,
    example: pd.DataFrame,
    tags: dict[str, str],
    artifacts: list[Path],
    features: list[str],
    name: str = "train",
) -> tuple[str, str]:
    """Start a run, log params/metrics/features/model, register a model version; return (run_id, version).

    `model_dir` holds model.txt and model.json; `model` is the loaded ChurnModel (for the signature).
    """
    with mlflow.start_run(experiment_id=experiment_id, run_name=name) as run:
        mlflow.set_tags(tags)
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        mlflow.log_dict({"features": list(features)}, "features.json")
        for path in artifacts:
            mlflow.log_artifact(str(path))
        signature = infer_signature(example, model.predict_proba(example))
        with contextlib.redirect_stderr(io.StringIO()):  # "Created version 2 of ...": the run says so
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=ChurnPyfunc(),
                artifacts={"booster": str(model_dir / "model.txt"), "meta": str(model_dir / "model.json")},
                code_paths=[str(Path(__file__).resolve().parent)],
                signature=signature,
                input_example=example,
                pip_requirements=_pip_requirements(),
                registered_model_name=settings.registered_model,
            )
        return run.info.run_id, str(info.registered_model_version)


@_store_errors
def find_run(experiment_id: str, model_sha: str) -> str | None:
    """The newest run that trained the model with this file hash."""
    runs = mlflow.search_runs(
        experiment_ids=[experiment_id],
        filter_string=f"tags.{MODEL_HASH_TAG} = '{model_sha}'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
        output_format="list",
    )
    return runs[0].info.run_id if runs else None


@_store_errors
def log_evaluation(
    run_id: str,
    metrics: dict[str, float],
    headline: dict[str, float],
    artifacts: dict[str, list[Path]],
    tags: dict[str, str] | None = None,
) -> str:
    """The evaluation as its own run, a child of the training run named `evaluate: <training
    run's name>`, holding every metric (grouped by scorer: `model/roc_auc`,
    `bgnbd/roc_auc`, ...) and the evaluation files (artifact dir -> files); the training
    run gets the `headline` metrics only, so the runs table shows them. Returns the child's id."""
    parent = MlflowClient().get_run(run_id)
    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics(rounded(headline))
        with mlflow.start_run(
            experiment_id=parent.info.experiment_id, run_name=f"evaluate: {parent.info.run_name}", nested=True
        ) as child:
            mlflow.log_metrics(rounded(metrics))
            mlflow.set_tags({"stage": "evaluate", **(tags or {})})
            for artifact_dir, paths in artifacts.items():
                for path in paths:
                    mlflow.log_artifact(str(path), artifact_path=artifact_dir or None)
            return child.info.run_id


@_store_errors
def log_campaigns(
    experiment_id: str, run_name: str, metrics: dict[str, float], tags: dict[str, str], artifacts: list[Path]
) -> str:
    """One run per measurement of past campaigns: pooled effects per action as metrics, the
    effects table and summary as files. Returns the run id."""
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
        mlflow.set_tags(tags)
        mlflow.log_metrics(metrics)
        for path in artifacts:
            mlflow.log_artifact(str(path), artifact_path="campaigns")
        return run.info.run_id


@_store_errors
def log_uplift(
    experiment_id: str, run_name: str, metrics: dict[str, float], tags: dict[str, str], artifacts: list[Path], figure
) -> str:
    """One run per uplift training: the evaluation's metrics, the model and the summary as
    files, and the Qini curves as a figure. Returns the run id."""
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
        mlflow.set_tags(tags)
        mlflow.log_metrics(metrics)
        for path in artifacts:
            mlflow.log_artifact(str(path), artifact_path="uplift")
        if figure is not None:
            mlflow.log_figure(figure, "uplift/qini_curves.png")
        return run.info.run_id


@_store_errors
def promote_if_better(settings: MlflowSettings, run_id: str, score: float, setup: str, verdict: dict) -> str:
    """Decide whether this run's model version becomes the champion of its setup (same
    horizon, same data): only when it beats the best baseline with the interval's lower bound
    above 0 (`verdict`, modeling/compare.skill_verdict) and the setup's current champion on
    the out-of-time ROC-AUC. A promotion moves the alias `champion-<setup>` and the plain
    `champion` (the newest promoted setup's). The decision, in words, is tagged on the run,
    written as the run's and the model version's description, and returned."""
    client = MlflowClient()
    versions = client.search_model_versions(f"name = '{settings.registered_model}' and run_id = '{run_id}'")
    if not versions:
        raise ChurnError(f"no registered version of {settings.registered_model} for run {run_id}")
    version = max(versions, key=lambda v: int(v.version))
    alias = champion_alias(setup)
    try:
        champ = client.get_model_version_by_alias(settings.registered_model, alias)
    except mlflow.exceptions.MlflowException:
        champ = None
    champ_score = None
    if champ is not None and champ.run_id:
        champ_score = client.get_run(champ.run_id).data.metrics.get(DECISION_METRIC)
    lead = verdict["reason"]
    if champ is not None and champ.version == version.version:
        decision = f"version {version.version} is already the {alias}"
    elif not verdict["beats_best_baseline"]:
        decision = (
            f"not promoted: version {version.version} does not beat the best baseline "
            f"({verdict['best_baseline']}) with an interval above 0 ({lead})"
        )
    elif champ_score is None or score > champ_score:
        for name in (alias, CHAMPION):
            client.set_registered_model_alias(settings.registered_model, name, version.version)
        was = "no champion yet" if champ is None else f"version {champ.version} at {champ_score:.4f}"
        decision = f"promoted version {version.version} to {alias} and {CHAMPION} ({score:.4f} beats {was})"
    else:
        decision = f"kept {alias} version {champ.version} ({champ_score:.4f} >= {score:.4f})"
    tags = {
        "champion_decision": decision,
        SKILL_TAG: "yes" if verdict["has_skill"] else "no",
        SKILL_REASON_TAG: verdict["reason"],
    }
    for key, value in tags.items():
        client.set_tag(run_id, key, value)
    skill = "has skill" if verdict["has_skill"] else "HAS NO SKILL"
    # Said where people look: the run's and the model version's description.
    note = f"Setup {setup}. The model {skill}: {verdict['reason']}. Champion decision: {decision}."
    client.set_tag(run_id, "mlflow.note.content", note)
    client.update_model_version(settings.registered_model, version.version, description=note)
    for key, value in tags.items():
        client.set_model_version_tag(settings.registered_model, version.version, key, value)
    return decision


def runs_frame(root: Path, settings: MlflowSettings) -> pd.DataFrame:
    """Read-only, for notebooks: every run of the experiment, newest first, one row per run
    (run_id, status, start_time, metrics.*, params.*, tags.*)."""
    if not (root / "mlflow.db").is_file():
        raise ChurnError(f"{root / 'mlflow.db'}: no MLflow store yet; run `dvc repro` first")
    mlflow.set_tracking_uri(tracking_uri(root))
    return mlflow.search_runs(experiment_names=[settings.experiment], order_by=["attributes.start_time DESC"])


def load_churn_model(root: Path, uri: str):
    """The ChurnModel behind an MLflow model URI (e.g. models:/churn-model@champion), from
    the project's store, and what its runs say about it ({"uri", "run_id", "version",
    "skill"}); used by `churn score --model`."""
    mlflow.set_tracking_uri(tracking_uri(root))
    mlflow.set_registry_uri(tracking_uri(root))
    try:
        loaded = mlflow.pyfunc.load_model(uri)
    except Exception as exc:  # mlflow raises several types for a bad URI or store
        raise ChurnError(
            f"--model {uri}: cannot load it from {tracking_uri(root)}: {str(exc).splitlines()[0]}"
        ) from None
    inner = loaded.unwrap_python_model()
    if not isinstance(inner, ChurnPyfunc):
        raise ChurnError(f"--model {uri}: not a churn model logged by this pipeline")
    run_id = loaded.metadata.run_id
    client = MlflowClient()
    tags = client.get_run(run_id).data.tags if run_id else {}
    versions = client.search_model_versions(f"run_id = '{run_id}'") if run_id else []
    skill = None
    if SKILL_TAG in tags:
        skill = {"has_skill": tags[SKILL_TAG] == "yes", "reason": tags.get(SKILL_REASON_TAG, "")}
    identity = {
        "uri": uri,
        "run_id": run_id,
        "version": max((int(v.version) for v in versions), default=None),
        "skill": skill,
    }
    return inner.model, identity
