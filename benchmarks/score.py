"""Time batch scoring end to end at scale and print a table.

    python benchmarks/score.py [--customers 1000000] [--days 520]

A big synthetic world (about 10 transactions per customer with the defaults) is
generated and ingested in one temporary project; a model is trained on a small world of
the same shape in another; then `churn score` scores every customer of the big world:
features, probabilities, CLV, reasons for every customer who gets an action, actions.
Reports wall time and peak RSS of the scoring process, and the same for ingest.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHURN = str(Path(sys.executable).parent / "churn")


def project(base: Path, name: str, customers: int, days: int) -> Path:
    root = base / name
    root.mkdir()
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["generate"].update(n_customers=customers, days=days)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return root


def run(args: list[str], cwd: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one churn command."""
    env = {k: v for k, v in os.environ.items() if k != "DVC_ROOT"} | {"MLFLOW_DISABLE_TELEMETRY": "true"}
    start = time.perf_counter()
    proc = subprocess.Popen([CHURN, *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"churn {' '.join(args)} failed:\n{proc.stderr.read().decode()[-3000:]}")
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=520)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        small = project(base, "small", 20_000, args.days)
        for stage in ("generate", "ingest", "features", "train"):
            run([stage], small)
        big = project(base, "big", args.customers, args.days)
        run(["generate"], big)
        ingest = run(["ingest"], big)
        shutil.copytree(small / "models", big / "models")
        score = run(["score"], big)
        report = json.loads((big / "reports/ingest.json").read_text())["transactions"]
        summary = json.loads((big / "data/scores/churn_scores.summary.json").read_text())
    acted = sum(n for a, n in summary["actions"].items() if a != "no_action")
    print(
        f"\nScoring {summary['customers']:,} customers ({summary['by_status']}) from "
        f"{report['rows_kept']:,} transactions; {acted:,} get an action (and reasons)\n"
    )
    print(f"| {'step':<22} | {'seconds':>8} | {'peak RSS MB':>11} |")
    print(f"|{'-' * 24}|{'-' * 10}|{'-' * 13}|")
    print(f"| {'ingest (not scored)':<22} | {ingest[0]:8.1f} | {ingest[1]:11.0f} |")
    print(f"| {'churn score, end to end':<22} | {score[0]:8.1f} | {score[1]:11.0f} |")
    print("\nGoal: scoring under 60 s with peak RSS under 3 GB.")


if __name__ == "__main__":
    main()
