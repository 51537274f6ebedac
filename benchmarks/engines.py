"""Time the feature stage on DuckDB and on Spark (local mode) and print a table.

    python benchmarks/engines.py [--customers 100000] [--rows 1000000] [--repeats 3] [--master local[2]]

`churn generate` writes a synthetic world in a temporary project; its transactions (the
cancelled orders filtered out, as `churn ingest` does) are cut to the first --rows in
time and saved as one Parquet file. On it, each engine builds the features stage's
snapshots (churn.features.snapshots.build_snapshots: the planned training and test
cutoffs with labels, active customers only) --repeats times, each run in its own
process; the table shows the median seconds (reading the file, computing, and fetching
the result into pandas; imports and starting the Spark session excluded) and the peak
RSS of the run. For Spark that is the Python process plus the JVM of its local session.

Both engines' results are compared (rows and column sums) before the table is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
HORIZON_DAYS = 90
ACTIVE_DAYS = 365
N_TRAIN_CUTOFFS, CUTOFF_SPACING_DAYS = 6, 30  # the default params
ENGINES = ("duckdb", "spark")


def child(engine: str, path: str, score_cutoff: str, master: str) -> None:
    """Build the snapshots on one engine; print {"seconds", "check", "jvm_peak_mb"} as JSON."""
    import pandas as pd

    from churn.config import SparkSettings
    from churn.engine import read_parquet, spark_backend, spark_session
    from churn.features.snapshots import build_snapshots
    from churn.timeline import plan_cutoffs

    if engine == "spark":
        con = spark_backend(spark_session(SparkSettings(master=master)))
    else:
        import ibis

        con = ibis.duckdb.connect()
    plan = plan_cutoffs(pd.Timestamp(score_cutoff), HORIZON_DAYS, N_TRAIN_CUTOFFS, CUTOFF_SPACING_DAYS)
    start = time.perf_counter()
    frame = build_snapshots(
        con,
        read_parquet(con, Path(path)),
        plan.labelled(),
        active_days=ACTIVE_DAYS,
        horizon_days=HORIZON_DAYS,
        labels_until=plan.score,
    )
    seconds = time.perf_counter() - start
    numeric = frame.select_dtypes("number")
    check = {"rows": len(frame), **{c: float(numeric[c].sum()) for c in numeric.columns}}
    print(json.dumps({"seconds": seconds, "check": check, "jvm_peak_mb": _jvm_peak_mb()}), flush=True)
    # Exit at once: the JVM, not waited for, stops by itself when this process's pipe to
    # it closes, and wait4's peak RSS is then this process's own.
    os._exit(0)


def _jvm_peak_mb() -> float:
    """Peak resident memory (VmHWM) of this process's child processes (the local JVM), in MB."""
    import psutil

    total = 0.0
    for proc in psutil.Process().children(recursive=True):
        try:
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def run_child(engine: str, path: Path, score_cutoff: str, master: str) -> tuple[float, float, dict]:
    """(seconds, peak RSS in MB, checksums) of one run in a fresh process."""
    cmd = [
        sys.executable,
        __file__,
        "--child",
        engine,
        "--input",
        str(path),
        "--score-cutoff",
        score_cutoff,
        "--master",
        master,
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{engine} failed:\n{err.decode()}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    return result["seconds"], usage.ru_maxrss / 1024 + result["jvm_peak_mb"], result["check"]


def make_data(root: Path, customers: int, rows: int, days: int) -> tuple[Path, dict]:
    """Generate a world with `churn generate`; write the first `rows` transactions in time order."""
    import duckdb

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["generate"].update(n_customers=customers, days=days)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DVC_NO_ANALYTICS": "1"}
    env.pop("DVC_ROOT", None)
    churn = str(Path(sys.executable).parent / "churn")
    subprocess.run([churn, "generate"], cwd=root, env=env, check=True, stdout=subprocess.DEVNULL)
    csv = root / "data/raw/synthetic/transactions.csv"
    path = root / "transactions.parquet"
    con = duckdb.connect()
    con.execute(
        f"""COPY (
            SELECT customer_id, timestamp, amount, category, channel
            FROM read_csv('{csv}', header = true, columns = {{
                'order_id': 'VARCHAR', 'customer_id': 'VARCHAR', 'timestamp': 'TIMESTAMP', 'amount': 'DOUBLE',
                'quantity': 'BIGINT', 'category': 'VARCHAR', 'channel': 'VARCHAR', 'status': 'VARCHAR'}})
            WHERE status <> 'Cancelled'
            ORDER BY timestamp, customer_id, order_id
            LIMIT {rows}
        ) TO '{path}' (FORMAT parquet, COMPRESSION zstd)"""
    )
    n, n_customers, newest = con.execute(
        f"SELECT count(*), count(DISTINCT customer_id), max(timestamp) FROM '{path}'"
    ).fetchone()
    if n < rows:
        raise SystemExit(f"the generated world has only {n:,} transactions; raise --days or --customers")
    return path, {"rows": n, "customers": n_customers, "newest": newest}


def score_cutoff_of(newest) -> str:
    """The scoring cutoff of the data, from which the features stage plans its cutoffs."""
    sys.path.insert(0, str(ROOT / "src"))
    import pandas as pd

    from churn.timeline import scoring_cutoff

    return str(scoring_cutoff(pd.Timestamp(newest)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=560, help="days the generated world spans (enough for --rows)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--master", default="local[2]", help="Spark master (default: local[2])")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--score-cutoff", help=argparse.SUPPRESS)
    parser.add_argument("--prepare", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.input, args.score_cutoff, args.master)
        return
    if args.prepare:
        path, facts = make_data(Path(args.prepare), args.customers, args.rows, args.days)
        print(json.dumps({"path": str(path), "score_cutoff": score_cutoff_of(facts["newest"]), **facts}, default=str))
        return

    with tempfile.TemporaryDirectory() as tmp:
        # In a process of its own: Linux counts the parent's peak RSS into each child's
        # ru_maxrss, so the parent stays small (no pandas, no data).
        cmd = [
            sys.executable,
            __file__,
            "--prepare",
            tmp,
            "--customers",
            str(args.customers),
            "--rows",
            str(args.rows),
            "--days",
            str(args.days),
        ]
        facts = json.loads(
            subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        )
        path, score_cutoff = Path(facts["path"]), facts["score_cutoff"]
        runs: dict[str, list[tuple[float, float, dict]]] = {e: [] for e in ENGINES}
        for _ in range(args.repeats):  # interleaved, so load from elsewhere hits both alike
            for engine in ENGINES:
                runs[engine].append(run_child(engine, path, score_cutoff, args.master))
    _check(runs["spark"][0][2], runs["duckdb"][0][2])

    print(
        f"\nFeatures stage ({N_TRAIN_CUTOFFS + 1} cutoffs with labels) on {facts['rows']:,} transactions of "
        f"{facts['customers']:,} customers; Spark {args.master}; median of {args.repeats}\n"
    )
    print("| engine | seconds | peak RSS MB | rows |")
    print("|---|---:|---:|---:|")
    for engine in ENGINES:
        seconds = statistics.median(r[0] for r in runs[engine])
        print(f"| {engine} | {seconds:.2f} | {max(r[1] for r in runs[engine]):.0f} | {runs[engine][0][2]['rows']:,} |")


def _check(spark: dict, duckdb: dict) -> None:
    """Both engines must give the same rows and the same column sums."""
    if spark.keys() != duckdb.keys():
        raise SystemExit(f"different columns: {sorted(spark.keys() ^ duckdb.keys())}")
    for col, value in duckdb.items():
        if abs(spark[col] - value) > 1e-6 * max(1.0, abs(value)):
            raise SystemExit(f"{col} sums to {spark[col]!r} on Spark and {value!r} on DuckDB")


if __name__ == "__main__":
    main()
