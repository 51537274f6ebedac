"""Stage `features` (and `churn features`): point-in-time snapshots.

As a DVC stage: snapshots of every active customer at the planned training and test
cutoffs (README, "Time semantics") from the ingested tables, written to
data/processed/snapshots.parquet (`split` = train | test, the label `churned`) with the
plan in data/processed/cutoffs.json.

Outside DVC, `--transactions` takes another transactions file (mapped and validated with
the `data` settings, as `churn ingest` would) and `--cutoffs` takes as-of days; such
snapshots go to `--output` only, hold every customer with history (lapsed ones with
is_active = false) and have `churned` only where the label window is complete in the
data.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import pandas as pd

from churn import engine, io, layout
from churn.config import Params
from churn.data.validation import Validated
from churn.errors import ChurnError
from churn.features.snapshots import CutoffPlan, build_snapshots, cutoff_for_as_of, plan_cutoffs, scoring_cutoff

CUSTOM_SPLIT = "custom"


def open_tables(
    root: Path, params: Params, *, transactions: bool = True
) -> tuple[ibis.BaseBackend, ibis.Table | None, ibis.Table | None, ibis.Table | None]:
    """A connection to params.engine (embedded DuckDB or Spark) and the ingested tables:
    transactions (unless not wanted), events and customers (when present)."""
    con = engine.connect(params)

    def table(path: Path) -> ibis.Table | None:
        return engine.read_parquet(con, root / path) if (root / path).exists() else None

    tx = engine.read_parquet(con, root / layout.INTERIM_TRANSACTIONS) if transactions else None
    return con, tx, table(layout.INTERIM_EVENTS), table(layout.INTERIM_CUSTOMERS)


def time_span(con: ibis.BaseBackend, tx: ibis.Table) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Oldest and newest transaction timestamp."""
    span = con.to_pyarrow(tx.aggregate(oldest=tx.timestamp.min(), newest=tx.timestamp.max())).to_pylist()[0]
    return pd.Timestamp(span["oldest"]), pd.Timestamp(span["newest"])


def plan_for(oldest: pd.Timestamp, newest: pd.Timestamp, params: Params) -> CutoffPlan:
    plan = plan_cutoffs(
        scoring_cutoff(newest),
        params.churn.horizon_days,
        params.features.n_train_cutoffs,
        params.features.cutoff_spacing_days,
    )
    earliest = oldest + pd.Timedelta(days=params.features.min_history_days)
    kept = tuple(c for c in plan.train if c > oldest and c >= earliest)
    if not kept:
        raise ChurnError(
            f"not enough history: the data spans {oldest.date()} to {newest.date()}, but even the newest "
            f"training cutoff ({plan.train[-1].date()}) has less than features.min_history_days "
            f"({params.features.min_history_days}) days of data before it. Lower features.min_history_days, "
            "features.cutoff_spacing_days or churn.horizon_days."
        )
    skipped = tuple(c for c in plan.train if c not in kept)
    return CutoffPlan(train=kept, test=plan.test, score=plan.score, skipped=skipped)


def load_transactions(con: ibis.BaseBackend, root: Path, params: Params, path: str) -> tuple[ibis.Table, dict]:
    """Another transactions file as a table of `con`, read and validated as `churn ingest`
    would (on Spark unless it is a CSV file), and its row counts."""
    from churn.stages.ingest import load

    result = load(root, "--transactions", path, "transactions", params)
    table = ibis.memtable(result.table) if isinstance(result, Validated) else engine.register(con, result.table)
    return table, result.counts


def run(
    root: Path,
    params: Params,
    *,
    transactions: str | None = None,
    cutoffs: list[dt.date] | None = None,
    output: Path | None = None,
) -> dict:
    custom = transactions is not None or cutoffs is not None
    if custom and output is None:
        raise ChurnError(
            f"--transactions and --cutoffs need --output, so the pipeline's {layout.SNAPSHOTS} is left as DVC wrote it"
        )
    if cutoffs is not None and not cutoffs:
        raise ChurnError("--cutoffs: give at least one day, e.g. --cutoffs 2024-01-31,2024-02-29")
    con, tx, events, customers = open_tables(root, params, transactions=transactions is None)
    counts = None
    if transactions:
        tx, counts = load_transactions(con, root, params, transactions)
    oldest, newest = time_span(con, tx)
    data_end = scoring_cutoff(newest)
    if cutoffs is not None:
        planned = [(CUSTOM_SPLIT, cutoff_for_as_of(day)) for day in sorted(set(cutoffs))]
        plan = None
    else:
        plan = plan_for(oldest, newest, params)
        planned = plan.labelled()
    snaps = build_snapshots(
        con,
        tx,
        planned,
        active_days=params.churn.active_days,
        horizon_days=params.churn.horizon_days,
        labels_until=data_end,
        events=events,
        customers=customers,
        active_only=not custom,
    )
    if snaps.empty:
        first = min(c for _, c in planned)
        raise ChurnError(
            f"no customer has a transaction before the cutoff(s): the data starts {oldest.date()}, "
            f"the first snapshot is as of {(first - pd.Timedelta(days=1)).date()}"
        )
    target = output or root / layout.SNAPSHOTS
    io.write_table(snaps, target)
    summary = {
        "output": str(target),
        "rows": {s: int((snaps["split"] == s).sum()) for s in dict.fromkeys(snaps["split"])},
        "churn_rate": {
            s: None if g["churned"].isna().all() else round(float(g["churned"].mean()), 6)
            for s, g in snaps.groupby("split", sort=False)
        },
    }
    if counts is not None:
        summary["transactions"] = counts
    if plan is None:
        summary["as_of"] = [str((c - pd.Timedelta(days=1)).date()) for _, c in planned]
        summary["labelled_until"] = str((data_end - pd.Timedelta(days=1)).date())
        return summary
    summary.update(
        train_cutoffs=[str(c.date()) for c in plan.train],
        skipped_train_cutoffs=[str(c.date()) for c in plan.skipped],
        test_cutoff=str(plan.test.date()),
        score_cutoff=str(plan.score.date()),
    )
    if not custom:
        io.write_json({k: v for k, v in summary.items() if k != "output"}, root / layout.CUTOFFS)
    return summary
