"""Cutoffs, population, labels and the snapshot table: the time semantics, written down once.

- A snapshot has a cutoff instant t. Features see only rows with timestamp < t.
- Label at t: `churned` = 1 when the customer has no transaction in [t, t + horizon_days).
- Population at t: customers with a transaction in [t - active_days, t); customers with
  older history only are "lapsed".
- "As of 2024-06-30" means the cutoff is 2024-07-01 00:00: that whole day is history.
- Training cutoffs end so that every training label window closes on or before the
  out-of-time test cutoff, whose own label window closes on or before the scoring cutoff.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from churn import engine
from churn.features import activity, attributes, behaviour, engagement, rfm, rhythm, season
from churn.features.history import Window, aggregates_by_cutoff
from churn.features.segments import RFM_COLUMNS, rfm_scores
from churn.timeline import CutoffPlan, as_of_day

IDENTIFIERS = ("split", "cutoff", "customer_id", "is_active")
LABEL = "churned"


def snapshot_expr(
    tx: ibis.Table,
    cutoffs: Sequence[pd.Timestamp],
    *,
    active_days: int,
    horizon_days: int | None,
    labels_until: pd.Timestamp | None = None,
    events: ibis.Table | None = None,
    customers: ibis.Table | None = None,
) -> ibis.Table:
    """One row per customer with a transaction before a cutoff, for every cutoff:
    customer_id, cutoff, the features, `is_active` and (when `horizon_days` is given) the
    label `churned`.

    `churned` is null where the label window [cutoff, cutoff + horizon_days) reaches past
    `labels_until` (the end of the data), because the customer's future is not all known.
    Optional tables (events, customers) and optional transaction columns (category,
    channel) add their features when present.
    """
    windowed = dict(behaviour.WINDOWED)
    if horizon_days is not None:
        windowed["_future"] = ("transactions", Window(0, horizon_days))
    measures = rfm.MEASURES | rhythm.MEASURES
    per_cutoff = aggregates_by_cutoff(activity.activity_rows(tx), cutoffs, measures, windowed)
    breadth = rhythm.breadth_by_cutoff(tx, cutoffs)
    engaged = engagement.engagement_by_cutoff(events, cutoffs) if events is not None else None
    parts = []
    for cutoff, agg in per_cutoff.items():
        cols = (
            rfm.rfm_columns(agg)
            | behaviour.behaviour_columns(agg)
            | rhythm.rhythm_columns(agg)
            | season.season_columns(agg)
        )
        cols["is_active"] = cols["recency_days"] <= active_days
        if horizon_days is not None:
            complete = labels_until is None or cutoff + pd.Timedelta(days=horizon_days) <= labels_until
            cols[LABEL] = (agg._future == 0).cast("int8") if complete else ibis.null("int8")
        snap = agg.select("customer_id", "cutoff", **cols)
        if breadth is not None:
            snap = _join_counts(snap, breadth[cutoff])
        if engaged is not None:
            # No event before the cutoff means zero events, not an unknown count.
            snap = _join_counts(snap, engaged[cutoff], engagement.COUNT_FEATURES)
        parts.append(snap)
    snap = ibis.union(*parts, distinct=False)
    if customers is not None:
        snap = attributes.attribute_columns(snap, customers)
    return snap


def _join_counts(snap: ibis.Table, other: ibis.Table, counts: Sequence[str] | None = None) -> ibis.Table:
    """`snap` with the columns of `other` (both at one cutoff); missing `counts` (default:
    all of them) are 0."""
    joined = snap.left_join(other, "customer_id").drop("customer_id_right")
    counts = [c for c in other.columns if c != "customer_id"] if counts is None else counts
    return joined.mutate(**{c: joined[c].fill_null(0) for c in counts})


def build_snapshots(
    con: ibis.BaseBackend,
    tx: ibis.Table,
    cutoffs: Sequence[tuple[str, pd.Timestamp]],
    *,
    active_days: int,
    horizon_days: int | None,
    labels_until: pd.Timestamp | None = None,
    events: ibis.Table | None = None,
    customers: ibis.Table | None = None,
    active_only: bool = True,
    rows_per_query: int | None = None,
) -> pd.DataFrame:
    """Snapshots at each (split, cutoff) as one pandas frame, sorted by cutoff and customer.

    Columns: split, cutoff, customer_id, is_active, the features (float64; tier
    categorical), the RFM scores and segment (segments.RFM_COLUMNS, quintiles within
    each cutoff over the rows returned) and, with `horizon_days`, churned (int8; nullable
    Int8 when some label windows are incomplete). `active_only` drops lapsed customers.

    `rows_per_query` (DuckDB only) splits the customers into ranges of ids holding about
    that many transactions each, and computes one range at a time: every feature is a
    customer's own, so the rows are the same, and DuckDB's working memory is that of one range.
    """
    options = dict(
        active_days=active_days,
        horizon_days=horizon_days,
        labels_until=labels_until,
        events=events,
        customers=customers,
        active_only=active_only,
    )
    tables = list(snapshot_ranges(con, tx, cutoffs, rows_per_query=rows_per_query, **options))
    # Sorted while still Arrow: the sorted copy replaces the unsorted one before pandas sees
    # it, instead of a pandas frame and its sorted copy side by side.
    table = by_cutoff_and_customer(pa.concat_tables(tables))
    del tables
    return snapshot_frame(table.to_pandas(self_destruct=True, split_blocks=True), cutoffs)


def snapshot_ranges(
    con: ibis.BaseBackend,
    tx: ibis.Table,
    cutoffs: Sequence[tuple[str, pd.Timestamp]],
    *,
    rows_per_query: int | None,
    events: ibis.Table | None = None,
    customers: ibis.Table | None = None,
    **options,
) -> Iterator[pa.Table]:
    """The rows of snapshot_table (`options` are its own) one range of customer ids at a
    time, as Arrow, ranges in id order; within a range rows come as the engine gives them."""
    ranges = _customer_ranges(con, tx, rows_per_query)
    if len(ranges) == 1:
        # Arrow, then pandas: much faster than Ibis's own pandas conversion for millions of rows.
        yield con.to_pyarrow(snapshot_table(tx, cutoffs, events=events, customers=customers, **options))
        engine.release_memory(con)
        return
    # One query over views that each range redefines: building and compiling the
    # snapshot's expression anew took about 1.2 s a range.
    tables = {name: t for name, t in (("tx", tx), ("events", events), ("customers", customers)) if t is not None}

    def select(ids: tuple[str | None, str | None]) -> None:
        for name, t in tables.items():
            con.create_view(f"_snapshot_range_{name}", _in_range(t, ids), overwrite=True)

    select(ranges[0])
    views = {name: con.table(f"_snapshot_range_{name}") for name in tables}
    expr = snapshot_table(views["tx"], cutoffs, events=views.get("events"), customers=views.get("customers"), **options)
    sql, schema = con.compile(expr), expr.schema().to_pyarrow()
    try:
        for ids in ranges:
            select(ids)
            yield con.raw_sql(sql).fetch_arrow_table().cast(schema)
            engine.release_memory(con)
    finally:
        for name in tables:
            con.raw_sql(f'DROP VIEW IF EXISTS "_snapshot_range_{name}"')


def by_cutoff_and_customer(table: pa.Table) -> pa.Table:
    """The rows sorted by cutoff, then customer_id (text by code point), as Arrow's sort_by
    sorts them, faster: on four million snapshot rows sort_by took 3.5 s, comparing text
    and gathering one column after another, this 1.2-2.5 s. Here the text
    is compared once per distinct id, the order is one sort of whole numbers, and the
    columns are gathered on every core. (One row per cutoff and customer: the order is
    total.)"""
    if table.num_rows < 2:
        return table
    ids = pc.dictionary_encode(table["customer_id"]).combine_chunks()
    cutoffs = pc.dictionary_encode(table["cutoff"]).combine_chunks()
    key = _rank(cutoffs)[cutoffs.indices.to_numpy()] * len(ids.dictionary)
    key += _rank(ids)[ids.indices.to_numpy()]
    order = pa.array(np.argsort(key, kind="stable"))
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        columns = list(pool.map(lambda column: column.take(order), table.columns))
    return pa.Table.from_arrays(columns, schema=table.schema)


def _rank(encoded: pa.DictionaryArray) -> np.ndarray:
    """Each dictionary value's place in the sorted dictionary."""
    rank = np.empty(len(encoded.dictionary), dtype=np.int64)
    rank[pc.sort_indices(encoded.dictionary).to_numpy()] = np.arange(len(encoded.dictionary))
    return rank


