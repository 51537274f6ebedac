"""Monthly acquisition cohorts: of the customers whose first transaction fell in a month,
the share with a transaction in each later month.

A cohort is the calendar month (UTC) of a customer's first transaction in the data, so
the first cohort also holds everyone who was already a customer when the data begins.
Month k of a cohort is shown only when that month ends on or before the cutoff.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from churn.reporting.kpis import history


def _month_index(ts: pd.Series | pd.Timestamp):
    """Months since year 0: consecutive months differ by exactly 1."""
    if isinstance(ts, pd.Timestamp):
        return ts.year * 12 + ts.month - 1
    return ts.dt.year * 12 + ts.dt.month - 1


def cohort_retention(tx: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """One row per complete acquisition month, oldest first.

    Columns: cohort ("2024-01"), customers (cohort size), then m0, m1, ... : the share of
    the cohort with a transaction (refunds included) in the k-th month after acquisition
    (m0 is 1.0 by definition); NaN where that month is not complete by the cutoff.
    """
    tx = history(tx, cutoff)
    current = _month_index(cutoff)  # the month holding the cutoff is never complete
    months = pd.DataFrame({"customer_id": tx["customer_id"], "month": _month_index(tx["timestamp"])})
    months = months[months["month"] < current].drop_duplicates()
    if months.empty:
        return pd.DataFrame({"cohort": pd.Series(dtype="string"), "customers": pd.Series(dtype="int64")})
    cohort = months.groupby("customer_id")["month"].min().rename("cohort_month")
    months = months.join(cohort, on="customer_id")
    months["offset"] = months["month"] - months["cohort_month"]
    active = months.groupby(["cohort_month", "offset"]).size().unstack("offset", fill_value=0)
    sizes = cohort.value_counts().sort_index()
    first, last = int(sizes.index.min()), current - 1
    cohort_months = np.arange(first, last + 1)
    offsets = np.arange(0, last - first + 1)
    active = active.reindex(index=cohort_months, columns=offsets, fill_value=0)
    sizes = sizes.reindex(cohort_months, fill_value=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = active.to_numpy(dtype="float64") / sizes.to_numpy(dtype="float64")[:, None]
    # A cell exists only when cohort month + offset is a complete month.
    shares[cohort_months[:, None] + offsets[None, :] > last] = np.nan
    out = pd.DataFrame(np.round(shares, 6), columns=[f"m{k}" for k in offsets])
    out.insert(0, "customers", sizes.to_numpy(dtype="int64"))
    out.insert(0, "cohort", [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in cohort_months])
    # Months without any new customer stay in the table (size 0, shares NaN) so the
    # rows are consecutive months.
    return out.reset_index(drop=True)
