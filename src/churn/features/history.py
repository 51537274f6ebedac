"""Per-customer aggregates of the history before each cutoff, for many cutoffs in one query.

The straightforward formulations read every row once per cutoff: one aggregation per
cutoff, or a join of all rows with all cutoffs (whose memory grows with the number of
cutoffs). Here every row is read once. The time axis is cut into slices at every instant
some cutoff needs (the cutoff itself, the starts and ends of its windows, the end of its
label window); rows are combined per customer and slice; and each cutoff's aggregates are
combined from the few slice partials of each customer. Counts, sums, minima and maxima
combine exactly this way (sums up to the order in which floating-point numbers are
added). With a single cutoff the slice step saves nothing, so the rows are read directly.

Everything is an Ibis expression: DuckDB runs it by default, any Ibis backend can.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import ibis
import pandas as pd

How = Literal["sum", "min", "max"]
ROWS = "_rows"  # how many rows a partial combines
SLICE = "_slice"


@dataclass(frozen=True)
class Measure:
    """A per-row value and how rows combine into it.

    `value` is an Ibis deferred expression over the rows (for example `ibis._.amount`).
    Nulls are skipped. A sum over no rows is 0; a minimum or maximum over no rows is null.
    """

    value: ibis.Deferred | ibis.Value | Callable[[ibis.Table], ibis.Value]
    how: How = "sum"


@dataclass(frozen=True)
class Window:
    """Rows with timestamp in [cutoff - start_days, cutoff - end_days)."""

    start_days: int
    end_days: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.end_days < self.start_days:
            raise ValueError(f"a window needs 0 <= end_days < start_days, got {self}")


def timestamp_literal(ts: pd.Timestamp) -> ibis.Value:
    return ibis.literal(pd.Timestamp(ts).to_pydatetime(), type="timestamp")


def aggregate_at_cutoffs(
    rows: ibis.Table,
    cutoffs: Sequence[pd.Timestamp],
    measures: Mapping[str, Measure],
    windowed: Mapping[str, tuple[str, Window]] | None = None,
    future_days: int | None = None,
) -> ibis.Table:
    """For every cutoff, one row per customer with at least one row before it.

    `rows` needs customer_id and timestamp. Output columns: customer_id, cutoff, one
    column per measure (over all rows before the cutoff), one per `windowed` entry
    (name -> (measure name, window)), and with `future_days` n_future: the number of
    rows in [cutoff, cutoff + future_days).
    """
    windowed = dict(windowed or {})
    unknown = sorted({m for m, _ in windowed.values()} - set(measures))
    if unknown:
        raise ValueError(f"windowed measures refer to unknown measures: {', '.join(unknown)}")
    if not cutoffs:
        raise ValueError("need at least one cutoff")
    cutoffs = sorted({pd.Timestamp(c) for c in cutoffs})
    edges = _edges(cutoffs, windowed.values(), future_days)
    slice_of = {edge: i for i, edge in enumerate(edges, start=1)}  # slice i: [edges[i-1], edges[i])

    inside = rows.filter(rows.timestamp < timestamp_literal(edges[-1]))
    index = sum((inside.timestamp >= timestamp_literal(e)).cast("int16") for e in edges)
    values = {name: m.value for name, m in measures.items()}  # Ibis resolves them against `inside`
    if len(cutoffs) == 1:
        parts = inside.select(customer_id=inside.customer_id, **{SLICE: index, ROWS: ibis.literal(1)}, **values)
    else:
        keyed = inside.mutate(**{SLICE: index, **{f"_v_{n}": v for n, v in values.items()}})
        parts = keyed.group_by(["customer_id", SLICE]).aggregate(
            **{ROWS: keyed.count()},
            **{n: _combine(keyed[f"_v_{n}"], measures[n].how) for n in measures},
        )

    def at(cutoff: pd.Timestamp) -> ibis.Table:
        now = slice_of[cutoff]
        history = parts[SLICE] < now
        p = parts.filter(parts[SLICE] < (slice_of[cutoff + pd.Timedelta(days=future_days)] if future_days else now))
        aggs = {ROWS: p[ROWS].sum(where=p[SLICE] < now)}
        aggs |= {n: _combine(p[n], m.how, p[SLICE] < now) for n, m in measures.items()}
        for name, (measure, w) in windowed.items():
            lo = slice_of[cutoff - pd.Timedelta(days=w.start_days)]
            hi = slice_of[cutoff - pd.Timedelta(days=w.end_days)]
            aggs[name] = _combine(p[measure], measures[measure].how, (p[SLICE] >= lo) & (p[SLICE] < hi))
        if future_days:
            aggs["n_future"] = p[ROWS].sum(where=p[SLICE] >= now).fill_null(0)
        del history
        out = p.group_by("customer_id").aggregate(**aggs)
        sums = [n for n, m in measures.items() if m.how == "sum"] + [
            n for n, (m, _) in windowed.items() if measures[m].how == "sum"
        ]
        out = out.filter(out[ROWS] > 0).mutate(**{n: out[n].fill_null(0) for n in sums})
        return out.mutate(cutoff=timestamp_literal(cutoff)).drop(ROWS)

    return ibis.union(*(at(c) for c in cutoffs), distinct=False)


def _edges(cutoffs, windows, future_days) -> list[pd.Timestamp]:
    edges = set(cutoffs)
    for c in cutoffs:
        for _, w in windows:
            edges |= {c - pd.Timedelta(days=w.start_days), c - pd.Timedelta(days=w.end_days)}
        if future_days:
            edges.add(c + pd.Timedelta(days=future_days))
    return sorted(edges)


def _combine(value: ibis.Value, how: How, where: ibis.Value | None = None) -> ibis.Value:
    if how == "sum":
        return value.sum(where=where)
    if how == "min":
        return value.min(where=where)
    return value.max(where=where)
