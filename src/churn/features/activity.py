"""Cutoff-free flags on each transaction, from one pass in customer and time order.

Distinct days and months with a transaction, and the gaps between active days, count
first occurrences: a customer's first transaction of a day or a month. Whether a row is
one does not depend on any cutoff, so the rows are sorted once (one window pass) and
flagged; a cutoff then counts the flags before it like any other measure.

Amounts become exact decimals here: sums of floating-point numbers depend on the order
in which a parallel engine adds them, so money features would differ in the last digits
from run to run (and DVC outputs would not reproduce byte for byte).
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt

MONEY = dt.Decimal(18, 6)  # amounts to the millionth of the currency unit, summed exactly


def activity_rows(tx: ibis.Table) -> ibis.Table:
    """Transactions (customer_id, timestamp, amount as MONEY) with their first-occurrence flags.

    new_day and new_month are 1 on a customer's first row of a day or a calendar month,
    else null (so that counting them counts days and months); gap_sq is the squared
    number of days since the previous active day, on a day's first row.
    """
    by_time = ibis.window(group_by="customer_id", order_by="timestamp")
    day = tx.timestamp.date()
    rows = tx.select("customer_id", "timestamp", "amount", day=day, previous=day.lag().over(by_time))
    new_day = rows.previous.isnull() | (rows.previous != rows.day)
    new_month = rows.previous.isnull() | (rows.previous.truncate("M") != rows.day.truncate("M"))
    gap = rows.day.delta(rows.previous, unit="day").cast("float64")
    one, none = ibis.literal(1, type="int8"), ibis.null("int8")
    return rows.select(
        "customer_id",
        "timestamp",
        amount=rows.amount.cast(MONEY),
        new_day=ibis.ifelse(new_day, one, none),
        new_month=ibis.ifelse(new_month, one, none),
        gap_sq=ibis.ifelse(rows.previous != rows.day, gap * gap, ibis.null("float64")),
    )
