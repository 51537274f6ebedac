"""Time `churn train` (the whole command) on a quiet and on a loaded machine, with
LightGBM's OpenMP threads spinning (OMP_WAIT_POLICY=ACTIVE, the library default) and
waiting passively (PASSIVE, what the pipeline sets), and print a table.

    python benchmarks/train.py [--project .] [--load 2] [--repeats 1]

Needs a project whose ingest and features stages have run. The load is `--load` busy
Python processes, one per core by default, as another job would be. Each run trains in a
fresh directory (params.yaml, and links to the snapshots and the data files train
fingerprints) with its own MLflow store; the table also says whether the two policies
wrote byte-identical model files.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from measure import busy  # benchmarks/ is on sys.path when a script runs

CHURN = str(Path(sys.executable).parent / "churn")


def train_once(project: Path, policy: str) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the child, SHA-256 of models/model.txt)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "p"
        root.mkdir()
        shutil.copy(project / "params.yaml", root / "params.yaml")
        raw = yaml.safe_load((project / "params.yaml").read_text())["data"]["transactions"]
        # What train reads: the snapshots, and the files whose fingerprints name the model's setup.
        for rel in ("data/processed/snapshots.parquet", "data/interim/transactions.parquet", raw):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).symlink_to(project / rel)
        env = {**os.environ, "OMP_WAIT_POLICY": policy, "MLFLOW_DISABLE_TELEMETRY": "true"}
        env.pop("DVC_ROOT", None)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([CHURN, "train"], cwd=root, env=env, check=True, capture_output=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        sha = hashlib.sha256((root / "models/model.txt").read_bytes()).hexdigest()
    return wall, cpu, sha


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=Path("."))
    parser.add_argument("--load", type=int, default=os.cpu_count() or 2, help="busy processes while loaded")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    project = args.project.resolve()
    rows = []
    hashes = set()
    for loaded in (False, True):
        with busy(args.load if loaded else 0):
            for policy in ("ACTIVE", "PASSIVE"):
                runs = [train_once(project, policy) for _ in range(args.repeats)]
                hashes |= {sha for *_, sha in runs}
                wall = sorted(r[0] for r in runs)[len(runs) // 2]
                cpu = sorted(r[1] for r in runs)[len(runs) // 2]
                rows.append((f"{args.load} busy processes" if loaded else "quiet", policy, wall, cpu))
    print(f"churn train, {project / 'data/processed/snapshots.parquet'}, median of {args.repeats}")
    print("| machine | OMP_WAIT_POLICY | wall s | CPU s |\n|---|---|---:|---:|")
    for machine, policy, wall, cpu in rows:
        print(f"| {machine} | {policy} | {wall:.1f} | {cpu:.1f} |")
    print(f"model files byte-identical across runs and policies: {len(hashes) == 1}")


if __name__ == "__main__":
    main()
