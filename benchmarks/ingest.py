"""Time `churn ingest` on a large transactions CSV beside a hand-written DuckDB reference, and
print a table.

    python benchmarks/ingest.py [--customers 1000000] [--days 520] [--repeats 3]

`churn generate` writes a synthetic world (about 10.6 transactions per customer with the
defaults: 10,657,020 rows, 733 MB for a million customers) in a temporary project, whose
params then name only its transactions file (no events, contacts or customers). Then, each
in its own process, on the same file:

- `churn ingest`, the whole command a user runs: read, map, type and check every row
  (reasons, row numbers, plausible dates, amounts), the status filter, exact duplicates
  with an order id dropped, sorted by every column, Parquet, quarantine and report;
- the DuckDB reference: read_csv with every column as text, TRY_CAST typing, the same
  status filter, exact-duplicate removal, sorted by every column, Parquet out.

Each runs --repeats times, interleaved so that load from elsewhere hits both alike. Reports
the median wall time and peak RSS of each, every run's time, and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import yaml
from measure import CHURN, median, run  # benchmarks/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parents[1]

REFERENCE = """
import duckdb
con = duckdb.connect()
con.execute('''
    COPY (
        SELECT DISTINCT
            trim(customer_id) AS customer_id,
            TRY_CAST(trim(timestamp) AS TIMESTAMP) AS timestamp,
            TRY_CAST(trim(amount) AS DOUBLE) AS amount,
            trim(order_id) AS order_id, trim(category) AS category,
            trim(channel) AS channel, trim(status) AS status
        FROM read_csv('data/raw/synthetic/transactions.csv', all_varchar = true, header = true)
        WHERE lower(trim(status)) NOT IN ('cancelled')
        ORDER BY ALL
    ) TO 'reference.parquet' (FORMAT parquet, COMPRESSION zstd)
''')
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=520)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        params = yaml.safe_load((ROOT / "params.yaml").read_text())
        params["generate"].update(n_customers=args.customers, days=args.days)
        (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        run([CHURN, "generate"], root)
        params["data"].update(source="file", events=None, customers=None, contacts=None)
        (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        csv = root / "data/raw/synthetic/transactions.csv"
        ours_runs, reference_runs = [], []
        for _ in range(args.repeats):
            ours_runs.append(run([CHURN, "ingest"], root))
            reference_runs.append(run([sys.executable, "-c", REFERENCE], root))
        ours, reference = median(ours_runs), median(reference_runs)
        report = json.loads((root / "reports/ingest.json").read_text())["transactions"]
        size_mb = csv.stat().st_size / 2**20
    print(
        f"\n{report['rows_read']:,} transaction rows ({size_mb:,.0f} MB CSV): {report['rows_kept']:,} kept, "
        f"{report['rows_filtered_status']:,} filtered by status, {report['rows_rejected']:,} rejected\n"
    )
    print(f"| {'command':<40} | {'seconds':>8} | {'peak RSS MB':>11} |")
    print(f"|{'-' * 42}|{'-' * 10}|{'-' * 13}|")
    print(f"| {'churn ingest (the whole command)':<40} | {ours[0]:8.1f} | {ours[1]:11,.0f} |")
    print(f"| {'DuckDB reference':<40} | {reference[0]:8.1f} | {reference[1]:11,.0f} |")
    print(f"\nmedian of {args.repeats}; every run, seconds (peak MB):")
    for name, runs in (("churn ingest", ours_runs), ("DuckDB reference", reference_runs)):
        print(f"  {name}: " + ", ".join(f"{s:.1f} ({mb:,.0f})" for s, mb in runs))
    print(f"\nratio {ours[0] / reference[0]:.2f}; goal: within 1.5x of the reference, peak RSS under 2 GB.")


if __name__ == "__main__":
    main()
