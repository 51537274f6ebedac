"""What `churn score` reads: the model, the snapshot of every customer with history before
the cutoff (built on the engine), the customer list, the contact log and what past
campaigns taught the plan."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import ibis
import pandas as pd

from churn import engine, io, layout
from churn.campaigns.rates import LearnedRates
from churn.config import Params
from churn.features.attributes import CATEGORICAL
from churn.features.snapshots import feature_columns, snapshot_frame, snapshot_ranges, snapshot_table
from churn.inputs import campaigns as campaign_inputs
from churn.inputs import model as model_input
from churn.inputs import tables as inputs
from churn.inputs.spill import SpilledSnapshot
from churn.inputs.uplift import planning_policy
from churn.modeling.model import ChurnModel
from churn.scoring.predict import check_features, check_horizon
from churn.scoring.scores import requested_customers
from churn.scoring.table import columns_read
from churn.timeline import cutoff_for_as_of, scoring_cutoff
from churn.uplift.learner import UpliftModel


@dataclass(frozen=True)
class ScoringInputs:
    model: ChurnModel
    identity: dict  # {"uri", "run_id", "version", "skill"} (inputs/model.py)
    cutoff: pd.Timestamp
    newest: pd.Timestamp  # the newest transaction
    snapshot: pd.DataFrame  # on DuckDB only the columns scoring reads itself; `spill` has the rest
    spill: SpilledSnapshot | None  # every column of the snapshot's rows (None: `snapshot` has them)
    probability: pd.Series | None  # per customer_id when the engine applied the model
    requested: pd.Series | None  # the --customers list, each id once
    duplicate_ids: int
    rejected_rows: int  # of a --transactions file
    contacts: pd.DataFrame | None
    rates: LearnedRates | None
    uplift_model: UpliftModel | None
    policy: dict


def scoring_inputs(
    root: Path,
    params: Params,
    *,
    transactions: str | None = None,
    customers: Path | None = None,
    as_of: dt.date | None = None,
    model_uri: str | None = None,
) -> ScoringInputs:
    """Everything `churn score` needs, read and checked: a model of another horizon is refused."""
    model, identity = model_input.load(root, model_uri)
    check_horizon(model, params.churn.horizon_days, model_uri or str(layout.MODEL))
    con, tx, events, customer_table, counts = inputs.tables(root, params, transactions)
    newest = inputs.time_span(con, tx)[1]
    cutoff = cutoff_for_as_of(as_of) if as_of else scoring_cutoff(newest)
    rates = campaign_inputs.rates(root, params)
    tables = (tx, events, customer_table)
    keep = columns_read(params, rates)
    snapshot, spill, probability = scoring_snapshot(root, params, con, tables, cutoff, model, keep, model_uri)
    requested, duplicates = customer_list(customers) if customers is not None else (None, 0)
    uplift_model, policy = planning_policy(root, params.score.policy, rates)
    return ScoringInputs(
        model=model,
        identity=identity,
        cutoff=cutoff,
        newest=newest,
        snapshot=snapshot,
        spill=spill,
        probability=probability,
        requested=requested,
        duplicate_ids=duplicates,
        rejected_rows=counts["rows_rejected"] if counts else 0,
        contacts=inputs.contacts(root, columns=["customer_id", "timestamp"]),  # who was contacted when
        rates=rates,
        uplift_model=uplift_model,
        policy=policy,
    )


def scoring_snapshot(
    root: Path,
    params: Params,
    con: ibis.BaseBackend,
    tables: tuple[ibis.Table, ibis.Table | None, ibis.Table | None],
    cutoff: pd.Timestamp,
    model: ChurnModel,
    keep: set[str],
    model_uri: str | None = None,
) -> tuple[pd.DataFrame, SpilledSnapshot | None, pd.Series | None]:
    """Every customer with history before `cutoff` (transactions, events, customers), with
    lapsed ones flagged, checked against the model's features.

    On DuckDB it is built a range of customers at a time: the frame has only the `keep`
    columns and the spill every column (read back for the rows the model predicts or
    explains). On Spark the whole frame comes back, and the model is also applied there,
    in parallel, so the probabilities (per customer_id) come along; otherwise they are None
    and the caller predicts."""
    tx, events, customers = tables
    cutoffs = [("score", cutoff)]
    options = dict(
        active_days=params.churn.active_days, horizon_days=None, events=events, customers=customers, active_only=False
    )
    if engine.is_spark(con):
        snapshot, probability = _spark_snapshot(root, con, tx, cutoffs, options, model, model_uri)
        return snapshot, None, probability
    spill = SpilledSnapshot(
        snapshot_ranges(con, tx, cutoffs, rows_per_query=SNAPSHOT_ROWS_PER_QUERY, **options), cutoffs, keep
    )
    try:
        check_features(model.features, feature_columns(pd.DataFrame(columns=spill.columns)))
    except Exception:
        spill.close()
        raise
    return spill.narrow, spill, None


# Scoring a million customers (10.7M transactions): the snapshot's peak was 1.4 GB in two
# ranges of ids, 0.85 GB in six (benchmarks/score.py; docs/scoring.md).
SNAPSHOT_ROWS_PER_QUERY = 2_000_000


_PROBABILITY = "_churn_probability"


def _spark_snapshot(root: Path, con, tx, cutoffs, options: dict, model: ChurnModel, model_uri: str | None):
    """The scoring snapshot built on Spark with the model applied there (an MLflow Spark
    UDF over the active customers), brought to the driver: the snapshot as
    build_snapshots gives it, and the probability per customer_id."""
    from pyspark.sql import functions as F

    from churn import tracking

    expr = snapshot_table(tx, cutoffs, **options)
    check_features(model.features, feature_columns(expr))
    frame = engine.to_spark(con, expr)
    inputs = F.struct(*(F.col(c) if c in CATEGORICAL else F.col(c).cast("double").alias(c) for c in model.features))
    with tracking.spark_model_udf(root, frame.sparkSession, model_uri, root / layout.MODEL.parent) as udf:
        scored = frame.withColumn(_PROBABILITY, F.when(F.col("is_active"), udf(inputs)))
        raw = scored.toArrow().to_pandas()
    for col in raw.columns:  # the cutoff comes as a UTC instant; snapshots hold naive UTC
        if isinstance(raw[col].dtype, pd.DatetimeTZDtype):
            raw[col] = raw[col].dt.tz_convert("UTC").dt.tz_localize(None)
    probability = pd.Series(raw.pop(_PROBABILITY).to_numpy(dtype="float64"), index=raw["customer_id"].astype("string"))
    return snapshot_frame(raw, cutoffs), probability


def customer_list(path: Path) -> tuple[pd.Series, int]:
    """The ids of a customer list (`--customers`), each once in list order, and how many
    duplicate lines were dropped."""
    return requested_customers(io.read_table(path, ("customer_id",)), str(path))
