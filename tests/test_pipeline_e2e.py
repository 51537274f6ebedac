"""The whole `dvc repro` on a small synthetic world, in a temporary copy of the project."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml
from sklearn.metrics import roc_auc_score

from churn.scoring.scores import SCORES_TABLE_COLUMNS
from tests.projects import BIN, copy_project, sh, training_runs

pytestmark = pytest.mark.e2e
RUN = {
    "capture_output": True,
    "text": True,
    "timeout": 300,
    "env": {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},
}


@pytest.fixture
def project(pipeline_project) -> Path:
    return pipeline_project


def test_scores_cover_every_customer_with_history(project):
    scores = pd.read_csv(project / "data/scores/churn_scores.csv", dtype={"customer_id": str})
    assert list(scores.columns) == SCORES_TABLE_COLUMNS
    assert scores["customer_id"].is_unique
    assert scores["customer_id"].str.len().eq(6).all()  # leading zeros survived
    assert set(scores["status"]) == {"active", "lapsed"}
    active = scores[scores["status"] == "active"]
    assert active["churn_probability"].between(0, 1).all()
    assert active["risk_percentile"].between(0, 100).all()
    assert set(active["risk_tier"]) <= {"low", "medium", "high"}
    assert scores.loc[scores["status"] == "lapsed", "churn_probability"].isna().all()
    assert scores["rfm_segment"].notna().all() and (scores["model_clv"] >= 0).all()
    assert (active["value_at_risk"] - active["churn_probability"] * active["model_clv"]).abs().max() < 0.01
    assert scores["as_of"].nunique() == 1
    parquet = pd.read_parquet(project / "data/scores/churn_scores.parquet")
    assert len(parquet) == len(scores)


def test_an_action_is_explained_by_what_raises_the_risk_in_plain_words(project):
    scores = pd.read_parquet(project / "data/scores/churn_scores.parquet")
    acted = scores[scores["priority"].notna() & (scores["status"] == "active")]
    assert len(acted) > 0
    for _, row in acted.iterrows():
        # Planned by risk, the action's reason cites reason_1, the strongest risk-raising driver,
        # never protection; planned by uplift, the expected gain (tested below).
        if pd.isna(row["expected_uplift"]):
            assert row["action_reason"].endswith(f"({row['reason_1']})"), row["action_reason"]
        assert row["reason_1"] != row["protective_factor"]
    texts = pd.concat([scores[c] for c in ("reason_1", "reason_2", "reason_3", "protective_factor")]).dropna()
    assert len(texts) > 0 and not texts.str.contains("_").any()  # no code names
    assert not texts.str.contains("raises risk|lowers risk").any()


def test_actions_respect_budget_capacity_fatigue_and_control(project):
    params = yaml.safe_load((project / "params.yaml").read_text())["actions"]
    playbook = {a["name"]: a for a in params["playbook"]}
    scores = pd.read_parquet(project / "data/scores/churn_scores.parquet")
    acted = scores[scores["priority"].notna()]
    assert len(acted) > 0
    assert acted["recommended_action"].map(lambda a: playbook[a]["cost"]).sum() <= params["budget"]
    for name, count in acted["recommended_action"].value_counts().items():
        assert playbook[name].get("capacity") is None or count <= playbook[name]["capacity"]
    assert (acted["expected_net_benefit"] >= 0).all()  # positive before rounding to cents
    assert acted["reason_1"].notna().all()  # every customer who gets an action gets reasons
    assert sorted(acted["priority"].astype(int)) == list(range(1, len(acted) + 1))
    assert (scores.loc[scores["group"] == "control", "recommended_action"] == "no_action").all()
    assert 0.05 < (scores["group"] == "control").mean() < 0.15
    contacts = pd.read_csv(
        project / "data/raw/synthetic/contacts.csv", dtype={"customer_id": str}, parse_dates=["timestamp"]
    )
    cutoff = pd.Timestamp(scores["as_of"].iloc[0]) + pd.Timedelta(days=1)
    recent = contacts.loc[
        contacts["timestamp"] >= cutoff - pd.Timedelta(days=params["min_days_between_contacts"]), "customer_id"
    ]
    assert len(recent) > 0
    assert (scores.loc[scores["customer_id"].isin(recent), "recommended_action"] == "no_action").all()
    summary = json.loads((project / "data/scores/churn_scores.summary.json").read_text())
    assert summary["spend"] <= summary["budget"] and summary["customers"] == len(scores)


def test_score_a_customer_list_with_the_champion_from_mlflow(project, tmp_path):
    scores = pd.read_parquet(project / "data/scores/churn_scores.parquet")
    known = scores["customer_id"].iloc[:3].tolist()
    lines = ["customer_id", *known, known[0], "NOPE-1", "0" + known[1]]
    (tmp_path / "list.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "scores.csv"
    sh(
        [
            "churn",
            "score",
            "--customers",
            str(tmp_path / "list.csv"),
            "--model",
            "models:/churn-model@champion",
            "--as-of",
            "2024-11-30",
            "--output",
            str(out),
        ],
        project,
    )
    result = pd.read_csv(out, dtype={"customer_id": str})
    assert sorted(result["customer_id"]) == sorted({*known, "NOPE-1", "0" + known[1]})  # each exactly once
    status = result.set_index("customer_id")["status"]
    assert status["NOPE-1"] == "unknown" and status["0" + known[1]] == "unknown"
    assert (result["as_of"] == "2024-11-30").all()
    summary = json.loads((tmp_path / "scores.summary.json").read_text())
    assert summary["duplicate_ids_in_list"] == 1 and summary["by_status"]["unknown"] == 2


def test_model_beats_chance_and_finds_true_churners(project):
    metrics = json.loads((project / "reports/metrics.json").read_text())
    assert metrics["model"]["roc_auc"] > 0.7
    # Against the generator's ground truth, which the pipeline never reads.
    scores = pd.read_csv(project / "data/scores/churn_scores.csv", dtype={"customer_id": str})
    truth = pd.read_csv(project / "data/truth/ground_truth.csv", dtype={"customer_id": str}, parse_dates=["stop_date"])
    merged = scores[scores["status"] == "active"].merge(truth, on="customer_id")
    horizon_end = pd.Timestamp(scores["as_of"].iloc[0]) + pd.Timedelta(days=91)
    truly_gone = merged["stop_date"] < horizon_end
    assert roc_auc_score(truly_gone, merged["churn_probability"]) > 0.7


def test_ingest_accounts_for_every_row(project):
    report = json.loads((project / "reports/ingest.json").read_text())["transactions"]
    parts = ("rows_kept", "rows_filtered_status", "rows_duplicate_dropped", "rows_rejected")
    assert sum(report[p] for p in parts) == report["rows_read"]
    raw_rows = sum(1 for _ in open(project / "data/raw/synthetic/transactions.csv")) - 1
    assert report["rows_read"] == raw_rows


def test_mlflow_holds_run_metrics_and_champion(project):
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{project / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)  # the shared project: one run
    exp = client.get_experiment_by_name("churn")
    runs = training_runs(client, exp.experiment_id)
    assert len(runs) == 1
    run = runs[0]
    assert run.data.metrics["test_roc_auc"] > 0.7
    assert run.data.params["train.num_leaves"] == "31"
    champion = client.get_model_version_by_alias("churn-model", "champion")
    assert champion.run_id == run.info.run_id
    assert "promoted" in run.data.tags["champion_decision"]
    # The registered champion loads as a pyfunc and returns churn probabilities.
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    model = mlflow.pyfunc.load_model("models:/churn-model@champion")
    snaps = pd.read_parquet(project / "data/processed/snapshots.parquet")
    features = json.loads((project / "models/model.json").read_text())["features"]
    proba = model.predict(snaps[features].head(20))
    assert ((proba >= 0) & (proba <= 1)).all() and len(set(proba.round(6))) > 1


def test_second_repro_has_nothing_to_do(project):
    lock_before = (project / "dvc.lock").read_text()
    out = sh(["dvc", "repro"], project).stdout
    assert "Data and pipelines are up to date" in out
    assert (project / "dvc.lock").read_text() == lock_before


def test_changing_one_param_reruns_only_its_readers(project, tmp_path):
    copy = copy_project(project, tmp_path / "copy")
    params = yaml.safe_load((copy / "params.yaml").read_text())
    params["actions"]["budget"] = 5000
    (copy / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    status = json.loads(sh(["dvc", "status", "--json"], copy).stdout)
    assert set(status) == {"uplift", "score"}  # the uplift replay spends the same budget
    params["score"]["risk_tiers"]["high"] = 0.7  # campaigns segment by risk tier too
    (copy / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    status = json.loads(sh(["dvc", "status", "--json"], copy).stdout)
    assert set(status) == {"campaigns", "uplift", "score"}  # the budget changed too


def test_editing_the_code_that_picks_model_features_reruns_train(project, tmp_path):
    copy = copy_project(project, tmp_path / "copy")
    season = copy / "src/churn/features/season.py"
    season.write_text(season.read_text() + "\n# edited\n")
    status = json.loads(sh(["dvc", "status", "--json"], copy).stdout)
    assert "train" in status and "features" in status
    assert "ingest" not in status and "report" not in status  # they never import it


def test_forced_rerun_is_byte_identical(project, tmp_path):
    project = copy_project(project, tmp_path / "copy")  # the rerun adds an MLflow run
    outputs = [
        "data/scores/churn_scores.csv",
        "data/scores/churn_scores.parquet",
        "reports/metrics.json",
        "models/model.txt",
        "models/uplift.json",
        "reports/uplift.json",
        "data/processed/snapshots.parquet",
        "dvc.lock",
    ]
    before = {p: (project / p).read_bytes() for p in outputs}
    run = sh(["dvc", "repro", "--force", "--quiet"], project)  # as `make run` calls it
    assert {p: (project / p).read_bytes() for p in outputs} == before
    # A quiet run: one line per stage, then the summary.
    lines = run.stdout.splitlines()
    stages = ["generate", "ingest", "features", "train", "evaluate", "campaigns", "uplift", "score", "report"]
    assert [line.split(":")[0] for line in lines] == [f"churn {s}" for s in stages], run.stdout
    assert not run.stderr.strip(), run.stderr
    summary = sh(["churn", "summary"], project).stdout.splitlines()
    assert len(lines) + len(summary) <= 40


def test_scoring_a_list_needs_an_output_file(project, tmp_path):
    before = (project / "data/scores/churn_scores.csv").read_bytes()
    (tmp_path / "list.csv").write_text("customer_id\n000001\n")
    proc = subprocess.run(["churn", "score", "--customers", str(tmp_path / "list.csv")], cwd=project, **RUN)
    assert proc.returncode == 2 and "need --output" in proc.stderr
    assert (project / "data/scores/churn_scores.csv").read_bytes() == before


def test_an_as_of_day_with_nobody_active_fails_and_one_after_the_data_warns(project, tmp_path):
    proc = subprocess.run(
        ["churn", "score", "--as-of", "2030-01-01", "--output", str(tmp_path / "a.csv")], cwd=project, **RUN
    )
    assert proc.returncode == 2, proc.stderr
    assert "nobody is active as of 2030-01-01" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "a.csv").exists()
    proc = subprocess.run(
        ["churn", "score", "--as-of", "2025-01-30", "--output", str(tmp_path / "b.csv")], cwd=project, **RUN
    )
    assert proc.returncode == 0, proc.stderr
    assert "warning: --as-of 2025-01-30 is 31 days after the data's last day (2024-12-30)" in proc.stderr


def test_the_control_group_is_held_back_from_its_shadow_action_and_logged_after_the_campaign(project, tmp_path):
    scores = pd.read_csv(project / "data/scores/churn_scores.csv", dtype={"customer_id": str})
    control = scores[scores["group"] == "control"]
    assert (control["recommended_action"] == "no_action").all() and control["held_out_action"].notna().any()
    assert scores.loc[scores["group"] == "treatment", "held_out_action"].isna().all()
    out = tmp_path / "contacts.csv"
    run = subprocess.run(
        ["churn", "campaign", "log", "data/scores/churn_scores.csv", "--date", "2025-01-06", "--output", str(out)],
        cwd=project,
        **RUN,
    )
    assert run.returncode == 0, run.stderr
    log = pd.read_csv(out, dtype={"customer_id": str})
    treated = scores[(scores["group"] == "treatment") & (scores["recommended_action"] != "no_action")]
    assert len(log) == len(treated) + control["held_out_action"].notna().sum()
    assert set(log["group"]) == {"treatment", "control"} and set(log["campaign"]) == {"retention-2025-01"}


def test_a_failed_training_run_leaves_the_previous_model_in_place(project, tmp_path):
    copy = copy_project(project, tmp_path / "copy")
    before = {p: (copy / p).read_bytes() for p in ("models/model.txt", "models/model.json")}
    params = yaml.safe_load((copy / "params.yaml").read_text())
    params["train"]["learning_rate"] = -1  # refused by name when the stage starts
    (copy / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    proc = subprocess.run(["dvc", "repro", "train"], cwd=copy, **RUN)
    assert proc.returncode != 0 and "train.learning_rate" in proc.stdout + proc.stderr
    assert {p: (copy / p).read_bytes() for p in before} == before


def test_the_plan_targets_by_uplift_learnt_from_past_campaigns_and_says_why(project):
    stored = json.loads((project / "models/uplift.json").read_text())
    assert stored["model"]["campaigns"] and "booster" in stored
    evaluation = json.loads((project / "reports/uplift.json").read_text())["evaluation"]
    assert set(evaluation["policies"]) == {
        "uplift",
        "risk",
        "measured_rate",
        "random",
        "reference",
        "ceiling",
        "oracle",
    }
    assert evaluation["evaluated_on"] not in evaluation["trained_on"]  # out of time
    backtest = evaluation["backtest"]  # the newest campaigns replayed one by one, each out of time
    assert backtest["replayed"][-1] == evaluation["evaluated_on"] and len(backtest["replayed"]) >= 2
    assert all(c not in backtest["trained_on"][c] for c in backtest["replayed"])
    for result in evaluation["policies"].values():
        assert result["cost"] <= evaluation["budget"]
        assert result["contacted"] < 2 or result["ci_low"] <= result["incremental_customers"] <= result["ci_high"]
    summary = json.loads((project / "data/scores/churn_scores.summary.json").read_text())
    assert summary["policy"]["by"] == "uplift" and summary["policy"]["actions"] == stored["model"]["actions"]
    scores = pd.read_parquet(project / "data/scores/churn_scores.parquet")
    by_uplift = scores[scores["expected_uplift"].notna()]
    assert len(by_uplift) and (by_uplift["expected_uplift"] > 0).all()
    assert by_uplift["priority"].notna().all() and by_uplift["success_rate"].isna().all()
    assert by_uplift["action_reason"].str.contains(r"expected \+\d+\.\d points chance to stay", regex=True).all()
    assert set(by_uplift["recommended_action"]) <= set(stored["model"]["actions"])
    page = (project / "reports/index.html").read_text()
    assert 'id="uplift"' in page and "Qini curves" in page
