"""Time every pipeline stage end to end on a synthetic world and print a table.

    python benchmarks/pipeline.py [--customers 20000]

Runs in a temporary copy of the project (its own mlflow.db), one `churn <stage>` process
per stage, and reports wall time and the peak RSS of each stage's process.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("generate", "ingest", "features", "train", "evaluate", "score")


def run_stage(stage: str, cwd: Path, env: dict) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one `churn <stage>` process."""
    churn = str(Path(sys.executable).parent / "churn")
    start = time.perf_counter()
    proc = subprocess.Popen([churn, stage], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"churn {stage} failed:\n{proc.stderr.read().decode()}")
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20000)
    args = parser.parse_args()
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DVC_NO_ANALYTICS": "1"}
    env.pop("DVC_ROOT", None)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        params = yaml.safe_load((ROOT / "params.yaml").read_text())
        params["generate"]["n_customers"] = args.customers
        (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        shutil.copy(ROOT / "dvc.yaml", root / "dvc.yaml")
        rows = []
        for stage in STAGES:
            seconds, rss = run_stage(stage, root, env)
            rows.append((stage, seconds, rss))
        tx_rows = sum(1 for _ in open(root / "data/raw/synthetic/transactions.csv")) - 1
    print(f"\nPipeline on {args.customers:,} customers, {tx_rows:,} transaction rows\n")
    print(f"| {'stage':<9} | {'seconds':>8} | {'peak RSS MB':>11} |")
    print(f"|{'-' * 11}|{'-' * 10}|{'-' * 13}|")
    for stage, seconds, rss in rows:
        print(f"| {stage:<9} | {seconds:8.2f} | {rss:11.0f} |")
    print(f"| {'total':<9} | {sum(r[1] for r in rows):8.2f} | {max(r[2] for r in rows):11.0f} |")


if __name__ == "__main__":
    main()
