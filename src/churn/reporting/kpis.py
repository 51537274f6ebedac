"""Retention KPIs per calendar period (month or quarter), from the transaction log as of a cutoff.

Definitions (also in docs/report.md). Timestamps are naive UTC; a period
is [start, end), so a transaction exactly at `end` belongs to the next period.

- Active at instant t: a transaction (refunds included) in [t - active_days, t), the
  pipeline's population rule.
- customers_start / customers_end: customers active at the period's start / end.
- new: customers whose first transaction in the data falls in the period.
- lost: active at the start, not active at the end (their last transaction has become
  older than active_days during the period).
- reactivated: neither active at the start nor new, but active at the end (a lapsed
  customer came back). customers_end = customers_start - lost + new + reactivated, exactly.
- retention_rate = (customers_end - new) / customers_start; lapse_rate = lost / customers_start.
  They add up to 1 + reactivated / customers_start (the standard retention formula counts
  a returning lapsed customer as retained).
- orders: purchases (amount > 0), counted by distinct order_id when the data has one;
  revenue: net sum of amounts (refunds subtract); buyers: customers with an order.
- repeat_purchase_rate: share of the period's buyers with two or more orders in it.
- average_order_value = revenue / orders.
- purchase_frequency = orders / customers_end: orders per active customer per period
  (every order of the period comes from a customer active at its end).
- expected_lifetime_periods = 1 / lapse_rate (a constant per-period churn gives a
  geometric lifetime with this mean).
- period_clv = average_order_value x purchase_frequency x expected_lifetime_periods x margin.

A period is reported only when it ends on or before the cutoff (no partial periods).
`full_history` says whether the data reaches active_days back from the period's start;
without it customers_start is undercounted and churn looks too low.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from churn.errors import ChurnError

PERIOD_FREQ = {"month": "M", "quarter": "Q"}
PERIODS_PER_YEAR = {"month": 12, "quarter": 4}
# Longest period of each kind: active_days must cover it, or a customer could be new
# and lapsed again within one period and the flow no longer adds up.
MAX_PERIOD_DAYS = {"month": 31, "quarter": 92}

PERIOD_COLUMNS = [
    "period",
    "start",
    "end",
    "full_history",
    "customers_start",
    "new",
    "reactivated",
    "lost",
    "customers_end",
    "retention_rate",
    "lapse_rate",
    "buyers",
    "orders",
    "revenue",
    "repeat_purchase_rate",
    "average_order_value",
    "purchase_frequency",
    "expected_lifetime_periods",
    "period_clv",
]


def _ratio(num, den):
    """num / den, NaN where den is 0 (a rate of nothing is unknown, not zero)."""
    num = np.asarray(num, dtype="float64")
    den = np.asarray(den, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den != 0, num / np.where(den != 0, den, 1.0), np.nan)


def check_transactions(tx: pd.DataFrame) -> None:
    """Raise a ChurnError naming what is missing when `tx` cannot be reported on."""
    missing = [c for c in ("customer_id", "timestamp", "amount") if c not in tx.columns]
    if missing:
        raise ChurnError(f"transactions: missing column(s) {', '.join(missing)}")
    if tx.empty:
        raise ChurnError("transactions: no rows to report on")


def history(tx: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Rows strictly before the cutoff: everything the report may see."""
    check_transactions(tx)
    seen = tx[tx["timestamp"] < cutoff]
    if seen.empty:
        raise ChurnError(f"transactions: no rows before the cutoff {cutoff}")
    return seen


def complete_periods(first: pd.Timestamp, cutoff: pd.Timestamp, period: str) -> pd.PeriodIndex:
    """Periods from the one holding `first` to the last that ends on or before `cutoff`."""
    if period not in PERIOD_FREQ:
        raise ChurnError(f"report.period: expected one of {', '.join(PERIOD_FREQ)}, got {period!r}")
    freq = PERIOD_FREQ[period]
    span = pd.period_range(pd.Period(first, freq), pd.Period(cutoff, freq), freq=freq)
    ends = span.end_time.floor("D") + pd.Timedelta(days=1)
    return span[ends <= cutoff]


def _active_at(tx: pd.DataFrame, at: pd.Timestamp, active_days: int) -> pd.Index:
    window = (tx["timestamp"] >= at - pd.Timedelta(days=active_days)) & (tx["timestamp"] < at)
    return pd.Index(tx.loc[window, "customer_id"].unique())


def _order_key(purchases: pd.DataFrame) -> pd.Series:
    """The order each purchase row belongs to: its order_id (one order may span several
    rows, e.g. items), else the row itself."""
    row_key = "row:" + pd.Series(np.arange(len(purchases)), index=purchases.index).astype("string")
    if "order_id" in purchases.columns:
        return purchases["order_id"].astype("string").fillna(row_key)
    return row_key


