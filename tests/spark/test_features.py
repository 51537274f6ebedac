"""The feature expressions on Spark give DuckDB's snapshots: same rows, same values."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from churn.data.synthetic import generate_world
from churn.engine import read_parquet, spark_backend
from churn.features.snapshots import build_snapshots
from churn.timeline import plan_cutoffs, scoring_cutoff
from tests.spark.compare import assert_same_snapshots

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """A small world as `churn ingest` writes it: Parquet files with nanosecond timestamps."""
    world = generate_world(300, dt.date(2023, 1, 1), 600, seed=11)
    root = tmp_path_factory.mktemp("interim")
    tx = world.transactions[world.transactions["status"] != "Cancelled"]
    paths = {
        "tx": root / "transactions.parquet",
        "events": root / "events.parquet",
        "customers": root / "customers.parquet",
    }
    tx.to_parquet(paths["tx"])
    world.events.to_parquet(paths["events"])
    world.customers.assign(tier=np.where(world.customers["loyalty_member"], "gold", "basic")).to_parquet(
        paths["customers"]
    )
    return paths, tx["timestamp"].max()


def snapshots(con, paths, newest):
    end = scoring_cutoff(newest)
    plan = plan_cutoffs(end, horizon_days=90, n_train_cutoffs=2, cutoff_spacing_days=60)
    # The test cutoff's label window is complete; the one at the end of the data is not.
    cutoffs = [*plan.labelled(), ("score", end)]
    return build_snapshots(
        con,
        read_parquet(con, paths["tx"]),
        cutoffs,
        active_days=365,
        horizon_days=90,
        labels_until=end,
        events=read_parquet(con, paths["events"]),
        customers=read_parquet(con, paths["customers"]),
        active_only=False,
    )


def test_every_feature_matches_duckdb(spark, tables):
    import ibis

    paths, newest = tables
    duck = snapshots(ibis.duckdb.connect(), paths, newest)
    ours = snapshots(spark_backend(spark), paths, newest)

    assert_same_snapshots(ours, duck)
    assert len(duck) > 500 and duck["cutoff"].nunique() == 4
    assert {"logins_90d", "category_count", "tier", "signup_age_days", "interpurchase_std_days"} <= set(duck.columns)
    assert duck["churned"].isna().sum() == (duck["split"] == "score").sum() > 0
