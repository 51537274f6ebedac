"""The report after a real `dvc repro`: DVC metrics, the page in headless Chromium, and
both notebooks executed against the same small synthetic world."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from churn import layout
from churn.reporting.page import fmt_count, fmt_rate
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium
from tests.projects import ROOT, sh

pytestmark = pytest.mark.e2e

NOTEBOOKS = ("01-explore-transactions.ipynb", "02-review-model.ipynb")


def test_dvc_tracks_the_report_and_its_metrics(pipeline_project):
    shown = json.loads(sh(["dvc", "metrics", "show", "--json"], pipeline_project).stdout)
    files = next(iter(shown.values()))["data"]
    kpis = files[str(layout.KPIS)]["data"]
    assert 0 < kpis["latest_period"]["retention_rate"] <= 1
    assert kpis["latest_period"]["period"] == "2024-11"  # the data ends 2024-12-30: December is incomplete
    assert kpis["trailing_year"]["periods"] == 11  # 2024-01 .. 2024-11 have a full year of history behind them
    scores_customers = kpis["scoring"]["customers"]
    assert scores_customers == sum(kpis["scoring"]["actions"].values())
    assert (pipeline_project / layout.REPORT_PAGE).is_file()


def test_page_renders_offline_in_chromium(pipeline_project, tmp_path):
    require_chromium()
    from playwright.sync_api import sync_playwright

    kpis = json.loads((pipeline_project / layout.KPIS).read_text())
    campaigns = json.loads((pipeline_project / layout.CAMPAIGNS).read_text())
    assert campaigns["last_closed"]["campaign"]  # the small world has measured campaigns too
    # the report's five, the forest plot, the Qini curves, and the evaluation figures
    n_figures = 7 + len(list((pipeline_project / layout.FIGURES).glob("*.png")))
    requests: list[str] = []
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = context.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.goto((pipeline_project / layout.REPORT_PAGE).as_uri(), wait_until="load")
            images = page.evaluate(
                "Array.from(document.images).map(i => ({alt: i.alt, ok: i.complete && i.naturalWidth > 0}))"
            )
            assert len(images) == n_figures
            assert all(img["ok"] for img in images), [img["alt"] for img in images if not img["ok"]]
            for heading in (
                "Retention report",
                "Headline KPIs",
                "Acquisition cohorts",
                "Recommended actions",
                "Model evaluation",
                "What past campaigns achieved",
            ):
                assert page.get_by_role("heading", name=heading).is_visible(), heading
            latest = kpis["latest_period"]
            for key, text in (
                ("retention_rate", fmt_rate(latest["retention_rate"])),
                ("lapse_rate", fmt_rate(latest["lapse_rate"])),
                ("customers_end", fmt_count(latest["customers_end"])),
            ):
                card = page.locator(f'[data-kpi="{key}"]')
                assert card.is_visible() and card.inner_text().startswith(text), (key, text)
            assert page.locator("#action-table tbody tr").count() == len(kpis["scoring"]["actions"])
            # The forest plot of campaign effects is drawn, and the last campaign's table lists each action.
            forest = page.locator("#fig-campaign_effects img")
            assert forest.is_visible() and forest.evaluate("i => i.naturalWidth") > 0
            rows = page.locator("#campaign-table tbody tr")
            assert rows.count() == len(campaigns["last_closed"]["actions"])
            # Every targeting rule's replay is a row, and the Qini curves are drawn.
            uplift = json.loads((pipeline_project / layout.UPLIFT).read_text())["evaluation"]
            assert page.locator("#uplift-table tbody tr").count() == len(uplift["policies"])
            # With the ground truth, the page says how much of the oracle the features can reveal.
            reach = uplift["verdict"]["ceiling_share_of_oracle"]
            assert f"older campaigns captured {reach:.0%} of it" in page.locator("#uplift").inner_text()
            # ... and the rules replayed on each of the last closed campaigns, added up.
            assert page.locator("#uplift-backtest tbody tr").count() == len(uplift["backtest"]["policies"])
            qini = page.locator("#fig-uplift_qini img")
            assert qini.is_visible() and qini.evaluate("i => i.naturalWidth") > 0
            # Amounts carry the currency (value.currency) for a manager reading the page.
            assert "EUR" in page.locator('[data-kpi="average_order_value"]').inner_text()
            shots = Path(os.environ.get("CHURN_SCREENSHOTS", tmp_path))
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / "report_page.png"))
        finally:
            context.close()
    assert all(url.startswith(("file:", "data:")) for url in requests), requests  # nothing from the network


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_against_the_pipeline_outputs(pipeline_project, monkeypatch, tmp_path, name):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.delenv("DVC_ROOT", raising=False)
    if name.startswith("01"):
        # Default: the notebook finds the project it sits in.
        monkeypatch.delenv("CHURN_PROJECT_ROOT", raising=False)
        workdir = pipeline_project / "notebooks"
    else:
        monkeypatch.setenv("CHURN_PROJECT_ROOT", str(pipeline_project))
        workdir = tmp_path
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3
    text = "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)
    assert str(pipeline_project.resolve()) in text  # it read the temporary project, not the repository
    if name.startswith("02"):
        assert "FINISHED" in text  # the MLflow run
        assert "customers scored as of" in text