def period_kpis(
    tx: pd.DataFrame, cutoff: pd.Timestamp, *, period: str, active_days: int, margin: float = 1.0
) -> pd.DataFrame:
    """One row per complete period, oldest first, with the columns in PERIOD_COLUMNS
    (defined in the module docstring). `cutoff` is the instant the history ends (exclusive)."""
    if period in MAX_PERIOD_DAYS and active_days < MAX_PERIOD_DAYS[period]:
        raise ChurnError(
            f"report.period: a {period} can last {MAX_PERIOD_DAYS[period]} days, longer than "
            f"churn.active_days ({active_days}); choose a shorter period or a longer active window"
        )
    tx = history(tx, cutoff)
    data_start = tx["timestamp"].min().floor("D")
    periods = complete_periods(tx["timestamp"].min(), cutoff, period)
    if len(periods) == 0:
        raise ChurnError(
            f"no complete {period} between the first transaction ({data_start.date()}) and the cutoff "
            f"({cutoff}); the report needs at least one whole {period} of data"
        )
    starts = periods.start_time
    ends = periods.end_time.floor("D") + pd.Timedelta(days=1)
    first_seen = tx.groupby("customer_id")["timestamp"].min()

    purchases = tx[tx["amount"] > 0]
    purchases = purchases.assign(order_key=_order_key(purchases))
    rows = []
    active_start = _active_at(tx, starts[0], active_days)
    for label, start, end in zip(periods, starts, ends):
        active_end = _active_at(tx, end, active_days)
        new = first_seen.index[(first_seen >= start) & (first_seen < end)]
        lost = active_start.difference(active_end)
        reactivated = active_end.difference(active_start).difference(new)
        in_period = tx[(tx["timestamp"] >= start) & (tx["timestamp"] < end)]
        bought = purchases[(purchases["timestamp"] >= start) & (purchases["timestamp"] < end)]
        orders_per_buyer = bought.groupby("customer_id")["order_key"].nunique()
        rows.append(
            {
                "period": str(label),
                "start": start.strftime("%Y-%m-%d"),
                "end": end.strftime("%Y-%m-%d"),
                "full_history": bool(start - pd.Timedelta(days=active_days) >= data_start),
                "customers_start": len(active_start),
                "new": len(new),
                "reactivated": len(reactivated),
                "lost": len(lost),
                "customers_end": len(active_end),
                "buyers": len(orders_per_buyer),
                "orders": int(orders_per_buyer.sum()),
                "repeat_buyers": int((orders_per_buyer >= 2).sum()),
                "revenue": float(in_period["amount"].sum()),
            }
        )
        active_start = active_end
    table = pd.DataFrame(rows)
    table["retention_rate"] = _ratio(table["customers_end"] - table["new"], table["customers_start"])
    table["lapse_rate"] = _ratio(table["lost"], table["customers_start"])
    table["repeat_purchase_rate"] = _ratio(table["repeat_buyers"], table["buyers"])
    return _with_value(table, margin)[PERIOD_COLUMNS].pipe(_rounded)


def _with_value(table: pd.DataFrame, margin: float) -> pd.DataFrame:
    """AOV, purchase frequency, expected lifetime and simple CLV from the count columns."""
    out = table.copy()
    out["average_order_value"] = _ratio(out["revenue"], out["orders"])
    out["purchase_frequency"] = _ratio(out["orders"], out["customers_end"])
    out["expected_lifetime_periods"] = _ratio(1.0, out["lapse_rate"])
    out["period_clv"] = (
        out["average_order_value"] * out["purchase_frequency"] * out["expected_lifetime_periods"] * margin
    )
    return out


def _rounded(table: pd.DataFrame) -> pd.DataFrame:
    # Fixed precision, so the CSV and JSON are identical across platforms and reruns.
    out = table.copy()
    digits = dict.fromkeys(("revenue", "average_order_value", "period_clv"), 2)
    for col in out.columns:
        if col.endswith("_rate") or col in ("purchase_frequency", "expected_lifetime_periods", *digits):
            out[col] = out[col].astype("float64").round(digits.get(col, 6))
    return out


def trailing_year(table: pd.DataFrame, *, period: str, margin: float = 1.0) -> dict | None:
    """The KPIs pooled over the last year of periods that have full history.

    Rates are pooled (sums of numerators over sums of denominators), so a large period
    weighs more than a small one. None when no period of the last year has full history.
    """
    recent = table.tail(PERIODS_PER_YEAR[period])
    recent = recent[recent["full_history"]]
    if recent.empty:
        return None
    counts = ["customers_start", "new", "reactivated", "lost", "customers_end", "buyers", "orders", "revenue"]
    pooled = pd.DataFrame([recent[counts].sum()])
    pooled["retention_rate"] = _ratio(pooled["customers_end"] - pooled["new"], pooled["customers_start"])
    pooled["lapse_rate"] = _ratio(pooled["lost"], pooled["customers_start"])
    pooled = _with_value(pooled, margin).pipe(_rounded).iloc[0]
    return {
        "first_period": str(recent["period"].iloc[0]),
        "last_period": str(recent["period"].iloc[-1]),
        "periods": int(len(recent)),
        **{
            k: pooled[k]
            for k in (
                "retention_rate",
                "lapse_rate",
                "average_order_value",
                "purchase_frequency",
                "expected_lifetime_periods",
                "period_clv",
            )
        },
    }


def json_safe(value):
    """Plain Python values for JSON: NaN -> None, numpy scalars -> int/float/bool."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else float(value)
    return value
