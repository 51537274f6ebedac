"""`churn features` as the DVC stage and outside DVC, on a small ingested world."""

import datetime as dt
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from churn import layout
from churn.cli import main
from churn.data.synthetic import generate_world

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def world():
    return generate_world(400, dt.date(2023, 1, 1), 700, seed=7)


@pytest.fixture
def project(tmp_path, world, monkeypatch) -> Path:
    """A project whose data/interim/ holds the world as `churn ingest` would write it."""
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    interim = tmp_path / layout.INTERIM
    interim.mkdir(parents=True)
    tx = world.transactions[world.transactions["status"] != "Cancelled"]
    tx.to_parquet(interim / "transactions.parquet")
    world.events.to_parquet(interim / "events.parquet")
    world.customers.to_parquet(interim / "customers.parquet")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    return tmp_path


def test_stage_writes_labelled_snapshots_with_lapsed_customers_flagged_and_the_plan(project, capsys):
    assert main(["features"]) == 0
    snaps = pd.read_parquet(project / layout.SNAPSHOTS)
    plan = json.loads((project / layout.CUTOFFS).read_text())
    assert set(snaps["split"]) == {"train", "test"}
    # Everyone with history is there (BG/NBD is fitted on them); the model's rows are the active ones.
    lapsed = snaps[~snaps["is_active"]]
    assert len(lapsed) and (lapsed["recency_days"] > 365).all()
    assert (snaps.loc[snaps["is_active"], "recency_days"] <= 365).all()
    assert plan["rows"]["test"] == int((snaps["is_active"] & (snaps["split"] == "test")).sum())
    assert plan["lapsed_rows"]["test"] == int((~snaps["is_active"] & (snaps["split"] == "test")).sum())
    assert str(snaps["churned"].dtype) == "int8"
    assert sorted(str(c.date()) for c in snaps["cutoff"].unique()) == sorted(
        [*plan["train_cutoffs"], plan["test_cutoff"]]
    )
    assert {"logins_90d", "category_count", "loyalty_member", "rfm_segment"} <= set(snaps.columns)


def test_custom_cutoffs_keep_lapsed_customers_and_leave_open_labels_empty(project, world):
    assert main(["features", "--cutoffs", "2024-06-30, 2024-11-30", "--output", "out.csv"]) == 0
    out = pd.read_csv(project / "out.csv", dtype={"customer_id": str})
    assert set(out["split"]) == {"custom"}
    assert sorted(out["cutoff"].unique()) == ["2024-07-01T00:00:00", "2024-12-01T00:00:00"]
    assert (~out["is_active"]).any()  # lapsed customers are in, flagged
    # The data ends 2024-11-30: a 90-day label window from 2024-12-01 is not observed yet.
    assert out.loc[out["cutoff"] == "2024-12-01T00:00:00", "churned"].isna().all()
    assert out.loc[out["cutoff"] == "2024-07-01T00:00:00", "churned"].notna().all()
    assert out["customer_id"].str.len().eq(6).all()  # ids stay text
    assert not (project / layout.SNAPSHOTS).exists()  # the pipeline's output is left alone


def test_another_transactions_file_is_mapped_and_validated(project, world):
    raw = world.transactions.rename(columns={"customer_id": "Client", "amount": "Revenue"}).head(3000)
    raw.to_csv(project / "other.csv", index=False)
    text = (project / "params.yaml").read_text().replace("customer_id: customer_id", "customer_id: Client")
    (project / "params.yaml").write_text(text.replace("amount: amount", "amount: Revenue"))
    assert (
        main(["features", "--transactions", "other.csv", "--cutoffs", "2023-03-31", "--output", "other.parquet"]) == 0
    )
    out = pd.read_parquet(project / "other.parquet")
    kept = raw[(raw["status"] != "Cancelled") & (pd.to_datetime(raw["timestamp"]) < "2023-04-01")]
    assert set(out["customer_id"]) == set(kept["Client"])
    assert out["frequency"].sum() == len(kept)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--cutoffs", "2024-06-30"], "need --output"),
        (["--cutoffs", "2024-06-30", "--output", "x.txt"], "use a .csv or .parquet"),
        (["--cutoffs", "2020-01-31", "--output", "x.csv"], "no customer has a transaction before"),
    ],
)
def test_bad_requests_get_one_clear_error(project, capsys, args, message):
    assert main(["features", *args]) == 2
    assert message in capsys.readouterr().err


def test_a_bad_date_is_refused_by_name(project, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["features", "--cutoffs", "2024-02-30", "--output", "x.csv"])
    assert exit_info.value.code == 2
    assert "expected a date like 2024-06-30, got '2024-02-30'" in capsys.readouterr().err
