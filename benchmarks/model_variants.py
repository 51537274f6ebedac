"""What the model can add to BG/NBD on a real log: variants of the model against the shipped
one, on CDNOW's master file (23,570 customers, January 1997 to June 1998).

    python benchmarks/model_variants.py [--horizons 60,90,120] [--trials 16] [--sample]

For each horizon a temporary project maps the export as benchmarks/real_data.py does and
runs `churn ingest` and `churn features` once. Every variant is then trained by the same
code as `churn train` (probe, early stopping, calibration, refit) on the same training
snapshots and scored on the same out-of-time test rows as `churn evaluate`. The table gives
each variant's ROC-AUC, PR-AUC, top-decile lift and ECE, and its ROC-AUC minus the shipped
model's and minus the fair BG/NBD's, with 95% paired-bootstrap intervals (customers
resampled).

Variants: shallower trees, slower learning, L2 and feature subsampling, monotone
constraints (risk rises with recency, falls with frequency), without the trend features,
RFM features only, no BG/NBD prior, and `tuned`: a random search of --trials settings,
each judged by the probe's ROC-AUC on the newest training cutoff (a purged time-series
split: the probe never trains on a cutoff whose label window reaches it), the winner
refit and scored once on the test rows. LightGBM settings that params.yaml does not expose
(L2, subsampling, monotone constraints) are passed here only, to see whether they earn a
param.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

import pandas as pd
from real_data import CHURN, cdnow, project  # the sibling script (benchmarks/ is on sys.path when run)

from churn.config import TrainSettings
from churn.features import rfm, season
from churn.features.snapshots import feature_columns
from churn.inputs import snapshots
from churn.modeling import evaluate as ev
from churn.modeling import train as training
from churn.modeling.baselines import score_baselines
from churn.modeling.compare import compare
from churn.scoring.predict import predict_proba

# Risk rises with days since the last purchase and falls with repeat buying.
MONOTONE = {
    "recency_days": 1,
    "overdue_ratio": 1,
    "frequency": -1,
    "active_days": -1,
    "frequency_90d": -1,
    "frequency_180d": -1,
}
TRENDS = ("frequency_trend", "monetary_trend")
SEARCH = {
    "num_leaves": [4, 7, 15, 31, 63],
    "min_child_samples": [20, 50, 100, 200, 400],
    "learning_rate": [0.02, 0.05, 0.1],
    "lambda_l2": [0.0, 1.0, 10.0],
    "feature_fraction": [0.6, 0.8, 1.0],
}
SETTINGS_KEYS = ("num_leaves", "min_child_samples", "learning_rate")


def variants() -> dict[str, dict]:
    """name -> {"train": TrainSettings overrides, "lgb": extra LightGBM params, "features": filter}."""
    return {
        "shipped": {},
        "shallow trees": {"train": {"num_leaves": 7, "min_child_samples": 200}},
        "slower learning": {"train": {"learning_rate": 0.02, "n_estimators": 1000, "early_stopping_rounds": 60}},
        "L2 + feature subsampling": {"lgb": {"lambda_l2": 10.0, "feature_fraction": 0.7}},
        "monotone constraints": {"monotone": MONOTONE},
        "without trends": {"features": lambda f: [c for c in f if c not in TRENDS]},
        "RFM features only": {"features": lambda f: [c for c in f if c in rfm.FEATURES]},
        "no BG/NBD prior": {"train": {"prior": "none"}},
    }


def fit(train, history, features, base: TrainSettings, spec: dict, horizon: int) -> training.TrainedModel:
    settings = base.model_copy(update=spec.get("train", {}))
    extra = dict(spec.get("lgb", {}))
    if "monotone" in spec:
        extra["monotone_constraints"] = [spec["monotone"].get(f, 0) for f in features]
    shipped = training.lgb_params
    with mock.patch.object(training, "lgb_params", lambda s: shipped(s) | extra):
        return training.train_model(train, features, settings, horizon, history)


def tuned_spec(train, history, features, base, horizon, trials: int) -> tuple[dict, float]:
    """The best of `trials` random settings by the probe's ROC-AUC on the newest training cutoff."""
    rng = random.Random(0)
    best: tuple[float, dict] = (-1.0, {})
    for _ in range(trials):
        draw = {k: rng.choice(v) for k, v in SEARCH.items()}
        spec = {
            "train": {k: draw[k] for k in SETTINGS_KEYS},
            "lgb": {"lambda_l2": draw["lambda_l2"], "feature_fraction": draw["feature_fraction"]},
        }
        score = fit(train, history, features, base, spec, horizon).validation_roc_auc
        if score > best[0]:
            best = (score, spec)
    return best[1], best[0]


