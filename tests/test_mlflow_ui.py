"""The review journey: the real MLflow server on 127.0.0.1, opened in headless Chromium.

Checks that a person opening the UI (as `make ui` serves it) sees the experiment, the
training run with its out-of-time ROC-AUC, and the registered model with its `champion`
alias. Chromium is Debian's package (/usr/bin/chromium, installed by .ci/run), driven by
Playwright with executable_path: no browser is ever downloaded.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from churn import tracking
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium
from tests.projects import client_for, evaluation_run, training_runs

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group, wait for every member, SIGKILL what lingers."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        proc.poll()
        try:
            os.killpg(proc.pid, 0)  # anyone left in the group?
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=10)


@pytest.fixture
def mlflow_server(pipeline_project, tmp_path):
    require_chromium()
    port = _free_port()
    env = {
        **os.environ,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    log = (tmp_path / "server.log").open("w")
    mlflow_bin = Path(sys.executable).parent / "mlflow"
    proc = subprocess.Popen(
        [
            str(mlflow_bin),
            "server",
            "--backend-store-uri",
            tracking.tracking_uri(pipeline_project),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        cwd=pipeline_project,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"mlflow server exited early:\n{(tmp_path / 'server.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"mlflow server not up in 60 s:\n{(tmp_path / 'server.log').read_text()}")
            time.sleep(0.3)
        yield base
    finally:
        _stop(proc)
        log.close()
    # Stopped cleanly: the whole process group is gone.
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)


def _page_text(page, url: str, expected: list[str], timeout_s: float = 30, ready=None) -> str:
    """Open `url` and wait until every expected string is on the page (and `ready(text)`,
    when given, holds: tables render empty first, then fill); return the page text."""
    page.goto(url)
    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline:
        text = page.inner_text("body")
        if all(e in text for e in expected) and (ready is None or ready(text)):
            return text
        page.wait_for_timeout(300)
    missing = [e for e in expected if e not in text]
    raise AssertionError(f"{url}: not shown after {timeout_s:.0f} s: {missing}\n--- page ---\n{text[:3000]}")


def test_ui_shows_experiment_run_roc_auc_and_champion(mlflow_server, pipeline_project, tmp_path):
    from playwright.sync_api import sync_playwright

    # CHURN_SCREENSHOTS=dir keeps the screenshots (runs table, a run, the compare view) to look at.
    shots = Path(os.environ.get("CHURN_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    client = client_for(pipeline_project)
    exp = client.get_experiment_by_name("churn")
    run = training_runs(client, exp.experiment_id)[0]
    roc_auc = run.data.metrics["test_roc_auc"]
    champion = client.get_model_version_by_alias("churn-model", "champion")

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900},
        )
        try:
            page = context.new_page()
            _page_text(page, f"{mlflow_server}/#/experiments", ["churn"])

            # The runs table, below the sidebar (whose "Model training" also contains "train").
            def table(text: str) -> str:
                return text.split("Run Name", 1)[-1]

            runs_text = _page_text(
                page,
                f"{mlflow_server}/#/experiments/{exp.experiment_id}/runs",
                ["Run Name", "matching run"],
                ready=lambda text: "train: committed params" in table(text),
            )
            assert "churn-model" in table(runs_text)
            page.screenshot(path=str(shots / "runs_table.png"))
            text = _page_text(
                page,
                f"{mlflow_server}/#/experiments/{exp.experiment_id}/runs/{run.info.run_id}",
                ["train: committed params", run.info.run_id, "test_roc_auc", "churn-model", "Champion decision"],
            )
            assert f"{roc_auc:.4f}"[:5] in text  # the value as the UI prints it (full precision)
            assert str(roc_auc)[:6] in text
            page.screenshot(path=str(shots / "run.png"))
            evaluation = evaluation_run(client, exp.experiment_id, run.info.run_id)
            ids = f'["{run.info.run_id}","{evaluation.info.run_id}"]'
            text = _page_text(
                page,
                f'{mlflow_server}/#/compare-runs?runs={ids}&experiments=["{exp.experiment_id}"]',
                ["train: committed params", "evaluate: train: committed params"],
            )
            page.screenshot(path=str(shots / "compare.png"), full_page=True)
            text = _page_text(page, f"{mlflow_server}/#/models/churn-model", ["churn-model", "champion"])
            assert f"Version {champion.version}" in text
        finally:
            context.close()
