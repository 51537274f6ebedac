"""Choosing the engine: params, Spark session settings, and the DuckDB path staying free of Spark."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from churn.config import SparkSettings, parse_params
from churn.engine import local_cores, session_config
from churn.errors import ChurnError
from tests.conftest import ROOT


def test_engine_defaults_to_duckdb_and_names_a_bad_value(raw_params):
    params = parse_params(raw_params)
    assert params.engine == "duckdb"
    assert params.spark.master == "local[2]"
    with pytest.raises(ChurnError, match=r"engine: Input should be 'duckdb' or 'spark'"):
        parse_params({**raw_params, "engine": "polars"})


def test_spark_config_keys_must_be_spark_settings(raw_params):
    ok = parse_params({**raw_params, "engine": "spark", "spark": {"config": {"spark.executor.memory": "4g"}}})
    assert ok.spark.config == {"spark.executor.memory": "4g"}
    with pytest.raises(ChurnError, match=r"spark: .*keys must be Spark settings.*executor.memory"):
        parse_params({**raw_params, "spark": {"config": {"executor.memory": "4g"}}})
    with pytest.raises(ChurnError, match=r"spark.mastr: Extra inputs are not permitted"):
        parse_params({**raw_params, "spark": {"mastr": "yarn"}})


def test_local_sessions_stay_on_loopback_without_ui_and_user_settings_win():
    conf = session_config(SparkSettings())
    assert conf["spark.driver.host"] == conf["spark.driver.bindAddress"] == "127.0.0.1"
    assert conf["spark.ui.enabled"] == "false"
    assert conf["spark.sql.session.timeZone"] == "UTC"
    assert conf["spark.sql.shuffle.partitions"] == "2"
    mine = session_config(SparkSettings(config={"spark.ui.enabled": True, "spark.sql.shuffle.partitions": 8}))
    assert mine["spark.ui.enabled"] == "true" and mine["spark.sql.shuffle.partitions"] == "8"


def test_cluster_masters_get_no_local_only_settings():
    conf = session_config(SparkSettings(master="spark://head:7077"))
    assert "spark.driver.host" not in conf and "spark.sql.shuffle.partitions" not in conf
    assert conf["spark.sql.session.timeZone"] == "UTC"


@pytest.mark.parametrize("master, cores", [("local[4]", 4), ("local[2, 3]", 2), ("local[*]", 6), ("local", 6)])
def test_local_cores(master, cores):
    assert local_cores(master, cores=6) == cores


def run_in_fresh_python(code: str) -> None:
    """Run `code` in a new interpreter at the project root (nothing imported yet); it must succeed."""
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_the_duckdb_path_never_imports_pyspark():
    code = (
        "import sys, churn.cli, churn.engine, churn.stages.ingest, churn.stages.features, churn.stages.score\n"
        "from churn.config import parse_params\n"
        "import yaml\n"
        "con = churn.engine.connect(parse_params(yaml.safe_load(open('params.yaml'))))\n"
        "assert con.name == 'duckdb', con.name\n"
        "assert not [m for m in sys.modules if m.startswith(('pyspark', 'py4j'))], 'pyspark was imported'\n"
    )
    run_in_fresh_python(code)


def test_csv_inputs_with_engine_spark_take_the_single_node_ingest_without_pyspark():
    # pyspark blocked: a CSV export still ingests on one machine with engine: spark.
    code = (
        "import sys; sys.modules['pyspark'] = None\n"
        "from churn.config import parse_params\n"
        "from churn.inputs.raw import on_spark\n"
        "import yaml\n"
        "raw = yaml.safe_load(open('params.yaml')); raw['engine'] = 'spark'\n"
        "params = parse_params(raw)\n"
        "assert not on_spark(params, 'data/raw/synthetic/transactions.csv')\n"
        "assert on_spark(params, 'data/raw/transactions.parquet')\n"
    )
    run_in_fresh_python(code)


def test_duckdb_spills_to_a_private_directory_removed_at_exit(tmp_path):
    """Not DuckDB's default `.tmp` in the working directory (the project under dvc repro)."""
    code = (
        "import os, yaml, churn.engine\n"
        "from churn.config import parse_params\n"
        f"os.chdir({str(tmp_path)!r})\n"
        f"params = parse_params(yaml.safe_load(open({str(ROOT / 'params.yaml')!r})))\n"
        "con = churn.engine.connect(params)\n"
        "spill = con.raw_sql(\"SELECT current_setting('temp_directory')\").fetchone()[0]\n"
        "assert os.path.isdir(spill) and 'churn-duckdb-' in spill, spill\n"
        f"open({str(tmp_path / 'spill.txt')!r}, 'w').write(spill)\n"
    )
    run_in_fresh_python(code)
    spill = Path((tmp_path / "spill.txt").read_text())
    assert not spill.exists()  # removed when the process ended
    assert not (tmp_path / ".tmp").exists()


def test_releasing_duckdbs_memory_keeps_its_limit():
    import ibis

    from churn.engine import release_memory

    con = ibis.duckdb.connect(memory_limit="3GB")
    (before,) = con.raw_sql("SELECT current_setting('memory_limit')").fetchone()
    con.raw_sql("CREATE TABLE t AS SELECT range % 1000 AS k, range AS v FROM range(2000000)")
    release_memory(con)
    (after,) = con.raw_sql("SELECT current_setting('memory_limit')").fetchone()
    assert after in (before, "2.6 GiB")  # DuckDB rounds what it shows down: "2.7 GiB" reads back as 2.6
    for _ in range(3):
        release_memory(con)
        assert con.raw_sql("SELECT current_setting('memory_limit')").fetchone()[0] == after  # no creeping down
    assert con.raw_sql("SELECT count(DISTINCT k) FROM t").fetchone()[0] == 1000  # still works, data kept
