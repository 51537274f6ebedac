"""Stage `ingest`: validate and type the raw tables into data/interim/.

Writes transactions.parquet (and events/customers when configured), quarantine.csv
(rows set aside, with a reason; empty when none) and reports/ingest.json, which accounts
for every input row as kept, filtered by a user rule, dropped as an exact duplicate, or
rejected.

With `engine: spark`, Parquet files, Delta tables and catalog tables (`table:db.name`)
are read and checked by Spark (data/spark_validation.py) and written as single Parquet
files of the same columns, so later stages read them as they read the single-node
output. CSV files always take the single-node path: their quirks (encodings,
delimiters, repeated header lines) and row numbers in messages are handled there.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from churn import io, layout
from churn.config import Params
from churn.data.validation import (
    Validated,
    validate_contacts,
    validate_customers,
    validate_events,
    validate_transactions,
)
from churn.errors import ChurnError, InputError


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


VALIDATORS = {
    "transactions": validate_transactions,
    "events": validate_events,
    "contacts": validate_contacts,
    "customers": validate_customers,
}
TARGETS = {
    "transactions": layout.INTERIM_TRANSACTIONS,
    "events": layout.INTERIM_EVENTS,
    "customers": layout.INTERIM_CUSTOMERS,
    "contacts": layout.INTERIM_CONTACTS,
}


def load_spark_table(root: Path, key: str, path: str, name: str, params: Params):
    """Read one table named by params key `key` with Spark and validate it there
    (spark_validation's validator for table `name`)."""
    from churn import engine, spark_io
    from churn.data import spark_validation

    session = engine.spark_session(params.spark)
    spec = path[len(spark_io.DELTA_PREFIX) :] if path.startswith(spark_io.DELTA_PREFIX) else path
    local = None if path.startswith(spark_io.TABLE_PREFIX) or spark_io.is_uri(spec) else resolve(root, spec, key)
    raw = spark_io.read(session, spark_io.source_of(path, local), path)
    return spark_validation.VALIDATORS[name](raw, params.data, path)


def on_spark(params: Params, path: str) -> bool:
    """Whether Spark reads and checks this table (engine: spark, and not a CSV file)."""
    if params.engine != "spark":
        return False
    from churn.spark_io import is_csv

    return not is_csv(path)


def load(root: Path, key: str, path: str, name: str, params: Params):
    """Read and check table `name` (transactions, events, contacts or customers), named
    by params key `key`: with Spark when on_spark says so, else on this machine."""
    if on_spark(params, path):
        result = load_spark_table(root, key, path, name, params)
    else:
        text = (params.data.columns.customer_id,) if name == "transactions" else ("customer_id",)
        result = load_table(root, key, path, VALIDATORS[name], params, text)
    if name == "transactions" and result.counts["rows_kept"] == 0:
        raise InputError(path, "no usable transactions (every row was filtered or rejected)")
    return result


def run(root: Path, params: Params) -> dict:
    data = params.data
    paths = {
        "transactions": data.transactions,
        "events": data.events,
        "contacts": data.contacts,
        "customers": data.customers,
    }
    results = {}
    for name, path in paths.items():
        if not path:
            continue
        results[name] = load(root, f"data.{name}", path, name, params)

    quarantine = []
    with io.atomic_dir(root / layout.INTERIM) as out:
        for name, result in results.items():
            target = out / TARGETS[name].name
            if isinstance(result, Validated):
                io.write_table(result.table, target)
            else:
                from churn.spark_io import write_parquet

                write_parquet(result.table, target, out)
            if not result.rejected.empty:
                quarantine.append(result.rejected.assign(table=name))
        rejected = (
            pd.concat(quarantine, ignore_index=True)
            if quarantine
            else pd.DataFrame({"table": [], "row": [], "reason": []})
        )
        io.write_table(rejected, out / layout.QUARANTINE.name)
    report = {name: r.counts for name, r in results.items()}
    report["transactions"].update(_span(results["transactions"]))
    for result in results.values():
        if not isinstance(result, Validated):
            result.release()
    io.write_json(report, root / layout.INGEST_REPORT)
    return report


def _span(result) -> dict:
    """Customers and the first and last timestamp of the kept transactions."""
    if isinstance(result, Validated):
        tx = result.table
        customers, first, last = tx["customer_id"].nunique(), tx["timestamp"].min(), tx["timestamp"].max()
    else:
        from pyspark.sql import functions as F

        row = result.table.agg(
            F.count_distinct("customer_id").alias("customers"),
            F.min("timestamp").alias("first"),
            F.max("timestamp").alias("last"),
        ).first()
        customers, first, last = row["customers"], pd.Timestamp(row["first"]), pd.Timestamp(row["last"])
    return {"customers": int(customers), "first_timestamp": str(first), "last_timestamp": str(last)}
