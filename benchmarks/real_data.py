"""The model against fair baselines on a real transaction log: CDNOW's master file (23,570
customers, January 1997 to June 1998, shipped in the `lifetimes` package, a dev extra).

    python benchmarks/real_data.py [--horizons 60,90,120] [--sample] [--set train.calibration=none ...]

For each horizon a temporary project maps the export as a user would (CSV, own column
names and date format), runs `churn ingest`, `features`, `train` and `evaluate` with the
shipped params.yaml otherwise (the features stage chooses the training cutoffs that fit
18 months), and prints one row per scorer: ROC-AUC, PR-AUC, top-decile lift and ECE, and
the model minus each baseline with its 95% paired-bootstrap interval.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHURN = str(Path(sys.executable).parent / "churn")


def cdnow(sample: bool) -> Path:
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("install the dev extras (make dev): lifetimes ships the CDNOW files")
    name = "CDNOW_sample.txt" if sample else "CDNOW_master.txt"
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / name


def project(base: Path, horizon: int, source: Path, overrides: list[str] = ()) -> Path:
    root = base / f"h{horizon}"
    (root / "data/raw").mkdir(parents=True)
    master = "master" in source.name  # the master file has a header line, the sample none
    names = ["CustomerID", "Date", "CDs", "Amount"] if master else ["CustomerID", "SampleID", "Date", "CDs", "Amount"]
    raw = pd.read_csv(source, sep=r"\s+", header=0 if master else None, dtype=str, names=names)
    raw.to_csv(root / "data/raw/cdnow.csv", index=False)
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["data"].update(
        source="file",
        transactions="data/raw/cdnow.csv",
        events=None,
        customers=None,
        contacts=None,
        columns={"customer_id": "CustomerID", "timestamp": "Date", "amount": "Amount"},
        timestamp_format="%Y%m%d",
        exclude_status=[],
    )
    params["churn"]["horizon_days"] = horizon
    for item in overrides:  # section.key=value, the value read as YAML
        key, value = item.split("=", 1)
        section, name = key.split(".", 1)
        params[section][name] = yaml.safe_load(value)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    return root


def run(root: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DVC_ROOT", "DVC_EXP_NAME", "DVC_STAGE")}
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    for stage in ("ingest", "features", "train", "evaluate"):
        proc = subprocess.run([CHURN, stage], cwd=root, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"churn {stage} failed at {root.name}:\n{proc.stdout}\n{proc.stderr}")
        print(proc.stdout.strip(), file=sys.stderr)
    metrics = json.loads((root / "reports/metrics.json").read_text())
    metrics["plan"] = json.loads((root / "data/processed/cutoffs.json").read_text())
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizons", default="60,90,120")
    parser.add_argument("--sample", action="store_true", help="CDNOW_sample.txt (2,357 customers) instead")
    parser.add_argument("--set", action="append", default=[], help="a params override, e.g. train.calibration=none")
    args = parser.parse_args()
    source = cdnow(args.sample)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for horizon in (int(h) for h in args.horizons.split(",")):
            m = run(project(Path(tmp), horizon, source, args.set))
            versus = m["comparison"]["versus"]
            for name, block in [("model", m["model"]), *m["baselines"].items()]:
                row = {
                    "horizon": horizon,
                    "test customers": m["test_customers"],
                    "scorer": name,
                    "ROC-AUC": f"{block['roc_auc']:.4f}",
                    "PR-AUC": f"{block['pr_auc']:.4f}",
                    "lift": f"{block['top_decile_lift']:.3f}",
                    "ECE": f"{block['ece']:.4f}" if "ece" in block else "",
                    "model - this, ROC-AUC [95%]": "",
                }
                if name in versus:
                    cell = versus[name]["roc_auc"]
                    row["model - this, ROC-AUC [95%]"] = (
                        f"{cell['difference']:+.4f} [{cell['ci_low']:+.4f}, {cell['ci_high']:+.4f}]"
                    )
                rows.append(row)
            print(
                f"h={horizon}: {len(m['plan']['train_cutoffs'])} training cutoffs, test {m['test_cutoff']}; "
                f"skill: {m['skill']['has_skill']} ({m['skill']['reason']}); calibration {m['calibration']}",
                file=sys.stderr,
            )
    table = pd.DataFrame(rows)
    settings = f" with {', '.join(args.set)}" if args.set else ""
    print(f"\nCDNOW {'sample' if args.sample else 'master'}{settings}: model vs fair baselines, out of time\n")
    print(table.to_markdown(index=False))


if __name__ == "__main__":
    main()
