"""Stage `score` (and `churn score`): churn risk and a retention action per active customer.

By default scores every active customer at the newest cutoff of the ingested data and
writes data/scores/churn_scores.csv and .parquet. `as_of` scores as of an earlier day.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from churn import io, layout
from churn.actions.playbook import describe
from churn.config import Params
from churn.errors import ChurnError
from churn.features.snapshots import build_snapshots, cutoff_for_as_of, feature_columns, scoring_cutoff
from churn.scoring.predict import check_features, predict_proba
from churn.scoring.scores import assemble_scores
from churn.stages.evaluate import load_model
from churn.stages.features import open_tables


def run(root: Path, params: Params, as_of: dt.date | None = None, output: Path | None = None) -> dict:
    booster, features = load_model(root)
    con, tx, events, customers = open_tables(root)
    if as_of is not None:
        cutoff = cutoff_for_as_of(as_of)
    else:
        cutoff = scoring_cutoff(pd.Timestamp(con.execute(tx.timestamp.max())))
    snap = build_snapshots(
        con,
        tx,
        [("score", cutoff)],
        active_days=params.churn.active_days,
        horizon_days=None,
        events=events,
        customers=customers,
    )
    if snap.empty:
        raise ChurnError(f"no active customers as of {(cutoff - pd.Timedelta(days=1)).date()}")
    check_features(features, feature_columns(snap))
    scores = assemble_scores(snap, predict_proba(booster, snap, features), params)
    targets = [output] if output else [root / layout.SCORES_CSV, root / layout.SCORES_PARQUET]
    for target in targets:
        io.write_table(scores, target)
    return {
        "as_of": scores["as_of"].iloc[0],
        "customers": int(len(scores)),
        "risk_tiers": scores["risk_tier"].value_counts().sort_index().to_dict(),
        "actions": describe(scores),
        "outputs": [str(t) for t in targets],
    }
