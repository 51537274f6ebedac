"""The engine that runs ingest, features and scoring: an embedded DuckDB (default) or Spark.

`connect(params)` returns an Ibis backend; the feature expressions in features/ run on
either unchanged. pyspark is imported only when `engine: spark`, so the DuckDB path
never needs it (nor Java).

A local Spark session (`spark.master: local[N]`) listens on 127.0.0.1 only, has no web
UI and logs errors only; settings under `spark.config` win over these defaults.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import weakref
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis

from churn import io
from churn.config import Params, SparkSettings
from churn.errors import ChurnError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SPARK_EXTRA = "pip install 'churn-pipeline[spark]'"
JAVA_HINT = "install Java 17 (Debian/Ubuntu: apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
LOG_CONFIG = "spark-log4j2.properties"


def connect(params: Params) -> ibis.BaseBackend:
    """An Ibis backend for params.engine: a fresh embedded DuckDB, or Spark (the session
    is created on first use and shared by later calls in the process)."""
    if params.engine == "duckdb":
        return ibis.duckdb.connect(temp_directory=str(io.spill_directory()))
    return spark_backend(spark_session(params.spark))


def release_memory(con: ibis.BaseBackend) -> None:
    """Give back the memory DuckDB keeps after a query. Its buffer pool holds a finished
    query's blocks for the next one, up to memory_limit (80% of RAM): after the scoring
    snapshot of a million customers that was 1.1 GB, held through the rest of `churn score`.
    Lowering the limit for a moment frees them; Spark holds nothing here.

    The limit is set back to what it read the first time: RESET does not restore it, and
    DuckDB shows it rounded down (3GB reads "2.7 GiB", which reads back "2.6 GiB"), so
    reading it again each time would lower it a little with every call."""
    if con.name == "duckdb":
        if con not in _MEMORY_LIMITS:
            _MEMORY_LIMITS[con] = con.raw_sql("SELECT current_setting('memory_limit')").fetchone()[0]
        con.raw_sql("SET memory_limit = '1MB'")
        con.raw_sql(f"SET memory_limit = '{_MEMORY_LIMITS[con]}'")


_MEMORY_LIMITS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def is_spark(con: ibis.BaseBackend) -> bool:
    return con.name == "pyspark"


def read_parquet(con: ibis.BaseBackend, path: Path) -> ibis.Table:
    """A Parquet file as a table of `con` (on Spark, nanosecond timestamps as pandas
    writes them become Spark timestamps: spark_io.read_parquet)."""
    if not is_spark(con):
        return con.read_parquet(path)
    from churn import spark_io

    return register(con, spark_io.read_parquet(_active_session(), str(path)))


def register(con: ibis.BaseBackend, frame) -> ibis.Table:
    """A Spark DataFrame as a table of the Spark backend `con` (a temporary view)."""
    name = ibis.util.gen_name("churn")
    frame.createOrReplaceTempView(name)
    return con.table(name)


def to_spark(con: ibis.BaseBackend, expr: ibis.Table):
    """The Spark DataFrame that computes `expr` (nothing runs until it is used)."""
    return con.raw_sql(con.compile(expr))


def _active_session():
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is None:
        raise RuntimeError("no active Spark session: connect() first")
    return session


def session_config(settings: SparkSettings, cores: int | None = None) -> dict[str, str]:
    """Spark settings for the session: the pipeline's defaults, then the user's `spark.config`."""
    conf = {
        # Features count days between instants in UTC; Ibis sets this too, on connect.
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        # pandas writes nanosecond timestamps, which Spark refuses to read; as integers they
        # can be converted (spark_io.read_parquet does).
        "spark.sql.legacy.parquet.nanosAsLong": "true",
        "spark.ui.showConsoleProgress": "false",
        # Python workers (the model UDF) import mlflow too: nothing phones home there either.
        "spark.executorEnv.MLFLOW_DISABLE_TELEMETRY": "true",
        "spark.executorEnv.DO_NOT_TRACK": "true",
    }
    if is_local(settings.master):
        conf.update(
            {
                "spark.driver.host": "127.0.0.1",
                "spark.driver.bindAddress": "127.0.0.1",
                "spark.ui.enabled": "false",
                # The default 200 shuffle partitions cost more in scheduling than they give on one machine.
                "spark.sql.shuffle.partitions": str(local_cores(settings.master, cores)),
            }
        )
    conf.update({key: _conf_text(value) for key, value in settings.config.items()})
    return conf


def is_local(master: str) -> bool:
    return master == "local" or master.startswith("local[")


def local_cores(master: str, cores: int | None = None) -> int:
    """N of local[N] (local[*] and local: the machine's cores)."""
    found = re.fullmatch(r"local\[(\d+)(?:,\s*\d+)?\]", master)
    if found:
        return max(int(found.group(1)), 1)
    return cores or os.cpu_count() or 1


def _conf_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def spark_session(settings: SparkSettings) -> SparkSession:
    """The process's Spark session, created from `settings` on first use.

    With SPARK_REMOTE set (Spark Connect, Databricks Connect), pyspark connects there
    and `spark.master` is not used.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ChurnError(f"engine: spark needs pyspark: {SPARK_EXTRA}") from None
    remote = bool(os.environ.get("SPARK_REMOTE"))
    if not remote and SparkSession.getActiveSession() is None and not _java_available():
        raise ChurnError(f"engine: spark needs Java 17 or newer, and no `java` was found: {JAVA_HINT}")
    builder = SparkSession.builder.appName(settings.app_name)
    if not remote:
        builder = builder.master(settings.master)
    conf = session_config(settings)
    if not remote and is_local(settings.master):
        # Python workers (the model UDF) run this interpreter, which has this package, not `python3` on PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    quiet = not remote and is_local(settings.master) and "spark.driver.extraJavaOptions" not in conf
    if quiet:
        # Quiet from the first line: without a log configuration Spark logs INFO/WARN to the console.
        log_config = resources.files("churn") / LOG_CONFIG
        conf["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile={log_config}"
    for key, value in conf.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # the JVM failed to start: pyspark raises several types
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ChurnError(f"engine: spark: could not start a Spark session ({first}); {JAVA_HINT}") from None
    if quiet:
        session.sparkContext.setLogLevel("ERROR")  # a shell-like process starts at WARN whatever the file says
    return session


def _java_available() -> bool:
    home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java") or (home and os.path.exists(os.path.join(home, "bin", "java"))))


def spark_backend(session: SparkSession) -> ibis.BaseBackend:
    """Ibis on `session`, compiling epoch seconds exactly as DuckDB does (see _ExactEpochCompiler)."""
    con = ibis.pyspark.connect(session)
    con.compiler = _exact_compiler()
    return con


def _exact_compiler():
    """Ibis's PySpark compiler, but epoch seconds keep their fraction.

    Ibis compiles `epoch_seconds()` to Spark's unix_timestamp, which drops fractions of a
    second, while DuckDB's epoch keeps the microseconds; days between instants
    (recency_days, tenure_days, ...) then differ by up to a second's worth. unix_micros /
    1e6 is the same double as DuckDB's, so both engines give identical features.
    """
    import ibis.expr.datatypes as dt
    from ibis.backends.sql.compilers.pyspark import PySparkCompiler

    class _ExactEpochCompiler(PySparkCompiler):
        def visit_ExtractEpochSeconds(self, op, *, arg):
            micros = self.f.unix_micros(self.cast(arg, dt.timestamp))
            return self.cast(micros, dt.float64) / self.cast(1_000_000, dt.float64)

    return _ExactEpochCompiler()
