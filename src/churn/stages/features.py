"""Stage `features` (and `churn features`): point-in-time snapshots.

As a DVC stage: snapshots of every customer with history at the planned training and test
cutoffs (docs/pipeline.md, "Time semantics") from the ingested tables, written to
data/processed/snapshots.parquet (`split` = train | test, the label `churned`, `is_active`)
with the plan in data/processed/cutoffs.json. The model learns from and is judged on the
active rows; the lapsed ones are there because BG/NBD, the prior and a baseline, is fitted
the way its own field fits it: on every customer with history before the cutoff.

Outside DVC, `--transactions` takes another transactions file (mapped and validated with
the `data` settings, as `churn ingest` would) and `--cutoffs` takes as-of days; such
snapshots go to `--output` only, hold every customer with history (lapsed ones with
is_active = false) and have `churned` only where the label window is complete in the
data.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from churn import io, layout
from churn.config import Params
from churn.errors import ChurnError
from churn.features.snapshots import build_snapshots, snapshot_summary
from churn.inputs import tables as inputs
from churn.timeline import as_of_day, cutoff_for_as_of, plan_for_span, scoring_cutoff

CUSTOM_SPLIT = "custom"


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
    con, tx, events, customers, counts = inputs.tables(root, params, transactions)
    oldest, newest = inputs.time_span(con, tx)
    data_end = scoring_cutoff(newest)
    plan = None if cutoffs is not None else plan_for_span(oldest, newest, params.churn, params.features)
    planned = plan.labelled() if plan else [(CUSTOM_SPLIT, cutoff_for_as_of(day)) for day in sorted(set(cutoffs))]
    snaps = build_snapshots(
        con,
        tx,
        planned,
        active_days=params.churn.active_days,
        horizon_days=params.churn.horizon_days,
        labels_until=data_end,
        events=events,
        customers=customers,
        active_only=False,  # lapsed customers too: BG/NBD is fitted on everyone with history
    )
    if snaps.empty:
        first = min(c for _, c in planned)
        raise ChurnError(
            f"no customer has a transaction before the cutoff(s): the data starts {oldest.date()}, "
            f"the first snapshot is as of {as_of_day(first)}"
        )
    target = output or root / layout.SNAPSHOTS
    io.write_table(snaps, target)
    summary = snapshot_summary(snaps, plan, planned, data_end)
    if counts is not None:
        summary["transactions"] = counts
    if not custom:
        io.write_json(summary, root / layout.CUTOFFS)
    return {"output": str(target.relative_to(root)) if target.is_relative_to(root) else str(target), **summary}
