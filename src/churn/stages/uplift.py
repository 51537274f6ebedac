"""Stage `uplift`: whom each retention action really helps, learnt from past campaigns.

Reads the campaigns stage's outcomes (one row per measured contact, features as of the
campaign day) and the churn model's feature list; writes models/uplift.json (the uplift
model `churn score` plans with), reports/uplift.json (DVC metrics: the out-of-time
evaluation of every targeting rule on the newest closed campaign, and the backtest over
the last few), the Qini curves
(reports/uplift/qini/<rule>.csv and reports/uplift/qini.png) and an MLflow run.
On the built-in world it also reads the campaigns' ground truth: the evaluated campaign's
for the oracle and the sleeping dogs contacted, the older ones' for the ceiling (what the
features can reveal). Neither the uplift model nor the plan learns anything from it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from churn import io, layout, tracking
from churn.config import Params
from churn.curve_figures import line_figure, save_png
from churn.inputs import model as model_input
from churn.uplift.study import uplift_study


def run(root: Path, params: Params) -> dict:
    path = root / layout.CAMPAIGN_OUTCOMES
    outcomes = pd.read_parquet(path) if path.exists() else pd.DataFrame()
    features = model_input.local_model(root).features
    truth = None
    if params.data.source == "synthetic" and (root / layout.CAMPAIGN_TRUTH).exists():
        truth = io.read_table(root / layout.CAMPAIGN_TRUTH, ("campaign", "customer_id", "kind"))
        truth = truth[["campaign", "customer_id", "true_effect", "kind"]]

    study = uplift_study(outcomes, features, params, truth)

    model = study.model
    stored = (
        {"model": None, "why": study.summary["note"]}
        if model is None
        else {
            "model": model.to_dict(),
            "booster": model.booster.model_to_string(),
        }
    )
    figure = None
    if len(study.curves):
        curves = {name: rows for name, rows in study.curves.groupby("policy", sort=False)}
        figure = line_figure(curves, "share_targeted", "incremental_customers", "Qini curves, newest closed campaign")
    with io.staged_files(root, "uplift") as stage:
        io.write_json(stored, stage(root / layout.UPLIFT_MODEL))
        io.write_json(study.summary, stage(root / layout.UPLIFT))
        experiment_id = tracking.configure(root, params.mlflow)
        tracking.log_uplift(
            experiment_id,
            f"uplift from {len(study.summary['campaigns'])} campaigns",
            tracking.rounded(_metrics(study.summary)),
            {"stage": "uplift", **tracking.context_tags(root)},
            [stage(root / layout.UPLIFT_MODEL), stage(root / layout.UPLIFT)],
            figure,
        )
    # The curves folder is replaced whole (a rule without a curve this time leaves no stale file).
    with io.atomic_dir(root / layout.UPLIFT_CURVES) as folder:
        for policy, curve in study.curves.groupby("policy", sort=False):
            io.write_table(curve.drop(columns="policy"), folder / layout.UPLIFT_QINI.name / f"{policy}.csv")
        if figure is not None:
            save_png(figure, folder / layout.UPLIFT_QINI_FIGURE.name)
    return {**study.summary, "outputs": [str(layout.UPLIFT_MODEL), str(layout.UPLIFT), f"{layout.UPLIFT_CURVES}/"]}


def _metrics(summary: dict) -> dict[str, float]:
    evaluation = summary["evaluation"]
    if evaluation is None:
        return {}
    out = {}
    for policy, result in evaluation["policies"].items():
        for name in ("incremental_customers", "true_incremental_customers", "per_1000_spent", "qini_mean"):
            if isinstance(result.get(name), float | int):
                out[f"{policy}/{name}"] = result[name]
    return out
