"""Per-customer aggregates of the rows before each cutoff, for many cutoffs at once.

The straightforward formulations read every row once per cutoff: one aggregation of all
history per cutoff, or a join of every row with every cutoff (whose memory also grows
with the number of cutoffs). Here, with cutoffs t1 < t2 < ... < tk:

- History (every row before the cutoff) is built up cutoff by cutoff. The rows before t1
  are aggregated once; each later cutoff adds only the rows of [t(j-1), tj), combined
  with the previous cutoff's aggregates customer by customer (an outer join, no
  regrouping). Every row is read once, however many cutoffs there are.
- Windows (the last 90 days, the label window after the cutoff, ...) are aggregated per
  cutoff, from the rows they cover only.

Counts, sums, minima and maxima combine exactly this way (sums up to the order in which
floating-point numbers are added). Everything is an Ibis expression: DuckDB runs it by
default, and any Ibis backend can.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import ibis
import pandas as pd

How = Literal["count", "sum", "min", "max"]
ADDITIVE = ("count", "sum")  # partial results add up


@dataclass(frozen=True)
class Measure:
    """A per-row value and how rows combine into it: "count" (of non-null values), "sum",
    "min" or "max".

    `value` is anything Ibis resolves against the rows: a deferred (`ibis._.amount`), a
    literal, or a function of the table. Nulls are skipped. A count or sum over no rows is
    0; a minimum or maximum over no rows is null. (Counting a value that is null where a
    row should not count is cheaper than summing 0/1 flags.)
    """

    value: ibis.Deferred | ibis.Value | Callable[[ibis.Table], ibis.Value]
    how: How = "sum"


@dataclass(frozen=True)
class Window:
    """Rows with timestamp in [cutoff + start_days, cutoff + end_days).

    Window(-90, 0) is the 90 days before the cutoff, Window(0, 90) the 90 days from it.
    """

    start_days: int
    end_days: int

    def __post_init__(self) -> None:
        if self.start_days >= self.end_days:
            raise ValueError(f"a window needs start_days < end_days, got {self}")


def timestamp_literal(ts: pd.Timestamp) -> ibis.Value:
    return ibis.literal(pd.Timestamp(ts).to_pydatetime(), type="timestamp")


def aggregate_at_cutoffs(
    rows: ibis.Table,
    cutoffs: Sequence[pd.Timestamp],
    measures: Mapping[str, Measure],
    windowed: Mapping[str, tuple[str, Window]] | None = None,
    history: Sequence[str] | None = None,
) -> ibis.Table:
    """For every cutoff, one row per customer with at least one row before it.

    `rows` needs customer_id and timestamp. Output columns: customer_id, cutoff, one
    column per measure named in `history` (default: every measure) over every row before
    the cutoff, and one per `windowed` entry (output name -> (measure name, window)).
    """
    return ibis.union(*aggregates_by_cutoff(rows, cutoffs, measures, windowed, history).values(), distinct=False)


def aggregates_by_cutoff(
    rows: ibis.Table,
    cutoffs: Sequence[pd.Timestamp],
    measures: Mapping[str, Measure],
    windowed: Mapping[str, tuple[str, Window]] | None = None,
    history: Sequence[str] | None = None,
) -> dict[pd.Timestamp, ibis.Table]:
    """aggregate_at_cutoffs as one table per cutoff (oldest first): tables joined cutoff by
    cutoff join on customer_id alone, which is much cheaper than on customer and cutoff."""
    windowed = dict(windowed or {})
    unknown = sorted({m for m, _ in windowed.values()} - set(measures))
    if unknown:
        raise ValueError(f"windowed entries refer to unknown measures: {', '.join(unknown)}")
    clash = sorted(set(windowed) & set(measures))
    if clash:
        raise ValueError(f"names used both as a measure and a windowed entry: {', '.join(clash)}")
    history = list(measures) if history is None else list(history)
    if not history or set(history) - set(measures):
        raise ValueError(f"history must name at least one measure and only measures, got {history}")
    if not cutoffs:
        raise ValueError("need at least one cutoff")
    cutoffs = sorted({pd.Timestamp(c) for c in cutoffs})
    values = rows.select("customer_id", "timestamp", **{_value(name): m.value for name, m in measures.items()})

    out = {}
    for cutoff, state in zip(cutoffs, _history(values, cutoffs, {n: measures[n] for n in history})):
        snap = state.mutate(cutoff=timestamp_literal(cutoff))
        if windowed:
            recent = _windows(values, cutoff, measures, windowed)
            snap = snap.left_join(recent, "customer_id").drop("customer_id_right")
            snap = snap.mutate(
                **{n: snap[n].fill_null(0) for n, (m, _) in windowed.items() if measures[m].how in ADDITIVE}
            )
        out[cutoff] = snap
    return out


def _value(name: str) -> str:
    return f"_value_{name}"


def _history(values: ibis.Table, cutoffs: list[pd.Timestamp], measures: Mapping[str, Measure]) -> list[ibis.Table]:
    """Aggregates over every row before each cutoff, each built on the previous one."""
    states, state, start = [], None, None
    for cutoff in cutoffs:
        span = values.timestamp < timestamp_literal(cutoff)
        if start is not None:
            span &= values.timestamp >= timestamp_literal(start)
        new = values.filter(span)
        delta = new.group_by("customer_id").aggregate(
            **{name: _reduce(new[_value(name)], m.how) for name, m in measures.items()}
        )
        delta = delta.mutate(**{n: delta[n].fill_null(0) for n, m in measures.items() if m.how in ADDITIVE})
        state = delta if state is None else _merge(state, delta, measures)
        states.append(state)
        start = cutoff
    return states


def _merge(old: ibis.Table, new: ibis.Table, measures: Mapping[str, Measure]) -> ibis.Table:
    """Customer by customer, the aggregates over the rows behind both tables."""
    # view(): `old` may itself be a projected join; joining it as is would extend that join.
    j = old.view().outer_join(new, "customer_id")
    cols = {"customer_id": j.customer_id.fill_null(j.customer_id_right)}
    for name, m in measures.items():
        a, b = j[name], j[f"{name}_right"]
        if m.how in ADDITIVE:
            cols[name] = a.fill_null(0) + b.fill_null(0)
        elif m.how == "min":
            cols[name] = ibis.least(a, b)  # least and greatest skip nulls
        else:
            cols[name] = ibis.greatest(a, b)
    return j.select(**cols)


def _windows(
    values: ibis.Table,
    cutoff: pd.Timestamp,
    measures: Mapping[str, Measure],
    windowed: Mapping[str, tuple[str, Window]],
) -> ibis.Table:
    """The windowed aggregates at one cutoff, from the rows the windows cover only.

    Overlapping windows (the last 30, 90 and 180 days) are cut at every window edge into
    disjoint segments; each (measure, segment) is aggregated once and a window combines
    its segments. That takes fewer conditional aggregates per row than one per window
    whenever windows share segments, so it is used then.
    """

    def at(days: int) -> ibis.Value:
        return timestamp_literal(cutoff + pd.Timedelta(days=days))

    edges = sorted({d for _, w in windowed.values() for d in (w.start_days, w.end_days)})
    r = values.filter((values.timestamp >= at(edges[0])) & (values.timestamp < at(edges[-1])))
    spans = {
        name: [i for i in range(len(edges) - 1) if w.start_days <= edges[i] and edges[i + 1] <= w.end_days]
        for name, (_, w) in windowed.items()
    }
    needed = sorted({(measure, i) for name, (measure, _) in windowed.items() for i in spans[name]})
    if len(needed) >= len(windowed):
        aggs = {}
        for name, (measure, w) in windowed.items():
            inside = (r.timestamp >= at(w.start_days)) & (r.timestamp < at(w.end_days))
            aggs[name] = _reduce(r[_value(measure)], measures[measure].how, inside)
        return r.group_by("customer_id").aggregate(**aggs)

    r = r.mutate(_segment=sum((r.timestamp >= at(e)).cast("int8") for e in edges[1:-1]))
    parts = r.group_by("customer_id").aggregate(
        **{f"_{m}_{i}": _reduce(r[_value(m)], measures[m].how, r._segment == i) for m, i in needed}
    )
    cols = {}
    for name, (measure, _) in windowed.items():
        segments = [parts[f"_{measure}_{i}"] for i in spans[name]]
        how = measures[measure].how
        if how in ADDITIVE:
            cols[name] = functools.reduce(operator.add, (p.fill_null(0) for p in segments))
        elif len(segments) == 1:
            cols[name] = segments[0]
        else:
            cols[name] = (ibis.least if how == "min" else ibis.greatest)(*segments)
    return parts.select("customer_id", **cols)


def _reduce(value: ibis.Value, how: How, where: ibis.Value | None = None) -> ibis.Value:
    if how == "count":
        return value.count(where=where)
    if how == "sum":
        return value.sum(where=where)
    if how == "min":
        return value.min(where=where)
    return value.max(where=where)
