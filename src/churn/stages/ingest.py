"""Stage `ingest`: validate and type the raw tables into data/interim/.

Writes transactions.parquet (and events/customers when configured), quarantine.csv
(rows set aside, with a reason; empty when none) and reports/ingest.json, which accounts
for every input row as kept, filtered by a user rule, dropped as an exact duplicate, or
rejected.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from churn import io, layout
from churn.config import Params
from churn.errors import ChurnError, InputError
from churn.data.validation import (
    Validated,
    validate_contacts,
    validate_customers,
    validate_events,
    validate_transactions,
)


def resolve(root: Path, path: str, key: str) -> Path:
    """Paths in params are relative to the project root and must stay inside it; an
    absolute path is taken as given, on purpose."""
    p = Path(path)
    if p.is_absolute():
        return p
    full = (root / p).resolve()
    if not full.is_relative_to(root.resolve()):
        raise ChurnError(f"{key}: {path!r} points outside the project; give an absolute path if you mean it")
    return full


def load_table(root: Path, key: str, path: str, validator, params: Params, text_columns: tuple[str, ...]) -> Validated:
    """Read one table named by params key `key` and validate it with `validator`."""
    file = resolve(root, path, key)
    data = params.data
    raw = io.read_table(file, text_columns, delimiter=data.delimiter, encoding=data.encoding, source=path)
    return validator(raw, data, path)


def run(root: Path, params: Params) -> dict:
    data = params.data
    cid = data.columns.customer_id
    results = {"transactions": load_table(root, "data.transactions", data.transactions, validate_transactions, params, (cid,))}
    if results["transactions"].table.empty:
        raise InputError(data.transactions, "no usable transactions (every row was filtered or rejected)")
    if data.events:
        results["events"] = load_table(root, "data.events", data.events, validate_events, params, ("customer_id",))
    if data.contacts:
        results["contacts"] = load_table(root, "data.contacts", data.contacts, validate_contacts, params, ("customer_id",))
    if data.customers:
        results["customers"] = load_table(
            root, "data.customers", data.customers, validate_customers, params, ("customer_id",)
        )

    targets = {
        "transactions": layout.INTERIM_TRANSACTIONS,
        "events": layout.INTERIM_EVENTS,
        "customers": layout.INTERIM_CUSTOMERS,
        "contacts": layout.INTERIM_CONTACTS,
    }
    quarantine = []
    with io.atomic_dir(root / layout.INTERIM) as out:
        for name, result in results.items():
            io.write_table(result.table, out / targets[name].name)
            if not result.rejected.empty:
                quarantine.append(result.rejected.assign(table=name))
        rejected = (
            pd.concat(quarantine, ignore_index=True)
            if quarantine
            else pd.DataFrame({"table": [], "row": [], "reason": []})
        )
        io.write_table(rejected, out / layout.QUARANTINE.name)
    tx = results["transactions"].table
    report = {name: r.counts for name, r in results.items()}
    report["transactions"].update(
        customers=int(tx["customer_id"].nunique()),
        first_timestamp=str(tx["timestamp"].min()),
        last_timestamp=str(tx["timestamp"].max()),
    )
    io.write_json(report, root / layout.INGEST_REPORT)
    return report
