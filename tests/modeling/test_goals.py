"""The model's goals, guarded: it must beat the classic baselines out of time.

- Synthetic world (the shipped params.yaml, 20,000 customers): ROC-AUC above every
  baseline, and calibrated probabilities.
- CDNOW (real transactions shipped in the `lifetimes` package), run as a user would: the
  export converted to CSV under data/raw/, its own column mapping and date format in
  params.yaml, then the real `churn` stages. On the sample (2,357 customers, 90 days) the
  model's out-of-time ROC-AUC and top-decile lift must be at least BG/NBD's; on the master
  log (23,570 customers) at 60, 90 and 120 days its ROC-AUC at least the fair BG/NBD's
  (fitted on everyone with history) and its ECE below 0.03.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.modeling.test_bgnbd import cdnow_sample_path
from tests.test_tracking import run_stages

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.e2e


@pytest.fixture
def no_dvc_env(monkeypatch):
    for key in ("DVC_ROOT", "DVC_EXP_NAME", "DVC_STAGE"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture(scope="module")
def default_world(tmp_path_factory) -> Path:
    """The shipped params.yaml (20,000 customers, past campaigns), every stage but the report."""
    root = tmp_path_factory.mktemp("default_world")
    saved = {k: os.environ.pop(k, None) for k in ("DVC_ROOT", "DVC_EXP_NAME", "DVC_STAGE")}
    try:
        (root / "params.yaml").write_text((ROOT / "params.yaml").read_text(encoding="utf-8"), encoding="utf-8")
        run_stages(root, "generate", "ingest", "features", "train", "evaluate", "campaigns", "uplift", "score")
    finally:
        os.environ.update({k: v for k, v in saved.items() if v is not None})
    return root


def test_synthetic_world_model_beats_every_baseline_and_is_calibrated(default_world):
    tmp_path = default_world
    metrics = json.loads((tmp_path / "reports/metrics.json").read_text())
    model = metrics["model"]
    assert set(metrics["baselines"]) == {"recency", "rfm_score", "bgnbd"}
    for name, base in metrics["baselines"].items():
        assert model["roc_auc"] > base["roc_auc"] + 0.01, name
        assert model["pr_auc"] > base["pr_auc"], name
        assert model["top_decile_lift"] >= base["top_decile_lift"], name
    assert model["brier"] < metrics["baselines"]["bgnbd"]["brier"]
    # The test window is the holiday season: only a year of training cutoffs and the
    # season feature (cutoff_month) keep the probabilities honest there.
    assert "cutoff_month" in json.loads((tmp_path / "models/model.json").read_text())["features"]
    assert model["ece"] < 0.02


def _cdnow_csv(path: Path) -> None:
    """What a user does with the CDNOW master export (23,570 customers): whitespace-separated
    text with a header line -> CSV."""
    source = cdnow_sample_path().with_name("CDNOW_master.txt")
    raw = pd.read_csv(source, sep=r"\s+", header=0, dtype=str, names=["CustomerID", "Date", "CDs", "Amount"])
    path.parent.mkdir(parents=True, exist_ok=True)
    raw.to_csv(path, index=False)


def _cdnow_params(tmp_path: Path, horizon_days: int) -> dict:
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["data"].update(
        {
            "source": "file",
            "transactions": "data/raw/cdnow.csv",
            "events": None,
            "customers": None,
            "columns": {"customer_id": "CustomerID", "timestamp": "Date", "amount": "Amount"},
            "timestamp_format": "%Y%m%d",
            "exclude_status": [],
        }
    )
    for optional in ("contacts",):  # other optional tables, when this version has them
        if optional in params["data"]:
            params["data"][optional] = None
    params["churn"]["horizon_days"] = horizon_days
    return params


def _run(tmp_path: Path, params: dict, *stages: str) -> dict:
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "MLFLOW_DISABLE_TELEMETRY": "true"}
    for key in ("DVC_ROOT", "DVC_EXP_NAME", "DVC_STAGE"):
        env.pop(key, None)
    for stage in stages:
        proc = subprocess.run(["churn", stage], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f"churn {stage}:\n{proc.stdout}\n{proc.stderr}"
    return json.loads((tmp_path / "reports/metrics.json").read_text())


def test_measured_campaign_effects_cover_the_true_effects(default_world):
    """Every action x segment cell pooled over the closed campaigns with 500+ control customers:
    its 95% interval holds the true effect (mean over the cell's customers of the chance of a
    purchase with the action minus without it, from data/truth/) in at least 90% of cells."""
    from churn.campaigns.effects import ALL, SEGMENT_FIELDS, segment_values

    outcomes = pd.read_parquet(default_world / "data/processed/campaign_outcomes.parquet")
    truth = pd.read_csv(default_world / "data/truth/campaigns.csv", dtype={"customer_id": str})
    effects = pd.read_csv(default_world / "reports/campaign_effects.csv", dtype={"segment": str})
    cells = outcomes.merge(truth[["campaign", "customer_id", "true_effect"]], on=["campaign", "customer_id"])
    assert len(cells) == len(outcomes)  # every measured contact has its truth
    true = []
    for field in (ALL, *SEGMENT_FIELDS):
        segment = pd.Series(ALL, index=cells.index) if field == ALL else segment_values(cells[field])
        by = cells.assign(segment=segment).groupby(["action", "segment"])["true_effect"].mean()
        true.append(by.rename("truth").reset_index().assign(segment_by=field))
    pooled = effects[effects["campaign"] == ALL].merge(pd.concat(true), on=["segment_by", "segment", "action"])
    big = pooled[pooled["n_control"] >= 500]
    covered = (big["ci_low"] <= big["truth"]) & (big["truth"] <= big["ci_high"])
    assert len(big) >= 20 and covered.mean() >= 0.9, big.loc[~covered]


def test_sleeping_dogs_are_found_and_left_alone_by_the_next_plan(default_world):
    """The world's re-engagement email drives content customers away: it is measured as harmful
    (overall and in the segments where those customers are), and the plan sends it to nobody
    there; customers who are sleeping dogs in the truth get fewer contacts than before."""
    summary = json.loads((default_world / "reports/campaigns.json").read_text())
    assert summary["pooled"]["reengagement_email"]["verdict"] == "harms"
    assert summary["pooled"]["reengagement_email"]["ci_high"] < 0
    assert any(h.startswith("reengagement_email where rfm_segment =") for h in summary["harmful"])
    scores = pd.read_parquet(default_world / "data/scores/churn_scores.parquet")
    assert not (scores["recommended_action"] == "reengagement_email").any()
    assert not (scores["held_out_action"] == "reengagement_email").any()
    plan = json.loads((default_world / "data/scores/churn_scores.summary.json").read_text())
    sources = {(s["action"], s["segment"]): s["source"] for s in plan["success_rates"]}
    assert sources[("reengagement_email", "all")] == "measured: harmful for all customers, never offered"


def test_uplift_targeting_beats_risk_targeting_on_the_newest_campaign(default_world):
    """Replayed on the newest closed campaign at the default budget, with the ground truth:
    uplift targeting truly keeps more customers than risk targeting (which loses some),
    contacts far fewer sleeping dogs, and ranks at least as well as scikit-uplift's best
    learner (mean Qini within 0.01). What it does not reach (1.5x of a positive risk gain,
    70% of the oracle) is said in docs/uplift.md."""
    evaluation = json.loads((default_world / "reports/uplift.json").read_text())["evaluation"]
    rules = evaluation["policies"]
    uplift, risk, oracle = rules["uplift"], rules["risk"], rules["oracle"]
    assert uplift["true_incremental_customers"] > risk["true_incremental_customers"] + 10
    assert risk["true_incremental_customers"] < 0 < oracle["true_incremental_customers"]
    assert uplift["sleeping_dogs_contacted"] * 5 < risk["sleeping_dogs_contacted"]
    assert uplift["qini_mean"] >= rules["reference"]["qini_mean"] - 0.01
    assert uplift["cost"] < risk["cost"]


def test_cdnow_master_model_beats_the_fair_bgnbd_and_is_calibrated_at_each_horizon(tmp_path):
    """The real log at 60, 90 and 120 days with the shipped settings: the features stage
    keeps the training cutoffs that fit 18 months; BG/NBD is fitted on everyone with history."""
    _cdnow_csv(tmp_path / "data/raw/cdnow.csv")
    for horizon in (60, 90, 120):
        metrics = _run(
            tmp_path,
            _cdnow_params(tmp_path, horizon),
            *(["ingest"] if horizon == 60 else []),
            "features",
            "train",
            "evaluate",
        )
        model, bg = metrics["model"], metrics["baselines"]["bgnbd"]
        versus = metrics["comparison"]["versus"]["bgnbd"]["roc_auc"]
        assert model["roc_auc"] >= bg["roc_auc"] and versus["difference"] >= 0, (horizon, versus)
        assert versus["ci_low"] <= versus["difference"] <= versus["ci_high"]
        assert model["ece"] < 0.03, (horizon, model["ece"])
        assert metrics["skill"]["has_skill"], metrics["skill"]
        for name in ("recency", "rfm_score"):
            assert model["roc_auc"] > metrics["baselines"][name]["roc_auc"], (horizon, name)
