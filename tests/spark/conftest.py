"""One local Spark session for every test here (starting one costs seconds)."""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest

from churn.config import SparkSettings


def require_spark() -> None:
    """Fail in CI (a missing Java or pyspark is a broken setup), skip with a reason elsewhere."""
    message = None
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        message = "java not found: the Spark tests need Java 17 (apt-get install -y openjdk-17-jre-headless); .ci/run installs it"
    elif importlib.util.find_spec("pyspark") is None:
        message = "pyspark not installed: pip install -e '.[dev,spark]' (make test does)"
    if message is None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def spark():
    """A local[2] session built as `engine: spark` builds it (engine.spark_session)."""
    require_spark()
    from churn.engine import spark_session

    session = spark_session(SparkSettings())
    yield session
    session.stop()
