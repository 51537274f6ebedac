"""Time the point-in-time features against hand-written DuckDB SQL and print a table.

    python benchmarks/features.py [--customers 1000000] [--rows 10000000] [--repeats 3]

`churn generate` writes a synthetic world in a temporary project; its transactions (the
cancelled orders filtered out, as `churn ingest` does) are cut to the first --rows in
time and saved as Parquet twice: in time order, as exported, and sorted by customer and
time, as `churn ingest` writes them. On each file, every variant runs --repeats times,
each in its own process; the table shows the median seconds (reading the Parquet file,
computing, and fetching the result into pandas through Arrow; imports excluded) and the
peak RSS of the process.

- one cutoff (the newest, all history): our RFM features (churn.features.rfm: recency,
  tenure, frequency, active days, monetary total/mean/max, refund share) beside the same
  columns as one hand-written DuckDB query;
- six cutoffs (the pipeline's plan with 5 training cutoffs): ours beside the DuckDB
  cross join of transactions x cutoffs;
- every transaction feature (churn.features.snapshots.build_snapshots; the six cutoffs
  with labels, as the features stage builds them), beside the same RFM references.

The RFM results of ours and of the SQL are compared before the table is printed.

Then the whole command a user runs, `churn features --transactions <file> --cutoffs <six>
--output`, in its own process (imports, reading and checking the file as ingest does, the
features, writing Parquet), beside the SQL reference as a whole process too (six cutoffs, to
Parquet), with the ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
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
RFM_SQL = """
    (epoch(CAST({cutoff} AS TIMESTAMP)) - epoch(max(timestamp))) / 86400.0 AS recency_days,
    (epoch(CAST({cutoff} AS TIMESTAMP)) - epoch(min(timestamp))) / 86400.0 AS tenure_days,
    count(*) AS frequency,
    count(DISTINCT CAST(timestamp AS DATE)) AS active_days,
    sum(amount) AS monetary_total,
    avg(amount) FILTER (WHERE amount > 0) AS monetary_mean,
    max(amount) AS monetary_max,
    avg(CAST(amount < 0 AS DOUBLE)) AS refund_share"""


def sql_one(path: str, cutoff: str) -> str:
    c = f"TIMESTAMP '{cutoff}'"
    return f"SELECT customer_id, {RFM_SQL.format(cutoff=c)} FROM read_parquet('{path}') WHERE timestamp < {c} GROUP BY customer_id"


def sql_cross(path: str, cutoffs: list[str]) -> str:
    values = ", ".join(f"(TIMESTAMP '{c}')" for c in cutoffs)
    return (
        f"SELECT c.cutoff, t.customer_id, {RFM_SQL.format(cutoff='c.cutoff')} "
        f"FROM read_parquet('{path}') t JOIN (VALUES {values}) c(cutoff) ON t.timestamp < c.cutoff "
        "GROUP BY c.cutoff, t.customer_id"
    )


def child(variant: str, path: str, cutoffs: list[str]) -> None:
    """Run one variant, print {"seconds": ..., "check": ...} as JSON."""
    import duckdb
    import pandas as pd

    if variant.startswith("sql"):
        con = duckdb.connect()
        query = sql_one(path, cutoffs[0]) if variant == "sql_one" else sql_cross(path, cutoffs)
        start = time.perf_counter()
        frame = con.sql(query).to_arrow_table().to_pandas()
    else:
        import ibis

        from churn.features.rfm import rfm_features
        from churn.features.snapshots import build_snapshots

        con = ibis.duckdb.connect()
        stamps = [pd.Timestamp(c) for c in cutoffs]
        start = time.perf_counter()
        tx = con.read_parquet(path)
        if variant == "ours_rfm":
            frame = con.to_pyarrow(rfm_features(tx, stamps)).to_pandas()
        else:
            horizon = HORIZON_DAYS if len(stamps) > 1 else None  # training snapshots carry labels
            frame = build_snapshots(
                con,
                tx,
                [("train", c) for c in stamps],
                active_days=ACTIVE_DAYS,
                horizon_days=horizon,
                active_only=False,
            )
    seconds = time.perf_counter() - start
    rfm = [
        "recency_days",
        "tenure_days",
        "frequency",
        "active_days",
        "monetary_total",
        "monetary_mean",
        "monetary_max",
        "refund_share",
    ]
    check = {"rows": len(frame), **{c: float(frame[c].astype("float64").sum()) for c in rfm}}
    print(json.dumps({"seconds": seconds, "check": check}))


def run_child(variant: str, path: Path, cutoffs: list[str]) -> tuple[float, float, dict]:
    """(seconds, peak RSS in MB, checksums) of one variant in a fresh process."""
    cmd = [sys.executable, __file__, "--child", variant, "--input", str(path), "--cutoffs", ",".join(cutoffs)]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT / "src")}
    )
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{variant} failed:\n{err.decode()}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    return result["seconds"], usage.ru_maxrss / 1024, result["check"]


def make_data(root: Path, customers: int, rows: int, days: int) -> tuple[Path, Path, dict]:
    """Generate a world with `churn generate`; write the first `rows` transactions in time
    order and in customer order. Returns both paths and facts about the data."""
    import duckdb

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["generate"].update(n_customers=customers, days=days)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DVC_NO_ANALYTICS": "1"}
    env.pop("DVC_ROOT", None)
    churn = str(Path(sys.executable).parent / "churn")
    subprocess.run([churn, "generate"], cwd=root, env=env, check=True, stdout=subprocess.DEVNULL)
    csv = root / "data/raw/synthetic/transactions.csv"
    con = duckdb.connect()
    con.execute(
        f"""CREATE TABLE tx AS
        SELECT customer_id, timestamp, amount, category, channel
        FROM read_csv('{csv}', header = true, columns = {{
            'order_id': 'VARCHAR', 'customer_id': 'VARCHAR', 'timestamp': 'TIMESTAMP', 'amount': 'DOUBLE',
            'quantity': 'BIGINT', 'category': 'VARCHAR', 'channel': 'VARCHAR', 'status': 'VARCHAR'}})
        WHERE status <> 'Cancelled'
        ORDER BY timestamp, customer_id, order_id
        LIMIT {rows}"""
    )
    by_time, by_customer = root / "tx_time_order.parquet", root / "tx_customer_order.parquet"
    con.execute(f"COPY tx TO '{by_time}' (FORMAT parquet, COMPRESSION zstd)")
    con.execute(
        f"COPY (SELECT * FROM tx ORDER BY customer_id, timestamp) TO '{by_customer}' (FORMAT parquet, COMPRESSION zstd)"
    )
    n, n_customers, newest = con.execute(
        "SELECT count(*), count(DISTINCT customer_id), max(timestamp) FROM tx"
    ).fetchone()
    if n < rows:
        raise SystemExit(f"the generated world has only {n:,} transactions; raise --days")
    return by_time, by_customer, {"rows": n, "customers": n_customers, "newest": newest}


def six_cutoffs(newest) -> tuple[str, list[str]]:
    """The newest cutoff, and the features stage's plan with 5 training cutoffs + the test cutoff."""
    sys.path.insert(0, str(ROOT / "src"))
    import pandas as pd

    from churn.timeline import plan_cutoffs, scoring_cutoff

    score = scoring_cutoff(pd.Timestamp(newest))
    plan = plan_cutoffs(score, HORIZON_DAYS, n_train_cutoffs=5, cutoff_spacing_days=30)
    return str(score), [str(c) for _, c in plan.labelled()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=560, help="days the generated world spans (enough for --rows)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--cutoffs", help=argparse.SUPPRESS)
    parser.add_argument("--prepare", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.input, args.cutoffs.split(","))
        return
    if args.prepare:
        by_time, by_customer, facts = make_data(Path(args.prepare), args.customers, args.rows, args.days)
        newest, six = six_cutoffs(facts["newest"])
        print(
            json.dumps(
                {"by_time": str(by_time), "by_customer": str(by_customer), "one": newest, "six": six, **facts},
                default=str,
            )
        )
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
        by_time, by_customer = Path(facts["by_time"]), Path(facts["by_customer"])
        newest, six = facts["one"], facts["six"]
        cases = [  # (label, ours, reference, cutoffs)
            ("1 cutoff, RFM", "ours_rfm", "sql_one", [newest]),
            ("6 cutoffs, RFM", "ours_rfm", "sql_cross", six),
            ("1 cutoff, all transaction features", "ours_all", "sql_one", [newest]),
            ("6 cutoffs, all transaction features + labels", "ours_all", "sql_cross", six),
        ]
        table = []
        for layout, path in (("time order (as exported)", by_time), ("customer order (as ingested)", by_customer)):
            runs: dict[tuple[str, tuple[str, ...]], list[tuple[float, float, dict]]] = {}
            for _ in range(args.repeats):  # interleaved, so load from elsewhere hits all variants alike
                for _, ours, ref, cutoffs in cases:
                    for variant in (ours, ref):
                        key = (variant, tuple(cutoffs))
                        if len(runs.get(key, [])) < args.repeats:
                            runs.setdefault(key, []).append(run_child(variant, path, cutoffs))
            for label, ours, ref, cutoffs in cases:
                mine, theirs = runs[(ours, tuple(cutoffs))], runs[(ref, tuple(cutoffs))]
                _check(label, mine[0][2], theirs[0][2])
                t_mine, t_ref = statistics.median(r[0] for r in mine), statistics.median(r[0] for r in theirs)
                table.append((layout, label, t_mine, max(r[1] for r in mine), t_ref, max(r[1] for r in theirs)))

        whole = whole_command(Path(tmp), by_time, six)

    print(
        f"\nFeatures on {facts['rows']:,} transactions of {facts['customers']:,} customers; "
        f"one cutoff = {newest[:10]}, six = {', '.join(c[:10] for c in six)}; median of {args.repeats}\n"
    )
    print("| input layout | case | ours s | ours peak RSS MB | DuckDB SQL s | SQL peak RSS MB | ours / SQL |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for layout, label, t_mine, rss_mine, t_ref, rss_ref in table:
        print(
            f"| {layout} | {label} | {t_mine:.2f} | {rss_mine:.0f} | {t_ref:.2f} | {rss_ref:.0f} | {t_mine / t_ref:.2f} |"
        )

    ours, reference = whole
    print(
        "\nThe whole command a user runs, each in its own process (imports, reading and checking the "
        "file, the six cutoffs, writing Parquet):\n"
    )
    print("| command | seconds | peak RSS MB |")
    print("|---|---:|---:|")
    print(f"| churn features --transactions (time order) --cutoffs (six) --output | {ours[0]:.1f} | {ours[1]:.0f} |")
    print(f"| DuckDB SQL reference (RFM at the six cutoffs, to Parquet) | {reference[0]:.1f} | {reference[1]:.0f} |")
    print(f"\nratio {ours[0] / reference[0]:.2f}; goal: within 1.5x of the reference.")


def whole_command(root: Path, path: Path, cutoffs: list[str]) -> tuple[tuple[float, float], tuple[float, float]]:
    """`churn features --transactions` on the time-ordered file (read, validated as ingest
    does, every feature and label at the six cutoffs, written), beside the SQL reference as a
    whole process too: (seconds, peak RSS MB) of each."""
    from measure import CHURN, run  # benchmarks/ is on sys.path when a script runs

    params = yaml.safe_load((root / "params.yaml").read_text())
    params["data"].update(exclude_status=[])  # the prepared file has no status column
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    as_of = [(dt.datetime.fromisoformat(c) - dt.timedelta(days=1)).date().isoformat() for c in cutoffs]
    ours = run(
        [CHURN, "features", "--transactions", str(path), "--cutoffs", ",".join(as_of), "--output", "whole.parquet"],
        root,
    )
    copy = f"COPY ({sql_cross(str(path), cutoffs)}) TO 'reference.parquet' (FORMAT parquet, COMPRESSION zstd)"
    reference = run([sys.executable, "-c", f"import duckdb; duckdb.connect().execute({copy!r})"], root)
    return ours, reference


def _check(label: str, mine: dict, theirs: dict) -> None:
    """Our RFM columns must add up to the SQL's (row counts and column sums)."""
    if mine["rows"] != theirs["rows"]:
        raise SystemExit(f"{label}: {mine['rows']} rows from us, {theirs['rows']} from SQL")
    for col, value in theirs.items():
        if abs(mine[col] - value) > 1e-9 * max(1.0, abs(value)):
            raise SystemExit(f"{label}: {col} sums to {mine[col]!r} here and {value!r} in SQL")


if __name__ == "__main__":
    main()
