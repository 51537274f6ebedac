"""Raw tables as users deliver them: read, mapped and validated as `churn ingest` does."""

from __future__ import annotations

from pathlib import Path

from churn import engine, io
from churn.config import Params
from churn.data.validation import (
    Validated,
    validate_contacts,
    validate_customers,
    validate_events,
    validate_transactions,
)
from churn.errors import ChurnError, InputError

VALIDATORS = {
    "transactions": validate_transactions,
    "events": validate_events,
    "contacts": validate_contacts,
    "customers": validate_customers,
}


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


def on_spark(params: Params, path: str) -> bool:
    """Whether Spark reads and checks this table (engine: spark, and not a CSV file)."""
    if params.engine != "spark":
        return False
    from churn.spark_io import is_csv

    return not is_csv(path)


def _read_local(root: Path, key: str, path: str, name: str, params: Params) -> Validated:
    file = resolve(root, path, key)
    text = (params.data.columns.customer_id,) if name == "transactions" else ("customer_id",)
    data = params.data
    raw = io.read_table(file, text, delimiter=data.delimiter, encoding=data.encoding, source=path)
    return VALIDATORS[name](raw, data, path)


def _read_spark(root: Path, key: str, path: str, name: str, params: Params):
    from churn import spark_io
    from churn.data import spark_validation

    session = engine.spark_session(params.spark)
    spec = path[len(spark_io.DELTA_PREFIX) :] if path.startswith(spark_io.DELTA_PREFIX) else path
    local = None if path.startswith(spark_io.TABLE_PREFIX) or spark_io.is_uri(spec) else resolve(root, spec, key)
    raw = spark_io.read(session, spark_io.source_of(path, local), path)
    return spark_validation.VALIDATORS[name](raw, params.data, path)


def raw_table(root: Path, key: str, path: str, name: str, params: Params):
    """Read and check raw table `name` (transactions, events, contacts or customers), named
    by params key `key`: with Spark when on_spark says so, else on this machine."""
    result = _read_spark(root, key, path, name, params) if on_spark(params, path) else None
    if result is None:
        result = _read_local(root, key, path, name, params)
    if name == "transactions" and result.counts["rows_kept"] == 0:
        raise InputError(path, "no usable transactions (every row was filtered or rejected)")
    return result
