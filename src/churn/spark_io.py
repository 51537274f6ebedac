"""Reading inputs into Spark and writing Spark results as single Parquet files.

Used only with `engine: spark`; pyspark is imported when a table is read or written, so
deciding which tables Spark reads (is_csv) works without it. Where a table comes from:

- `table:db.transactions`: a table in the session's catalog (Hive, Unity, Glue, ...);
- `delta:PATH`, or a directory holding `_delta_log`: a Delta table (the session needs
  Delta Lake: `spark.config` with spark.jars.packages io.delta:delta-spark_2.13:<version>
  and the Delta SQL extension and catalog, see docs/spark.md);
- any other path or URI: Parquet, one file or a directory of files.

CSV files are not read here: their quirks (encodings, delimiters, repeated header lines,
row numbers in messages) are handled by the single-node ingest (stages/ingest.py).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq

from churn.errors import InputError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

TABLE_PREFIX = "table:"
DELTA_PREFIX = "delta:"
CSV_SUFFIXES = (".csv", ".txt", ".tsv")


@dataclass(frozen=True)
class Source:
    """What to read: kind is "table", "delta" or "parquet"; location a table name, path or URI."""

    kind: str
    location: str


def source_of(spec: str, resolved: Path | None) -> Source:
    """The Source a params value names; `resolved` is its local path (None for a catalog
    table or a URI such as s3a://bucket/path)."""
    if spec.startswith(TABLE_PREFIX):
        return Source("table", spec[len(TABLE_PREFIX) :].strip())
    if spec.startswith(DELTA_PREFIX):
        return Source("delta", str(resolved) if resolved else spec[len(DELTA_PREFIX) :])
    if resolved is not None and (resolved / "_delta_log").is_dir():
        return Source("delta", str(resolved))
    return Source("parquet", str(resolved) if resolved else spec)


def is_csv(spec: str) -> bool:
    return not spec.startswith((TABLE_PREFIX, DELTA_PREFIX)) and spec.lower().endswith(CSV_SUFFIXES)


def is_uri(spec: str) -> bool:
    return "://" in spec or spec.startswith("dbfs:")


def read(session: SparkSession, source: Source, name: str) -> DataFrame:
    """The rows of `source` as a DataFrame; `name` (as the user wrote it) is used in errors."""
    try:
        if source.kind == "table":
            return session.table(source.location)
        if source.kind == "delta":
            return session.read.format("delta").load(source.location)
        if not is_uri(source.location) and not Path(source.location).exists():
            raise InputError(name, "file not found")
        return read_parquet(session, source.location)
    except InputError:
        raise
    except Exception as exc:  # Spark raises AnalysisException, Py4JJavaError, ...
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        what = {"table": "a table in the Spark catalog", "delta": "a readable Delta table"}.get(
            source.kind, "a readable Parquet file or directory"
        )
        raise InputError(name, f"not {what} ({first})") from None


def read_parquet(session: SparkSession, path: str) -> DataFrame:
    """Parquet, with nanosecond timestamps (as pandas writes them) turned into Spark
    timestamps: the session reads them as integers (engine.py), the file's own schema
    says which they are and whether they carry a time zone."""
    from pyspark.sql import functions as F

    df = session.read.parquet(path)
    for column, zoned in _nanosecond_columns(path).items():
        if column in df.columns and dict(df.dtypes)[column] == "bigint":
            # floor division, so instants before 1970 round down as the file's own type would
            micros = F.expr(f"(`{column}` - pmod(`{column}`, 1000)) div 1000")
            ts = F.timestamp_micros(micros)  # an instant, in the UTC session
            df = df.withColumn(column, ts if zoned else ts.cast("timestamp_ntz"))
    return df


def _nanosecond_columns(path: str) -> dict[str, bool]:
    """Column -> has a time zone, for the nanosecond timestamps in a local Parquet file or
    directory (the first file's schema; remote files are left to Spark)."""
    if is_uri(path):
        return {}
    p = Path(path)
    files = [p] if p.is_file() else sorted(p.rglob("*.parquet"))
    if not files:
        return {}
    try:
        schema = pq.read_schema(files[0])
    except Exception:  # not Parquet after all: Spark's own error says so
        return {}
    return {
        f.name: f.type.tz is not None
        for f in schema
        if hasattr(f.type, "unit") and f.type.unit == "ns" and str(f.type).startswith("timestamp")
    }


def write_parquet(df: DataFrame, target: Path, work: Path) -> None:
    """Write `df` to the single Parquet file `target`, sorted by all its columns (nulls
    last), so readers of one file (DuckDB, pandas) need not know Spark wrote it.

    `work` is a scratch directory next to `target` (the same file system, so the part file
    is renamed rather than copied). One task writes the file: the shuffle before it keeps
    the work upstream in parallel.
    """
    from pyspark.sql import functions as F

    parts = work / f".{target.name}.parts"
    order = [F.col(c).asc_nulls_last() for c in df.columns]
    df.repartition(1).sortWithinPartitions(*order).write.mode("overwrite").option("compression", "zstd").parquet(
        str(parts)
    )
    written = sorted(parts.glob("part-*.parquet"))
    if len(written) != 1:  # an empty DataFrame still writes one file with the schema
        raise RuntimeError(f"expected one Parquet part file in {parts}, found {len(written)}")
    os.replace(written[0], target)
    shutil.rmtree(parts, ignore_errors=True)
