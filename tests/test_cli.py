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
        source="file", transactions="data/raw/tx.csv", events=None, customers=None, contacts=None, exclude_status=[]
    )
    params["data"].update(data)  # these files have no status column: the shipped status rule is off
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


def test_every_subcommand_says_what_it_does_with_an_example():
    from churn.cli import HELP, build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == set(HELP)
    for name, subparser in sub.choices.items():
        text = subparser.format_help()
        assert HELP[name][1].splitlines()[0] in text and f"example:\n  {HELP[name][2]}" in text, name


def test_status_lines_say_what_a_stage_did():
    from churn.status_line import status_line

    line = status_line(
        "score",
        {
            "customers": 1200,
            "as_of": "2024-12-30",
            "by_status": {"active": 1000, "lapsed": 150, "unknown": 50},
            "actions": {"no_action": 900, "service_call": 80, "win_back": 20},
            "spend": 1500.0,
            "budget": 10000,
            "outputs": ["data/scores/churn_scores.csv"],
        },
        3.21,
    )
    assert line == (
        "churn score: scored 1,200 customers as of 2024-12-30 (1,000 active, 150 lapsed, 50 unknown): "
        "100 actions, spend 1,500 of 10,000 (3.2 s) -> data/scores/churn_scores.csv"
    )
    assert status_line("evaluate", {"roc_auc": {"model": 0.9, "bgnbd": 0.85, "recency": 0.8}}, 1).startswith(
        "churn evaluate: out-of-time ROC-AUC 0.900 (best baseline bgnbd 0.850)"
    )
