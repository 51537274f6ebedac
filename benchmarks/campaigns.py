"""Time `churn campaigns` (the whole command) on about a million contact rows, beside a
hand-written DuckDB query that computes the same core counts in the same run, and print a
table.

    python benchmarks/campaigns.py [--customers 480000]

A big synthetic world (seven campaigns, about two contact rows per customer) is generated
and ingested in one temporary project; a model is trained on a small world of the same
shape in another. Then, each in its own process:

- `churn campaigns`: campaign-day snapshots of every contacted customer, risk tiers from
  the model, outcomes, effects per action and segment with intervals, the JSON, CSV and
  Parquet outputs, an MLflow run;
- the DuckDB reference: the same campaigns, retained customers per campaign, action and
  group (a purchase in the 90 days from the campaign day) from the same Parquet files.

Reports wall time and peak RSS of each and the ratio.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import yaml
from measure import CHURN, run  # benchmarks/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parents[1]

REFERENCE = """
import duckdb
con = duckdb.connect()
con.execute('''
    COPY (
    WITH c AS (
        SELECT campaign, customer_id, "group", action, min(timestamp) OVER (PARTITION BY campaign) AS ts
        FROM 'data/interim/contacts.parquet' WHERE campaign IS NOT NULL
    ), d AS (
        SELECT campaign, customer_id, "group", action, date_trunc('day', ts) AS day FROM c
    ), w AS (
        SELECT d.campaign, d.customer_id, d."group", d.action,
               count(t.customer_id) > 0 AS retained, coalesce(sum(t.amount), 0) AS revenue
        FROM d LEFT JOIN 'data/interim/transactions.parquet' t
          ON t.customer_id = d.customer_id AND t.timestamp >= d.day AND t.timestamp < d.day + INTERVAL 90 DAY
        GROUP BY ALL
    )
    SELECT campaign, action, "group", count(*) AS n, sum(retained::INT) AS retained, sum(revenue) AS revenue
    FROM w GROUP BY ALL ORDER BY ALL
    ) TO 'reference.csv' (HEADER)
''')
"""


def project(base: Path, name: str, customers: int) -> Path:
    root = base / name
    root.mkdir()
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["generate"]["n_customers"] = customers
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=480_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        small = project(base, "small", 20_000)
        for stage in ("generate", "ingest", "features", "train"):
            run([CHURN, stage], small)
        big = project(base, "big", args.customers)
        run([CHURN, "generate"], big)
        run([CHURN, "ingest"], big)
        shutil.copytree(small / "models", big / "models")
        ours = run([CHURN, "campaigns"], big)
        reference = run([sys.executable, "-c", REFERENCE], big)
        contacts = json.loads((big / "reports/ingest.json").read_text())["contacts"]["rows_kept"]
        summary = json.loads((big / "reports/campaigns.json").read_text())
    measured = sum(
        c["n_treatment"] + c["n_control"] for c in summary["campaigns"].values() if c["status"] == "measured"
    )
    print(f"\n{contacts:,} contact rows, {measured:,} of them in measured campaigns ({args.customers:,} customers)\n")
    print(f"| {'command':<44} | {'seconds':>8} | {'peak RSS MB':>11} |")
    print(f"|{'-' * 46}|{'-' * 10}|{'-' * 13}|")
    print(f"| {'churn campaigns (everything it writes)':<44} | {ours[0]:8.1f} | {ours[1]:11.0f} |")
    print(f"| {'DuckDB reference (retained per group only)':<44} | {reference[0]:8.1f} | {reference[1]:11.0f} |")
    print(f"\nratio {ours[0] / reference[0]:.2f}; goal: churn campaigns under 30 s on 1,000,000 contact rows.")


if __name__ == "__main__":
    main()
