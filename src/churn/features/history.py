"""Per-customer aggregates of the history before each cutoff, for many cutoffs at once.

The straightforward formulations read every row once per cutoff: one aggregation of
all history per cutoff, or a join of every row with every cutoff (whose memory also
grows with the number of cutoffs). Here, with cutoffs t1 < t2 < ... < tk:

- History (every row before the cutoff) is built up cutoff by cutoff. The rows before t1
  are aggregated once; each later cutoff adds only the rows of [t(j-1), tj) to the
  previous cutoff's aggregates, one customer per row (an outer join, no regrouping).
  Every row is read once, however many cutoffs there are.
- Windows (e.g. the last 90 days) and the label window after the cutoff are aggregated
  per cutoff, from the rows they cover only.

Counts, sums, minima and maxima combine exactly this way (sums up to the order in which
floating-point numbers are added). Everything is an Ibis expression: DuckDB runs it by
default, and any Ibis backend can.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import ibis
import pandas as pd

How = Literal["sum", "min", "max"]


@dataclass(frozen=True)
class Measure:
    """A per-row value and how rows combine into it: "sum", "min" or "max".

    `value` is anything Ibis resolves against the rows: a deferred (`ibis._.amount`), a
    literal, or a function of the table. Nulls are skipped. A sum over no rows is 0; a
    minimum or maximum over no rows is null.
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
    column per measure (over every row before the cutoff), one per `windowed` entry
    (name -> (measure name, window)), and with `future_days` n_future: the number of
    rows in [cutoff, cutoff + future_days).
    """
    windowed = dict(windowed or {})
    unknown = sorted({m for m, _ in windowed.values()} - set(measures))
    if unknown:
        raise ValueError(f"windowed entries refer to unknown measures: {', '.join(unknown)}")
    clash = sorted(set(windowed) & set(measures))
    if clash:
        raise ValueError(f"names used both as measure and windowed entry: {', '.join(clash)}")
    if not cutoffs:
        raise ValueError("need at least one cutoff")
    cutoffs = sorted({pd.Timestamp(c) for c in cutoffs})
    values = rows.mutate(**{f"_v_{name}": m.value for name, m in measures.items()})

    history = _history(values, cutoffs, measures)
    out = []
    for cutoff, hist in zip(cutoffs, history):
        snap = hist.mutate(cutoff=timestamp_literal(cutoff))
        if windowed or future_days:
            recent = _recent(values, cutoff, measures, windowed, future_days)
            snap = snap.left_join(recent, "customer_id").drop("customer_id_right")
            fills = {n: snap[n].fill_null(0) for n, (m, _) in windowed.items() if measures[m].how == "sum"}
            if future_days:
                fills["n_future"] = snap.n_future.fill_null(0)
            snap = snap.mutate(**fills)
        out.append(snap)
    return ibis.union(*out, distinct=False)


def _history(values: ibis.Table, cutoffs: list[pd.Timestamp], measures: Mapping[str, Measure]) -> list[ibis.Table]:
    """Aggregates over [-inf, cutoff) for each cutoff, each built on the one before."""
    states, state, start = [], None, None
    for cutoff in cutoffs:
        span = values.timestamp < timestamp_literal(cutoff)
        if start is not None:
            span &= values.timestamp >= timestamp_literal(start)
        new = values.filter(span)
        delta = new.group_by("customer_id").aggregate(
            **{name: _reduce(new[f"_v_{name}"], m.how) for name, m in measures.items()}
        )
        delta = delta.mutate(**{n: delta[n].fill_null(0) for n, m in measures.items() if m.how == "sum"})
        state = delta if state is None else _merge(state, delta, measures)
        states.append(state)
        start = cutoff
    return states


def _merge(old: ibis.Table, new: ibis.Table, measures: Mapping[str, Measure]) -> ibis.Table:
    """Customer by customer, the aggregates over the union of both spans."""
    j = old.view().outer_join(new, "customer_id")
    cols = {"customer_id": j.customer_id.fill_null(j.customer_id_right)}
    for name, m in measures.items():
        a, b = j[name], j[f"{name}_right"]
        if m.how == "sum":
            cols[name] = a.fill_null(0) + b.fill_null(0)
        elif m.how == "min":
            cols[name] = ibis.least(a, b)  # least/greatest skip nulls
        else:
            cols[name] = ibis.greatest(a, b)
    return j.select(**cols)


def _recent(
    values: ibis.Table,
    cutoff: pd.Timestamp,
    measures: Mapping[str, Measure],
    windowed: Mapping[str, tuple[str, Window]],
    future_days: int | None,
) -> ibis.Table:
    """Windowed aggregates and n_future at one cutoff, from the rows they cover only."""

    def at(days: int) -> ibis.Value:
        return timestamp_literal(cutoff - pd.Timedelta(days=days))

    first = max((w.start_days for _, w in windowed.values()), default=0)
    end = cutoff + pd.Timedelta(days=future_days or 0)
    r = values.filter((values.timestamp >= at(first)) & (values.timestamp < timestamp_literal(end)))
    aggs = {}
    for name, (measure, w) in windowed.items():
        inside = (r.timestamp >= at(w.start_days)) & (r.timestamp < at(w.end_days))
        aggs[name] = _reduce(r[f"_v_{measure}"], measures[measure].how, inside)
    if future_days:
        aggs["n_future"] = r.count(where=r.timestamp >= timestamp_literal(cutoff))
    return r.group_by("customer_id").aggregate(**aggs)


def _reduce(value: ibis.Value, how: How, where: ibis.Value | None = None) -> ibis.Value:
    if how == "sum":
        return value.sum(where=where)
    if how == "min":
        return value.min(where=where)
    return value.max(where=where)
