"""Time every stage of a whole `dvc repro` of the default world on a loaded machine, with
LightGBM's OpenMP threads spinning (OMP_WAIT_POLICY=ACTIVE, the library default, as before
churn set it) and waiting passively (PASSIVE, what churn sets), and print a table.

    python benchmarks/repro.py [--load 2] [--policies ACTIVE,PASSIVE]

Each run is `dvc repro --force` in a fresh clone of this repository (its own data, models
and MLflow store), with the installed `churn` on PATH, while `--load` busy Python
processes run (one per core by default, as another job would be; `--load 0` for a quiet
machine). A stage's time runs from DVC's "Running stage" line to the next one (or the end),
so it includes DVC's own work for that stage. The table also says whether the two policies
wrote byte-identical model files.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import busy  # benchmarks/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parents[1]
STAGE_LINE = re.compile(r"Running stage '([^']+)'")


def repro_once(policy: str) -> tuple[dict[str, float], float, str]:
    """(seconds per stage, whole seconds, SHA-256 of models/model.txt) of one `dvc repro`."""
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "p"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(project)], check=True)
        bin_dir = str(Path(sys.executable).parent)
        env = {k: v for k, v in os.environ.items() if k != "DVC_ROOT"} | {
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
            "OMP_WAIT_POLICY": policy,
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DVC_NO_ANALYTICS": "1",
        }
        starts: list[tuple[str, float]] = []
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(Path(bin_dir) / "dvc"), "repro", "--force"],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output = []
        for line in proc.stdout:
            output.append(line)
            if match := STAGE_LINE.search(line):
                starts.append((match.group(1), time.perf_counter()))
        if proc.wait() != 0:
            raise SystemExit(f"dvc repro failed ({policy}):\n{''.join(output)[-3000:]}")
        end = time.perf_counter()
        ends = [t for _, t in starts[1:]] + [end]
        seconds = {name: stop - begun for (name, begun), stop in zip(starts, ends)}
        sha = hashlib.sha256((project / "models/model.txt").read_bytes()).hexdigest()
    return seconds, end - start, sha


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", type=int, default=os.cpu_count() or 2, help="busy processes during the runs")
    parser.add_argument("--policies", default="ACTIVE,PASSIVE")
    args = parser.parse_args()
    policies = args.policies.split(",")
    results = {}
    with busy(args.load):
        for policy in policies:
            results[policy] = repro_once(policy)
            print(f"{policy}: {results[policy][1]:.1f} s", file=sys.stderr, flush=True)
    stages = list(results[policies[0]][0])
    machine = f"{args.load} busy processes" if args.load else "a quiet machine"
    print(f"dvc repro --force of the default world, {machine}; seconds per stage")
    print("| stage | " + " | ".join(f"OMP_WAIT_POLICY={p}" for p in policies) + " |")
    print("|---|" + "---:|" * len(policies))
    for stage in stages:
        print(f"| {stage} | " + " | ".join(f"{results[p][0].get(stage, float('nan')):.1f}" for p in policies) + " |")
    print("| whole `dvc repro` | " + " | ".join(f"{results[p][1]:.1f}" for p in policies) + " |")
    print(f"model files byte-identical across policies: {len({r[2] for r in results.values()}) == 1}")


if __name__ == "__main__":
    main()
