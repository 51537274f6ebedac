"""Stage `features`: point-in-time snapshots at the training and test cutoffs.

Writes data/processed/snapshots.parquet (one row per active customer and cutoff, with
`split` = train | test and the label `churned`) and data/processed/cutoffs.json.
"""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd

from churn import io, layout
from churn.config import Params
from churn.errors import ChurnError
from churn.features.snapshots import CutoffPlan, build_snapshots, plan_cutoffs, scoring_cutoff


def open_tables(root: Path) -> tuple[ibis.BaseBackend, ibis.Table, ibis.Table | None, ibis.Table | None]:
    """An embedded DuckDB connection and the ingested tables (events/customers if present)."""
    con = ibis.duckdb.connect()
    tx = con.read_parquet(root / layout.INTERIM_TRANSACTIONS)
    events = con.read_parquet(root / layout.INTERIM_EVENTS) if (root / layout.INTERIM_EVENTS).exists() else None
    customers = (
        con.read_parquet(root / layout.INTERIM_CUSTOMERS) if (root / layout.INTERIM_CUSTOMERS).exists() else None
    )
    return con, tx, events, customers


def plan_for(con: ibis.BaseBackend, tx: ibis.Table, params: Params) -> CutoffPlan:
    newest = pd.Timestamp(con.execute(tx.timestamp.max()))
    oldest = pd.Timestamp(con.execute(tx.timestamp.min()))
    plan = plan_cutoffs(
        scoring_cutoff(newest),
        params.churn.horizon_days,
        params.features.n_train_cutoffs,
        params.features.cutoff_spacing_days,
    )
    if plan.train[0] <= oldest:
        raise ChurnError(
            f"not enough history: the data spans {oldest.date()} to {newest.date()}, but the oldest "
            f"training cutoff would be {plan.train[0].date()}. Lower features.n_train_cutoffs, "
            "features.cutoff_spacing_days or churn.horizon_days."
        )
    return plan


def run(root: Path, params: Params) -> dict:
    con, tx, events, customers = open_tables(root)
    plan = plan_for(con, tx, params)
    snaps = build_snapshots(
        con,
        tx,
        plan.labelled(),
        active_days=params.churn.active_days,
        horizon_days=params.churn.horizon_days,
        events=events,
        customers=customers,
    )
    io.write_table(snaps, root / layout.SNAPSHOTS)
    summary = {
        "train_cutoffs": [str(c.date()) for c in plan.train],
        "test_cutoff": str(plan.test.date()),
        "score_cutoff": str(plan.score.date()),
        "rows": {s: int((snaps["split"] == s).sum()) for s in ("train", "test")},
        "churn_rate": {s: round(float(snaps.loc[snaps["split"] == s, "churned"].mean()), 6) for s in ("train", "test")},
    }
    io.write_json(summary, root / layout.CUTOFFS)
    return summary
