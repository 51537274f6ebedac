"""Time uplift learning on about a million campaign contacts and planning a million
customers with it, each as the whole command a user runs, and print a table.

    python benchmarks/uplift.py [--contacts 1000000] [--customers 1000000] [--days 520]

1. A small world (20,000 customers) runs generate, ingest, features, train and campaigns.
   Its measured contacts are resampled, with new customer ids, to `--contacts` rows
   (data/processed/campaign_outcomes.parquet), and `churn uplift` learns from them: both
   fits (older campaigns for the replay, all for planning), the replay with the reference
   learners, the outputs and the MLflow run. Beside it, in the same run and on the same
   rows, scikit-uplift's TwoModels (one LightGBM per group and action, no cross-fitting)
   as the reference.
2. A big world of `--customers` customers is generated and ingested, and `churn score`
   plans every customer with score.policy uplift and with risk, in separate processes.

Reports wall time and peak RSS of each process.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import yaml
from measure import CHURN, run  # benchmarks/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parents[1]

RESAMPLE = """
import sys
import numpy as np, pandas as pd
path, n = 'data/processed/campaign_outcomes.parquet', int(sys.argv[1])
o = pd.read_parquet(path)
big = o.iloc[np.random.default_rng(0).integers(0, len(o), n)].reset_index(drop=True)
big['customer_id'] = pd.Series([f'r{i:08d}' for i in range(n)], dtype='string')
big.to_parquet(path, index=False)
"""

REFERENCE = """
import json, warnings
import lightgbm as lgb, pandas as pd
from sklift.models import TwoModels
warnings.simplefilter('ignore')
o = pd.read_parquet('data/processed/campaign_outcomes.parquet')
features = json.load(open('models/model.json'))['features']
def classifier():
    return lgb.LGBMClassifier(n_estimators=200, learning_rate=0.03, num_leaves=15, min_child_samples=100,
                              n_jobs=2, verbose=-1, random_state=0)
for action, rows in o.groupby('action'):
    t = (rows['group'] == 'treatment').astype(int)
    TwoModels(classifier(), classifier(), method='vanilla').fit(rows[features], rows['retained'], t)
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
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=730)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        small = project(base, "small", 20_000, args.days)
        for stage in ("generate", "ingest", "features", "train", "campaigns"):
            run([CHURN, stage], small)
        run([sys.executable, "-c", RESAMPLE, str(args.contacts)], small)
        rows.append((f"churn uplift, {args.contacts:,} contacts", *run([CHURN, "uplift"], small)))
        rows.append(("reference: scikit-uplift TwoModels fit", *run([sys.executable, "-c", REFERENCE], small)))
        big = project(base, "big", args.customers, args.days)
        run([CHURN, "generate"], big)
        run([CHURN, "ingest"], big)
        shutil.copytree(small / "models", big / "models")
        for policy in ("uplift", "risk"):
            params = yaml.safe_load((big / "params.yaml").read_text())
            params["score"]["policy"] = policy
            (big / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
            rows.append((f"churn score, policy {policy}", *run([CHURN, "score"], big)))
    print(f"\nuplift from {args.contacts:,} campaign contacts; planning {args.customers:,} customers\n")
    print(f"| {'command':<44} | {'seconds':>8} | {'peak RSS MB':>11} |")
    print(f"|{'-' * 46}|{'-' * 10}|{'-' * 13}|")
    for name, seconds, rss in rows:
        print(f"| {name:<44} | {seconds:8.1f} | {rss:11.0f} |")


if __name__ == "__main__":
    main()
