"""Faults: a stage killed mid-run leaves the previous outputs intact; paths stay inside the project."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from churn.errors import ChurnError, InputError
from churn.inputs.raw import resolve

ROOT = Path(__file__).resolve().parents[1]
CHURN = str(Path(sys.executable).parent / "churn")


def write_params(root: Path, n_customers: int) -> None:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["generate"]["n_customers"] = n_customers
    (root / "params.yaml").write_text(yaml.safe_dump(params))


def env() -> dict:
    return {k: v for k, v in os.environ.items() if k != "DVC_ROOT"}


def test_killed_stage_leaves_previous_output(tmp_path):
    write_params(tmp_path, 300)
    subprocess.run([CHURN, "generate"], cwd=tmp_path, env=env(), check=True, capture_output=True, timeout=120)
    out = tmp_path / "data/raw/synthetic"
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    write_params(tmp_path, 400_000)  # big enough to be caught mid-write
    proc = subprocess.Popen(
        [CHURN, "generate"], cwd=tmp_path, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        partial = [p for p in out.parent.glob(".synthetic.*.tmp") if any(p.iterdir())]
        if partial:
            break
        assert proc.poll() is None, "the stage finished before it could be interrupted"
        time.sleep(0.05)
    else:
        pytest.fail("no partial output appeared")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # The next run clears the debris and completes.
    write_params(tmp_path, 300)
    subprocess.run([CHURN, "generate"], cwd=tmp_path, env=env(), check=True, capture_output=True, timeout=120)
    assert not list(out.parent.glob(".*.tmp"))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # same params, same bytes


def test_params_paths_stay_inside_the_project(tmp_path):
    assert resolve(tmp_path, "data/raw/tx.csv", "data.transactions") == (tmp_path / "data/raw/tx.csv").resolve()
    with pytest.raises(ChurnError, match=r"data.transactions: '../../etc/passwd' points outside the project"):
        resolve(tmp_path, "../../etc/passwd", "data.transactions")
    absolute = tmp_path.parent / "elsewhere.csv"
    assert resolve(tmp_path, str(absolute), "data.transactions") == absolute  # on purpose


def test_a_truncated_or_foreign_model_file_is_refused_before_lightgbm_reads_it(tmp_path):
    import json

    from churn.inputs.model import local_model

    models = tmp_path / "models"
    models.mkdir()
    (models / "model.txt").write_text("tree\nversion=v4\nnum_class=1\n")  # cut off mid-file
    meta = {"features": ["recency_days"], "calibration": {"method": "none"}, "model_sha256": "0" * 64}
    (models / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ChurnError, match="does not match .*model.json"):
        local_model(tmp_path)
    (models / "model.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        local_model(tmp_path)


def _running(fragment: str) -> bool:
    """Whether a process whose command line contains `fragment` is running."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if fragment in cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                return True
        except OSError:
            continue
    return False


@pytest.mark.e2e
def test_dvc_repro_killed_during_the_report_keeps_the_previous_report(pipeline_project, tmp_path):
    """Killed as a user's Ctrl-C or a CI timeout would: the whole `dvc repro` process group,
    while the report stage runs. Its outputs are not in DVC's cache, so DVC must not have
    deleted them before the run (persist), and the stage writes them atomically."""
    from tests.projects import copy_project, sh

    project = copy_project(pipeline_project, tmp_path / "project")
    kept = ["reports/index.html", "reports/kpis.json", "reports/report/periods.csv"]
    before = {name: (project / name).read_bytes() for name in kept}
    proc = subprocess.Popen(
        ["dvc", "repro", "--force", "--single-item", "report"],
        cwd=project,
        env={**env(), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not _running("churn report") and time.monotonic() < deadline:
        assert proc.poll() is None, "dvc repro finished before it could be interrupted"
        time.sleep(0.05)
    time.sleep(1.0)  # inside the stage, after DVC would have removed its outputs
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert {name: (project / name).read_bytes() for name in kept} == before
    # The next run completes and writes the same report.
    sh(["dvc", "repro", "--force", "--single-item", "report"], project)
    assert (project / "reports/kpis.json").read_bytes() == before["reports/kpis.json"]


def test_scores_from_two_runs_are_refused_not_read_as_a_mix(tmp_path):
    """A scoring run killed between its renames leaves a new Parquet beside an old summary."""
    import json

    import pandas as pd

    from churn import io, layout
    from churn.inputs import scores as scores_input

    table = pd.DataFrame({"customer_id": ["1", "2"], "churn_probability": [0.1, 0.9]})
    io.write_table(table, tmp_path / layout.SCORES_PARQUET)
    summary = {"sha256": {str(layout.SCORES_PARQUET): io.file_sha256(tmp_path / layout.SCORES_PARQUET)}}
    (tmp_path / layout.SCORES_CSV.with_suffix(".summary.json")).write_text(json.dumps(summary))
    loaded, _ = scores_input.load(tmp_path)
    assert loaded["customer_id"].tolist() == ["1", "2"]
    io.write_table(table.iloc[:1], tmp_path / layout.SCORES_PARQUET)  # the next run got this far
    with pytest.raises(ChurnError, match=r"churn_scores.parquet does not match .*summary.json \(a scoring run was"):
        scores_input.load(tmp_path)
