"""Stage `score` and `churn score`: for every customer the risk, the reasons, the value and
the retention action that pays best under the budget.

Default (the DVC stage): every customer with history in the ingested data, as of its
newest day, with the local model; writes data/scores/churn_scores.csv and .parquet and
data/scores/churn_scores.summary.json. `churn score` can instead score another
transactions file, a customer list, an earlier as-of day, or a model from MLflow.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from churn import engine, io, layout
from churn.actions.control import recently_contacted
from churn.actions.plan import assign_groups, plan_actions, unavailable_actions
from churn.config import Params
from churn.features.attributes import CATEGORICAL
from churn.features.snapshots import (
    build_snapshots,
    cutoff_for_as_of,
    feature_columns,
    scoring_cutoff,
    snapshot_frame,
    snapshot_table,
)
from churn.modeling.model import ChurnModel
from churn.scoring.predict import check_features
from churn.scoring.reasons import top_reasons
from churn.scoring.scores import (
    REASON_COLUMNS,
    SCORE_COLUMNS,
    requested_customers,
    risk_columns,
    summarise,
    with_status,
)
from churn.scoring.value import customer_value
from churn.stages.features import load_transactions, open_tables

CHUNK_ROWS = 200_000  # rows per prediction batch: memory stays flat as the list grows
MAX_PLAN_ROUNDS = 3  # optimistic rounds; most customers settle in the first two


def _load_model(root: Path, model_uri: str | None) -> ChurnModel:
    if model_uri:
        from churn import tracking  # only when asked: importing mlflow costs seconds

        return tracking.load_churn_model(root, model_uri)
    from churn.stages.train import load_model

    return load_model(root)[0]


def _predict(model: ChurnModel, frame: pd.DataFrame, progress: bool) -> np.ndarray:
    out = np.empty(len(frame))
    starts = range(0, len(frame), CHUNK_ROWS)
    for start in tqdm(starts, desc="scoring", unit="chunk", disable=not progress or len(starts) < 3):
        out[start : start + CHUNK_ROWS] = model.predict_proba(frame.iloc[start : start + CHUNK_ROWS])
    return out


def _reasons(model: ChurnModel, frame: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """Plain-word reasons from the trees' SHAP values (pred_contrib), plus the BG/NBD
    prior's pull (its log-odds against the batch mean) as one more contribution when the
    model starts from that prior."""
    sub = frame.iloc[rows]
    features = list(model.features)
    names = features + (["purchase_pattern"] if model.prior is not None else [])
    prior_mean = float(model.prior.log_odds(sub).mean()) if model.prior is not None and len(sub) else 0.0
    parts = []
    for start in range(0, len(sub), CHUNK_ROWS):
        chunk = sub.iloc[start : start + CHUNK_ROWS]
        contrib = model.booster.predict(chunk[features], pred_contrib=True, num_threads=2)
        values = chunk[features].copy()
        if model.prior is not None:
            prior = model.prior.log_odds(chunk)
            contrib = np.column_stack([contrib[:, :-1], prior - prior_mean, contrib[:, -1]])
            values["purchase_pattern"] = 1.0 / (1.0 + np.exp(-prior))
        parts.append(top_reasons(contrib, values, names))
    return pd.concat(parts) if parts else pd.DataFrame(index=sub.index)


def _plan_with_reasons(model: ChurnModel, frame: pd.DataFrame, params: Params, contacted: pd.Index) -> pd.DataFrame:
    """Plan the actions, computing SHAP reasons only for customers who get one.

    Reasons can decide eligibility (`top_driver`), so plan optimistically first (a
    condition on a reason not computed yet counts as met), compute the reasons of those
    chosen, and plan again until everyone chosen has real reasons. The chosen are few
    (budget and capacities bound them), so this costs a fraction of reasons for all.
    Fills the reason columns of `frame` in place; returns the action columns.
    """
    pending = (frame["status"] == "active").to_numpy().copy()
    group = assign_groups(frame, params.actions)
    for _ in range(MAX_PLAN_ROUNDS):
        plan = plan_actions(frame, params.actions, contacted, pending, group)
        need = np.flatnonzero(pending & plan["priority"].notna().to_numpy())
        if len(need) == 0:
            return plan
        _fill_reasons(model, frame, need)
        pending[need] = False
    # Still moving: plan without optimism, then explain whoever was chosen.
    plan = plan_actions(frame, params.actions, contacted, None, group)
    need = np.flatnonzero(pending & plan["priority"].notna().to_numpy())
    if len(need) == 0:
        return plan
    _fill_reasons(model, frame, need)
    # Same plan (those rows' reasons gate nothing they could get); the reason text gains the first reason.
    return plan_actions(frame, params.actions, contacted, None, group)


def _fill_reasons(model: ChurnModel, frame: pd.DataFrame, rows: np.ndarray) -> None:
    reasons = _reasons(model, frame, rows)
    for col in reasons.columns:
        frame.loc[reasons.index, col] = reasons[col]


def _inputs(root: Path, params: Params, transactions: str | None):
    """Connection (params.engine), transactions, events, customers (ingested, or a file given now)."""
    con, tx, events, customers = open_tables(root, params, transactions=transactions is None)
    rejected = 0
    if transactions:
        tx, counts = load_transactions(con, root, params, transactions)
        rejected = counts["rows_rejected"]
    return con, tx, events, customers, rejected


PROBABILITY = "_churn_probability"


def _spark_snapshot(root: Path, con, tx, cutoffs, options: dict, model: ChurnModel, model_uri: str | None):
    """The scoring snapshot built on Spark, with the model applied there in parallel (an
    MLflow Spark UDF over the active customers), brought to the driver: the snapshot as
    build_snapshots gives it, and the probability per customer_id."""
    from pyspark.sql import functions as F

    from churn import tracking

    expr = snapshot_table(tx, cutoffs, **options)
    check_features(model.features, feature_columns(expr))
    frame = engine.to_spark(con, expr)
    inputs = F.struct(*(F.col(c) if c in CATEGORICAL else F.col(c).cast("double").alias(c) for c in model.features))
    with tracking.spark_model_udf(root, frame.sparkSession, model_uri, root / layout.MODEL.parent) as udf:
        scored = frame.withColumn(PROBABILITY, F.when(F.col("is_active"), udf(inputs)))
        raw = scored.toArrow().to_pandas()
    for col in raw.columns:  # the cutoff comes as a UTC instant; snapshots hold naive UTC
        if isinstance(raw[col].dtype, pd.DatetimeTZDtype):
            raw[col] = raw[col].dt.tz_convert("UTC").dt.tz_localize(None)
    probability = pd.Series(raw.pop(PROBABILITY).to_numpy(dtype="float64"), index=raw["customer_id"].astype("string"))
    return snapshot_frame(raw, cutoffs), probability


def run(
    root: Path,
    params: Params,
    *,
    transactions: str | None = None,
    customers: Path | None = None,
    as_of: dt.date | None = None,
    model_uri: str | None = None,
    output: Path | None = None,
    progress: bool = True,
) -> dict:
    model = _load_model(root, model_uri)
    con, tx, events, customer_table, rejected = _inputs(root, params, transactions)
    cutoff = cutoff_for_as_of(as_of) if as_of else scoring_cutoff(pd.Timestamp(con.execute(tx.timestamp.max())))
    cutoffs = [("score", cutoff)]
    options = dict(
        active_days=params.churn.active_days,
        horizon_days=None,
        events=events,
        customers=customer_table,
        active_only=False,
    )
    spark_probability = None
    if engine.is_spark(con):
        snap, spark_probability = _spark_snapshot(root, con, tx, cutoffs, options, model, model_uri)
    else:
        snap = build_snapshots(con, tx, cutoffs, **options)
        check_features(model.features, feature_columns(snap))

    requested, duplicates = None, 0
    if customers is not None:
        requested, duplicates = requested_customers(io.read_table(customers, ("customer_id",)), str(customers))
    frame = with_status(snap, requested, cutoff)
    for col in ("r_score", "f_score", "m_score"):  # stay whole numbers when unknown customers leave gaps
        frame[col] = frame[col].astype("Int8")

    active = np.flatnonzero((frame["status"] == "active").to_numpy())
    probability = pd.Series(np.nan, index=frame.index)
    if spark_probability is None:
        probability.iloc[active] = _predict(model, frame.iloc[active], progress)
    else:
        probability.iloc[active] = spark_probability.reindex(frame["customer_id"].iloc[active]).to_numpy()
    frame = frame.join(risk_columns(probability, params.score.risk_tiers))

    known = np.flatnonzero((frame["status"] != "unknown").to_numpy())
    value = customer_value(frame.iloc[known], params.value.horizon_days, params.value.margin)
    frame = frame.join(value[["clv"]])
    frame["value_at_risk"] = (frame["churn_probability"] * frame["clv"]).round(2)

    for col in (*REASON_COLUMNS, "top_driver"):
        frame[col] = pd.Series(pd.NA, index=frame.index, dtype="string")
    lapsed = frame["status"] == "lapsed"
    days = frame.loc[lapsed, "recency_days"].round().astype("Int64").astype("string")
    frame.loc[lapsed, "reason_1"] = "no purchase for " + days + " days (lapsed)"
    frame.loc[lapsed, "top_driver"] = "lapsed"

    contacts_path = root / layout.INTERIM_CONTACTS
    contacted = pd.Index([])
    if contacts_path.exists():
        contacted = recently_contacted(pd.read_parquet(contacts_path), cutoff, params.actions.min_days_between_contacts)
    frame = frame.join(_plan_with_reasons(model, frame, params, contacted))

    for col in ("recency_days", "monetary_total"):
        frame[col] = frame[col].round(2)
    scores = (
        frame[SCORE_COLUMNS]
        .sort_values(
            ["priority", "churn_probability", "customer_id"],
            ascending=[True, False, True],
            na_position="last",
            kind="stable",
        )
        .reset_index(drop=True)
    )

    targets = [output] if output else [root / layout.SCORES_CSV, root / layout.SCORES_PARQUET]
    for target in targets:
        io.write_table(scores, target)
    summary = summarise(
        scores,
        {a.name: a.cost for a in params.actions.playbook},
        {a.name: a.success_rate for a in params.actions.playbook},
        params.actions.budget,
        params.value.margin,
    )
    summary.update(
        as_of=str((cutoff - pd.Timedelta(days=1)).date()),
        duplicate_ids_in_list=duplicates,
        unavailable_actions=unavailable_actions(frame, params.actions),
        rejected_transaction_rows=rejected,
        # Relative inside the project, so the file is the same wherever the project lives.
        outputs=[str(t.relative_to(root)) if t.is_relative_to(root) else str(t) for t in targets],
    )
    io.write_json(summary, targets[0].with_suffix(".summary.json"))
    return summary
