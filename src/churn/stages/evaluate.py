"""Stage `evaluate`: judge the model and the classic baselines on the out-of-time test snapshot.

Writes reports/metrics.json (DVC metrics: the model and each baseline), reports/plots/
(DVC plots: ROC, precision-recall, calibration, cumulative gains per scorer, and the
feature importance) and the same as PNGs in reports/figures/; logs the metrics, plots and
figures to MLflow (a child of the training run) and decides the champion of the model's
setup (its horizon and data): the model must beat the best baseline with the bootstrap
interval of the ROC-AUC difference above 0, and the setup's current champion.

metrics.json also says, for the model minus each baseline, the difference in ROC-AUC,
PR-AUC and top-decile lift with a 95% interval (customers resampled; modeling/compare.py),
whether the model has skill (`skill`; `churn score` falls back to BG/NBD when it has not)
and which calibration was used (`calibration`, with a note when platt was refused).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from churn import curve_figures, io, layout, tracking
from churn.config import Params
from churn.errors import ChurnError
from churn.features.snapshots import feature_columns
from churn.inputs import snapshots
from churn.inputs.model import local_model
from churn.modeling import evaluate as ev
from churn.modeling.baselines import score_baselines
from churn.modeling.calibrate import calibration_facts
from churn.modeling.compare import best_baseline, compare, skill_verdict
from churn.scoring.predict import check_features, predict_proba

# (curve, x column, y column, title, diagonal reference line, probabilities only)
CURVES = (
    ("roc", "fpr", "tpr", "ROC (out-of-time test)", True, False),
    ("precision_recall", "recall", "precision", "Precision-recall (out-of-time test)", False, False),
    ("calibration", "predicted", "observed", "Calibration (out-of-time test)", True, True),
    ("gains", "customers", "captured", "Cumulative gains (out-of-time test)", True, False),
)
_POINTS = {
    "roc": ev.roc_points,
    "precision_recall": ev.precision_recall_points,
    "calibration": ev.calibration_points,
    "gains": ev.gains_points,
}


HEADLINE = ("roc_auc", "pr_auc", "ece")  # on the training run too, so the runs table shows them


def flat_metrics(metrics: dict) -> dict[str, float]:
    """MLflow metric names, grouped by scorer for the UI's charts: model/<metric>,
    <baseline>/<metric>, bgnbd_params/<param>, test/customers, test/churn_rate and
    model_minus_<baseline>/<metric>_{difference,ci_low,ci_high}."""
    flat = {f"model/{k}": v for k, v in metrics["model"].items()}
    for name, values in metrics["baselines"].items():
        flat.update({f"{name}/{k}": v for k, v in values.items()})
    flat.update({f"bgnbd_params/{k}": v for k, v in metrics["bgnbd_params"].items()})
    flat.update({"test/customers": float(metrics["test_customers"]), "test/churn_rate": metrics["test_churn_rate"]})
    for name, per_metric in metrics["comparison"]["versus"].items():  # model minus baseline, with its interval
        for metric, cell in per_metric.items():
            flat.update({f"model_minus_{name}/{metric}_{k}": v for k, v in cell.items()})
    return flat


def run(root: Path, params: Params) -> dict:
    model = local_model(root)
    features = model.features
    snaps = snapshots.load(root)
    history = snaps[snaps["split"] == "test"]  # every customer with history: BG/NBD is fitted on them
    test = history[history["is_active"]]  # the rows every scorer is judged on
    if test.empty or test["churned"].nunique() < 2:
        raise ChurnError("the out-of-time test snapshot is empty or holds only one class; nothing to evaluate")
    check_features(features, feature_columns(snaps))
    y = test["churned"].to_numpy()
    try:
        baselines = score_baselines(test, params.churn.horizon_days, history)
    except ValueError as exc:
        raise ChurnError(f"baselines failed on the test snapshot: {exc}") from None
    scores: dict[str, np.ndarray] = {"model": predict_proba(model, test, features), **baselines.scores}
    probabilities = {"model"} | {n for n in baselines.scores if baselines.is_probability(n)}
    metrics = {
        "test_cutoff": str(test["cutoff"].max().date()),
        "test_customers": int(len(test)),
        "test_churn_rate": round(float(y.mean()), 6),
        "model": ev.probability_metrics(y, scores["model"]),
        "baselines": {
            name: (ev.probability_metrics if name in probabilities else ev.ranking_metrics)(y, s)
            for name, s in baselines.scores.items()
        },
        "bgnbd_params": baselines.bgnbd_params.as_dict(),
    }
    comparison = compare(y, scores)
    best = best_baseline(metrics["baselines"])
    metrics["comparison"] = comparison
    metrics["skill"] = skill_verdict(metrics["model"]["roc_auc"], comparison, best)
    metrics["calibration"] = calibration_facts(model.calibrator)
    metrics["model_sha256"] = model.card.get("model_sha256")  # whose verdict `skill` is

    # Every file is staged and moved into place only after MLflow holds the evaluation and the
    # champion decision: a locked store leaves the previous metrics, plots and figures.
    with io.staged_files(root, "evaluate") as stage:
        plot_files, figure_files = _write_curves(root, stage, y, scores, probabilities, model, features)
        metrics_file = stage(root / layout.METRICS)
        io.write_json(metrics, metrics_file)

        experiment_id = tracking.configure(root, params.mlflow)
        run_id = tracking.find_run(experiment_id, model.card["model_sha256"])  # local_model checked it
        if run_id is None:
            raise ChurnError(
                "no MLflow run found for models/model.txt (was mlflow.db deleted?); rerun `dvc repro --force train`"
            )
        artifacts: dict[str, list[Path]] = {"figures": figure_files, "": [metrics_file]}
        for path in plot_files:  # keep reports/plots/<curve>/<scorer>.csv apart in MLflow too
            artifacts.setdefault(path.parent.relative_to(metrics_file.parent).as_posix(), []).append(path)
        headline = {f"test_{k}": metrics["model"][k] for k in HEADLINE}
        tracking.log_evaluation(run_id, flat_metrics(metrics), headline, artifacts)
        setup = tracking.setup_name(model.card["horizon_days"], model.card["data"]["sha256"])
        decision = tracking.promote_if_better(
            params.mlflow, run_id, round(headline[tracking.DECISION_METRIC], 4), setup, metrics["skill"]
        )
    versus = comparison["versus"][best]
    return {
        "roc_auc": {"model": metrics["model"]["roc_auc"]} | {n: m["roc_auc"] for n, m in metrics["baselines"].items()},
        "ece": metrics["model"]["ece"],
        "best_baseline": best,
        "versus_best_baseline": versus,
        "skill": metrics["skill"],
        "calibration": metrics["calibration"],
        "champion": decision,
    }


def _write_curves(root: Path, stage, y, scores, probabilities, model, features) -> tuple[list[Path], list[Path]]:
    """The plot tables (reports/plots/) and figures (reports/figures/), written to `stage(target)`."""
    plot_files: list[Path] = []
    figure_files: list[Path] = []
    for name, x, yname, title, diagonal, probs_only in CURVES:
        per_scorer = {n: _POINTS[name](y, s) for n, s in scores.items() if n in probabilities or not probs_only}
        for scorer, table in per_scorer.items():
            path = stage(root / layout.PLOTS / name / f"{scorer}.csv")
            io.write_table(table, path)
            plot_files.append(path)
        fig = curve_figures.line_figure(per_scorer, x, yname, title, diagonal)
        figure_files.append(_figure(stage(root / layout.FIGURES / f"{name}.png"), fig))
    importance = ev.feature_importance(model.booster, features)
    path = stage(root / layout.PLOTS / "feature_importance.csv")
    io.write_table(importance, path)
    plot_files.append(path)
    fig = curve_figures.importance_figure(importance)
    figure_files.append(_figure(stage(root / layout.FIGURES / "feature_importance.png"), fig))
    return plot_files, figure_files


def _figure(png: Path, fig) -> Path:
    with io.atomic_path(png) as tmp:
        curve_figures.save_png(fig, tmp)
    return png
