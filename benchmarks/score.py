"""Time batch scoring end to end at several sizes, beside a DuckDB reference, and print a table.

    python benchmarks/score.py [--customers 250000,500000,1000000] [--days 520] [--repeats 3]

For each size a synthetic world (about 10 transactions per customer with the defaults) is
generated and ingested in a temporary project; a model is trained once on a small world of
the same shape. Then, each in its own process:

- `churn score`, the whole command a user runs: the snapshot of every customer, the
  probabilities, CLV, reasons for everyone who gets an action, the plan, the CSV, Parquet
  and summary;
- the DuckDB reference: one hand-written query over the same transactions Parquet that
  computes each customer's recency, tenure, frequency and spend at the same cutoff and
  writes them as CSV (COPY): the floor of reading the data, a per-customer aggregate and
  writing a million rows, without any model.

Each runs --repeats times per size, interleaved so that load from elsewhere hits both alike.
Reports the median wall time and peak RSS of each, every run of `churn score`, and the
ratio of the medians; the peak RSS across sizes shows whether memory grows with the number
of customers.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import yaml
from measure import CHURN, median, run  # benchmarks/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parents[1]

REFERENCE = """
import duckdb, json, sys
cutoff = json.load(open('data/scores/churn_scores.summary.json'))['as_of']
con = duckdb.connect()
con.execute(f'''
    COPY (
        SELECT customer_id,
               date_diff('day', max(timestamp), TIMESTAMP '{cutoff}' + INTERVAL 1 DAY) AS recency_days,
               date_diff('day', min(timestamp), TIMESTAMP '{cutoff}' + INTERVAL 1 DAY) AS tenure_days,
               count(*) AS frequency,
               sum(amount) AS monetary_total
        FROM 'data/interim/transactions.parquet'
        WHERE timestamp < TIMESTAMP '{cutoff}' + INTERVAL 1 DAY
        GROUP BY customer_id ORDER BY customer_id
    ) TO 'reference.csv' (HEADER)
''')
"""


def project(base: Path, name: str, customers: int, days: int) -> Path:
    root = base / name
    root.mkdir()
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["generate"].update(n_customers=customers, days=days)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", default="250000,500000,1000000", help="comma-separated world sizes")
    parser.add_argument("--days", type=int, default=520)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        small = project(base, "small", 20_000, args.days)
        for stage in ("generate", "ingest", "features", "train"):
            run([CHURN, stage], small)
        for size in (int(n) for n in args.customers.split(",")):
            big = project(base, f"big{size}", size, args.days)
            run([CHURN, "generate"], big)
            run([CHURN, "ingest"], big)
            shutil.copytree(small / "models", big / "models")
            ours_runs, reference_runs = [], []
            for _ in range(args.repeats):
                ours_runs.append(run([CHURN, "score"], big))
                reference_runs.append(run([sys.executable, "-c", REFERENCE], big))
            summary = json.loads((big / "data/scores/churn_scores.summary.json").read_text())
            acted = sum(n for a, n in summary["actions"].items() if a != "no_action")
            rows.append((size, summary["customers"], acted, median(ours_runs), median(reference_runs), ours_runs))
            shutil.rmtree(big)
    print("\nchurn score (whole command) beside the DuckDB reference (per-customer RFM to CSV), same run\n")
    print(
        "| customers generated | scored | get an action | churn score s | peak RSS MB | DuckDB s | peak RSS MB | ratio |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, scored, acted, ours, ref, _ in rows:
        print(
            f"| {size:,} | {scored:,} | {acted:,} | {ours[0]:.1f} | {ours[1]:,.0f} | {ref[0]:.1f} | {ref[1]:,.0f} "
            f"| {ours[0] / ref[0]:.1f}x |"
        )
    print(f"\nmedian of {args.repeats}; every run of churn score, seconds (peak MB):")
    for size, *_, runs in rows:
        print(f"  {size:,}: " + ", ".join(f"{s:.1f} ({mb:,.0f})" for s, mb in runs))
    print("\nGoals: 1,000,000 customers under 30 s on a quiet machine, peak RSS under 1.5 GB, flat in the size.")


if __name__ == "__main__":
    main()