def _in_range(t: ibis.Table | None, ids: tuple[str | None, str | None]) -> ibis.Table | None:
    """The rows of `t` whose customer_id is in [low, high) (None: unbounded on that side)."""
    low, high = ids
    if t is not None and low is not None:
        t = t.filter(t.customer_id >= low)
    if t is not None and high is not None:
        t = t.filter(t.customer_id < high)
    return t


def _customer_ranges(
    con: ibis.BaseBackend, tx: ibis.Table, rows_per_query: int | None
) -> list[tuple[str | None, str | None]]:
    """[low, high) ranges of customer_id that cover every id, one per query. The bounds are
    the ids at evenly spaced rows of the transactions in file order: for an ingested file
    (sorted by customer_id) the ranges hold about `rows_per_query` rows each and DuckDB reads
    only the row groups of each; for any other file they still cover every id once."""
    if rows_per_query is None or engine.is_spark(con):  # Spark spills and spreads by itself
        return [(None, None)]
    rows = int(tx.count().execute())
    groups = -(-rows // rows_per_query)
    ids = tx.select("customer_id")
    bounds = sorted(
        {ids.limit(1, offset=rows * g // groups).execute()["customer_id"].iloc[0] for g in range(1, groups)}
    )
    bounds = [b for b in bounds if b is not None]
    return list(zip([None, *bounds], [*bounds, None], strict=True))


def snapshot_table(
    tx: ibis.Table,
    cutoffs: Sequence[tuple[str, pd.Timestamp]],
    *,
    active_days: int,
    horizon_days: int | None,
    labels_until: pd.Timestamp | None = None,
    events: ibis.Table | None = None,
    customers: ibis.Table | None = None,
    active_only: bool = True,
) -> ibis.Table:
    """The expression behind build_snapshots (before the pandas steps of snapshot_frame)."""
    split_of = _splits(cutoffs)
    expr = snapshot_expr(
        tx,
        list(split_of),
        active_days=active_days,
        horizon_days=horizon_days,
        labels_until=labels_until,
        events=events,
        customers=customers,
    )
    return expr.filter(expr.is_active) if active_only else expr


def _splits(cutoffs: Sequence[tuple[str, pd.Timestamp]]) -> dict[pd.Timestamp, str]:
    split_of = {pd.Timestamp(c): s for s, c in cutoffs}
    if len(split_of) != len(cutoffs):
        raise ValueError("each cutoff may appear only once")
    return split_of


def snapshot_frame(
    out: pd.DataFrame, cutoffs: Sequence[tuple[str, pd.Timestamp]], *, with_rfm: bool = True
) -> pd.DataFrame:
    """The rows of snapshot_table as build_snapshots returns them: typed, sorted, with
    the split and (`with_rfm`) the RFM scores, quintiles over these rows."""
    split_of = _splits(cutoffs)
    out = out.copy(deep=False)  # columns are replaced, never changed in place: the caller's frame stays as it was
    out["cutoff"] = out["cutoff"].astype("datetime64[ns]")
    out.insert(0, "split", out["cutoff"].map(split_of).astype("string"))
    out["customer_id"] = out["customer_id"].astype("string")
    out["is_active"] = out["is_active"].astype(bool)
    for col in feature_columns(out):
        if col in attributes.CATEGORICAL:
            out[col] = pd.Categorical(out[col].astype("string"))
        else:
            out[col] = out[col].astype("float64")
    if LABEL in out.columns:
        out[LABEL] = out[LABEL].astype("Int8" if out[LABEL].isna().any() else "int8")
    if not _in_cutoff_and_customer_order(out):  # build_snapshots sorts them; Spark's rows come as they come
        out = out.sort_values(["cutoff", "customer_id"], kind="stable")
    out = out.reset_index(drop=True)
    if with_rfm:
        out = out.join(rfm_scores(out))
    features = sorted(feature_columns(out))
    label = [LABEL] if LABEL in out.columns else []
    return out[list(IDENTIFIERS) + features + (list(RFM_COLUMNS) if with_rfm else []) + label]


def _in_cutoff_and_customer_order(frame: pd.DataFrame) -> bool:
    """Whether rows are sorted by cutoff, then customer id (text by code point, as pandas sorts it)."""
    if len(frame) < 2:
        return True
    cutoff = frame["cutoff"].to_numpy()
    later, same = cutoff[1:] > cutoff[:-1], cutoff[1:] == cutoff[:-1]
    if not (later | same).all():
        return False
    ids = pa.array(frame["customer_id"].astype("string").array)
    increasing = pc.fill_null(pc.greater(ids[1:], ids[:-1]), False).to_numpy(zero_copy_only=False)
    return bool((later | increasing).all())


def feature_columns(snapshots: pd.DataFrame) -> list[str]:
    """The model's inputs: every column that is not an identifier, flag, label or RFM score."""
    excluded = {*IDENTIFIERS, LABEL, *RFM_COLUMNS}
    return [c for c in snapshots.columns if c not in excluded]


def snapshot_summary(
    snaps: pd.DataFrame, plan: CutoffPlan | None, planned: Sequence[tuple[str, pd.Timestamp]], data_end: pd.Timestamp
) -> dict:
    """Active rows, lapsed rows and the active rows' label share per split, and the cutoffs: the plan's (train, skipped, test,
    score) or, for as-of days given by hand, those days and the last day with labels."""
    # Counted per split code rather than by filtering the frame: snapshots run to millions of rows.
    codes, splits = pd.factorize(snaps["split"], sort=False)  # in order of appearance
    active = snaps["is_active"].to_numpy(bool)
    per_split = len(splits)
    labels = snaps["churned"].to_numpy("float64", na_value=np.nan)
    known = active & ~np.isnan(labels)
    n_known = np.bincount(codes[known], minlength=per_split)
    churned = np.bincount(codes[known], weights=labels[known], minlength=per_split)
    n_active = np.bincount(codes[active], minlength=per_split)
    summary = {
        "rows": {s: int(n) for s, n in zip(splits, n_active)},
        "lapsed_rows": {s: int(n) for s, n in zip(splits, np.bincount(codes[~active], minlength=per_split))},
        "churn_rate": {
            s: None if k == 0 else round(float(c / k), 6)
            for s, k, c, a in zip(splits, n_known, churned, n_active)
            if a > 0  # a split without active rows has no rate at all
        },
    }
    if plan is None:
        summary["as_of"] = [str(as_of_day(c)) for _, c in planned]
        summary["labelled_until"] = str(as_of_day(data_end))
        return summary
    summary.update(
        train_cutoffs=[str(c.date()) for c in plan.train],
        skipped_train_cutoffs=[str(c.date()) for c in plan.skipped],
        test_cutoff=str(plan.test.date()),
        score_cutoff=str(plan.score.date()),
    )
    if plan.skipped:
        kept = len(plan.train)
        summary["plan_note"] = (
            f"only {kept} of {kept + len(plan.skipped)} planned training cutoffs fit the data; the "
            f"{len(plan.skipped)} oldest have less than features.min_history_days of data before them"
        )
    return summary
