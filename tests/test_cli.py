"""The `churn` command as a user meets it: clear errors, exit status 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHURN = str(Path(sys.executable).parent / "churn")


def project_with(tmp_path: Path, transactions: str, **data) -> Path:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"].update(
        source="file", transactions="data/raw/tx.csv", events=None, customers=None, contacts=None, **data
    )
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / "data/raw").mkdir(parents=True)
    (tmp_path / "data/raw/tx.csv").write_text(transactions)
    return tmp_path


def churn(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DVC_ROOT"}
    return subprocess.run([CHURN, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_bad_date_names_file_row_column(tmp_path):
    root = project_with(tmp_path, "customer_id,timestamp,amount\n001,2024-01-01,5\n002,yesterday,5\n")
    proc = churn(root, "ingest")
    assert proc.returncode == 2
    assert "data/raw/tx.csv, row 3, column 'timestamp'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (root / "data/interim").exists()  # nothing half-written downstream


def test_debug_shows_traceback(tmp_path):
    root = project_with(tmp_path, "customer_id,timestamp,amount\n001,2024-01-01,x\n")
    proc = churn(root, "--debug", "ingest")
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr and "column 'amount'" in proc.stderr


def test_quarantine_policy_writes_reasons(tmp_path):
    root = project_with(
        tmp_path, "customer_id,timestamp,amount\n001,2024-01-01,5\n002,yesterday,5\n", on_bad_rows="quarantine"
    )
    proc = churn(root, "ingest")
    assert proc.returncode == 0, proc.stderr
    quarantine = (root / "data/interim/quarantine.csv").read_text()
    assert "yesterday" in quarantine and "timestamp: not a date" in quarantine


def test_invalid_params_name_the_key(tmp_path):
    root = project_with(tmp_path, "customer_id,timestamp,amount\n")
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["churn"]["horizon_days"] = -1
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    proc = churn(root, "features")
    assert proc.returncode == 2
    assert "churn.horizon_days" in proc.stderr