def horizon_rows(root: Path, horizon: int, trials: int) -> list[dict]:
    snaps = snapshots.load(root)
    history = snaps[snaps["split"] == "train"]
    train = history[history["is_active"]]
    test_history = snaps[snaps["split"] == "test"]
    test = test_history[test_history["is_active"]]
    all_features = season.model_features(feature_columns(snaps), train["cutoff"].unique())
    base = TrainSettings()
    specs = variants()
    if trials:
        spec, probe_auc = tuned_spec(train, history, all_features, base, horizon, trials)
        print(f"h={horizon}: tuned {spec} (probe ROC-AUC {probe_auc:.4f})", file=sys.stderr)
        specs["tuned"] = spec
    y = test["churned"].to_numpy()
    scores, trees = {}, {}
    for name, spec in specs.items():
        features = spec.get("features", list)(all_features)
        trained = fit(train, history, features, base, spec, horizon)
        scores[name] = predict_proba(trained.model, test, features)
        trees[name] = trained.best_iteration
        print(f"h={horizon}: {name}: {trained.best_iteration} trees", file=sys.stderr)
    bgnbd = score_baselines(test, horizon, test_history).scores["bgnbd"]
    rows = []
    for name, p in scores.items():
        versus = compare(y, {name: p, "shipped": scores["shipped"], "bgnbd": bgnbd}, reference=name)["versus"]
        metrics = ev.probability_metrics(y, p)
        rows.append(
            {
                "horizon": horizon,
                "variant": name,
                "trees": trees[name],
                "ROC-AUC": f"{metrics['roc_auc']:.4f}",
                "PR-AUC": f"{metrics['pr_auc']:.4f}",
                "lift": f"{metrics['top_decile_lift']:.3f}",
                "ECE": f"{metrics['ece']:.4f}",
                "- shipped [95%]": "" if name == "shipped" else _cell(versus["shipped"]["roc_auc"]),
                "- BG/NBD [95%]": _cell(versus["bgnbd"]["roc_auc"]),
            }
        )
    return rows


def _cell(d: dict) -> str:
    return f"{d['difference']:+.4f} [{d['ci_low']:+.4f}, {d['ci_high']:+.4f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizons", default="60,90,120")
    parser.add_argument("--trials", type=int, default=16, help="random-search settings for `tuned` (0: skip)")
    parser.add_argument("--sample", action="store_true", help="CDNOW_sample.txt (2,357 customers) instead")
    args = parser.parse_args()
    source = cdnow(args.sample)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for horizon in (int(h) for h in args.horizons.split(",")):
            root = project(Path(tmp), horizon, source)
            for stage in ("ingest", "features"):
                proc = subprocess.run([CHURN, stage], cwd=root, capture_output=True, text=True)
                if proc.returncode != 0:
                    raise SystemExit(f"churn {stage} failed:\n{proc.stdout}\n{proc.stderr}")
            rows += horizon_rows(root, horizon, args.trials)
    print(f"\nCDNOW {'sample' if args.sample else 'master'}: model variants vs the shipped model, out of time\n")
    print(pd.DataFrame(rows).to_markdown(index=False))


if __name__ == "__main__":
    main()
