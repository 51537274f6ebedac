"""The pipeline's stages in order with `engine: spark` (local mode) and with DuckDB, on the
same small world: the same ingest report, snapshots, metrics and scores."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml

from churn import layout
from churn.cli import main
from churn.data.synthetic import generate_world
from tests.spark.compare import TOLERANCE, assert_same_scores, assert_same_snapshots

pytestmark = [pytest.mark.spark, pytest.mark.e2e]
ROOT = Path(__file__).resolve().parents[2]
STAGES = ("ingest", "features", "train", "evaluate", "score", "report")
AS_OF = "2024-11-30"


def make_project(root: Path, world, engine: str) -> Path:
    """The world as the user's own Parquet export under data/raw/, params for `engine`."""
    raw = root / "data/raw"
    raw.mkdir(parents=True)
    for name in ("transactions", "events", "customers", "contacts"):
        getattr(world, name).to_parquet(raw / f"{name}.parquet")
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["engine"] = engine
    params["data"].update(
        source="file",
        **{name: f"data/raw/{name}.parquet" for name in ("transactions", "events", "customers", "contacts")},
    )
    params["features"].update(n_train_cutoffs=3, cutoff_spacing_days=45)  # fewer cutoffs: a quicker test
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    return root


def run_stages(root: Path) -> None:
    with contextlib.chdir(root):
        for stage in STAGES:
            assert main([stage]) == 0, stage
        assert (
            main(["score", "--model", "models:/churn-model@champion", "--as-of", AS_OF, "--output", "champion.parquet"])
            == 0
        )


@pytest.fixture(scope="module")
def projects(spark, tmp_path_factory):
    """(DuckDB project, Spark project), each after every stage and a scoring with the champion."""
    for key in ("DVC_ROOT", "DVC_EXP_NAME", "DVC_STAGE"):  # set when the suite itself runs under DVC
        os.environ.pop(key, None)
    world = generate_world(500, dt.date(2023, 1, 1), 700, seed=3)
    out = []
    for engine in ("duckdb", "spark"):
        root = make_project(tmp_path_factory.mktemp(engine), world, engine)
        run_stages(root)
        out.append(root)
    return tuple(out)


def test_ingest_reports_match(projects):
    duck, spark = (json.loads((p / layout.INGEST_REPORT).read_text()) for p in projects)
    assert spark == duck
    assert duck["transactions"]["rows_filtered_status"] > 0  # cancelled orders were filtered on both


def test_snapshots_match(projects):
    duck, spark = (pd.read_parquet(p / layout.SNAPSHOTS) for p in projects)
    assert_same_snapshots(spark, duck)
    assert set(duck["split"]) == {"train", "test"} and duck["cutoff"].nunique() == 4
    assert json.loads((projects[1] / layout.CUTOFFS).read_text()) == json.loads(
        (projects[0] / layout.CUTOFFS).read_text()
    )


def test_metrics_match(projects):
    duck, spark = (json.loads((p / layout.METRICS).read_text()) for p in projects)
    assert spark.keys() == duck.keys()
    assert spark["model"] == pytest.approx(duck["model"], abs=TOLERANCE)
    assert duck["model"]["roc_auc"] > 0.7


def test_scores_match(projects):
    duck, spark = (pd.read_parquet(p / layout.SCORES_PARQUET) for p in projects)
    assert_same_scores(spark, duck)
    assert duck["recommended_action"].nunique() > 1 and duck["churn_probability"].notna().sum() > 100


def test_report_reads_what_spark_ingested_as_it_reads_the_single_node_output(projects):
    duck, spark = (json.loads((p / layout.KPIS).read_text()) for p in projects)
    assert spark == duck
    assert (projects[1] / layout.REPORT_PAGE).stat().st_size > 10_000


def test_scores_with_the_champion_from_mlflow_match(projects):
    duck, spark = (pd.read_parquet(p / "champion.parquet") for p in projects)
    assert_same_scores(spark, duck)
    assert (duck["as_of"] == AS_OF).all()
