"""The ingested tables (data/interim/), or a transactions file given on the command line,
opened on the configured engine; the contact log, snapshots and customer lists."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import ibis
import pandas as pd

from churn import engine, io, layout
from churn.config import Params
from churn.inputs.raw import raw_table


def open_tables(
    root: Path, params: Params, *, transactions: bool = True
) -> tuple[ibis.BaseBackend, ibis.Table | None, ibis.Table | None, ibis.Table | None]:
    """A connection to params.engine (embedded DuckDB or Spark) and the ingested tables:
    transactions (unless not wanted), events and customers (when present)."""
    con = engine.connect(params)

    def table(path: Path) -> ibis.Table | None:
        return engine.read_parquet(con, root / path) if (root / path).exists() else None

    tx = engine.read_parquet(con, root / layout.INTERIM_TRANSACTIONS) if transactions else None
    return con, tx, table(layout.INTERIM_EVENTS), table(layout.INTERIM_CUSTOMERS)


def transactions_file(con: ibis.BaseBackend, root: Path, params: Params, path: str) -> tuple[ibis.Table, dict]:
    """Another transactions file (`--transactions`) as a table of `con`, read and validated
    as `churn ingest` would (on Spark unless it is a CSV file), and its row counts.

    On DuckDB the kept rows are written as they are checked to a Parquet file in the spill
    directory, as ingest writes data/interim/, and read from there: DuckDB reads Parquet
    much faster than an Arrow table handed to it (every window and cutoff scans the rows
    again: the features of ten million rows at six cutoffs took 13.6 s from Arrow, 8.9 s
    from Parquet), and the rows are never held here. LZ4, not ingest's zstd: the file is
    read again and again, then deleted (the whole `churn features --transactions`, in one
    process, three runs each, interleaved: 16.1-18.3 s with zstd, 16.0-17.0 s with LZ4)."""
    if engine.is_spark(con):  # the kept rows are a lazy Spark DataFrame
        result = raw_table(root, "--transactions", path, "transactions", params)
        return engine.register(con, result.rows), result.counts
    kept = io.spill_directory() / "transactions.parquet"
    result = raw_table(
        root, "--transactions", path, "transactions", params, rows_to=partial(io.ParquetStream, kept, compression="lz4")
    )
    return engine.read_parquet(con, kept), result.counts


def tables(
    root: Path, params: Params, transactions: str | None = None
) -> tuple[ibis.BaseBackend, ibis.Table, ibis.Table | None, ibis.Table | None, dict | None]:
    """Connection, transactions (ingested, or the file given now), events, customers, and the
    row counts of a file given now (None for the ingested tables)."""
    con, tx, events, customers = open_tables(root, params, transactions=transactions is None)
    counts = None
    if transactions:
        tx, counts = transactions_file(con, root, params, transactions)
    return con, tx, events, customers, counts


def time_span(con: ibis.BaseBackend, tx: ibis.Table) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Oldest and newest transaction timestamp."""
    span = con.to_pyarrow(tx.aggregate(oldest=tx.timestamp.min(), newest=tx.timestamp.max())).to_pylist()[0]
    return pd.Timestamp(span["oldest"]), pd.Timestamp(span["newest"])


def contacts(root: Path, columns: list[str] | None = None) -> pd.DataFrame | None:
    """The ingested contact log (customer_id, timestamp, channel, action, ...), if there is
    one; only `columns` when given (scoring needs two of them: a million contacts in full
    are 120 MB)."""
    path = root / layout.INTERIM_CONTACTS
    return pd.read_parquet(path, columns=columns) if path.exists() else None
