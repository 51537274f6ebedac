"""`churn report` on a hand-built project: outputs, their content, byte-reproducibility, errors."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from churn import io, layout
from churn.config import parse_params
from churn.curve_figures import line_figure, save_png
from churn.errors import ChurnError, InputError
from churn.reporting.page import table_html
from churn.stages import report
from tests.conftest import tx_frame
from tests.reporting.test_kpis import hundred_customers_world


@pytest.fixture
def project(tmp_path, raw_params):
    raw_params["churn"]["active_days"] = 31
    params = parse_params(raw_params)
    # A zero-amount row on the 31st makes January the last complete month without changing its numbers.
    tx = pd.concat([hundred_customers_world(), tx_frame([("c000", "2024-01-31T12:00", 0.0)])], ignore_index=True)
    tx["order_id"] = pd.array([f"o{i}" for i in range(len(tx))], dtype="string")
    io.write_table(tx, tmp_path / layout.INTERIM_TRANSACTIONS)
    scores = pd.DataFrame(
        {
            "customer_id": pd.array(["c001", "n002", "c003"], dtype="string"),
            "as_of": "2024-01-31",
            "churn_probability": [0.8, 0.5, 0.1],
            "risk_tier": pd.array(["high", "medium", "low"], dtype="string"),
            "recommended_action": pd.array(["<b>call</b>", "email", "no_action"], dtype="string"),
            "action_reason": pd.array(["r1", "r2", "r3"], dtype="string"),
        }
    )
    io.write_table(scores, tmp_path / layout.SCORES_PARQUET)
    io.write_json(
        {
            "test_cutoff": "2023-12-01",
            "test_customers": 90,
            "test_churn_rate": 0.3,
            "model": {"roc_auc": 0.81, "pr_auc": 0.7},
            "baselines": {"recency": {"roc_auc": 0.7, "pr_auc": 0.6}},
        },
        tmp_path / layout.METRICS,
    )
    curve = pd.DataFrame({"fpr": [0.0, 1.0], "tpr": [0.0, 1.0]})
    (tmp_path / layout.FIGURES).mkdir(parents=True)
    save_png(line_figure({"model": curve}, "fpr", "tpr", "ROC"), tmp_path / layout.FIGURES / "roc.png")
    return tmp_path, params


def digests(root: Path) -> dict[str, str]:
    paths = [root / layout.KPIS, root / layout.REPORT_PAGE, *sorted((root / layout.REPORT_DIR).iterdir())]
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def test_writes_kpis_tables_figures_and_page(project):
    root, params = project
    result = report.run(root, params)
    assert result["latest_period"] == "2024-01"
    kpis = json.loads((root / layout.KPIS).read_text())
    assert kpis["as_of"] == "2024-01-31" and kpis["period"] == "month"
    latest = kpis["latest_period"]
    assert (latest["retention_rate"], latest["lapse_rate"], latest["customers_end"]) == (0.8, 0.2, 110)
    assert kpis["trailing_year"]["period_clv"] == pytest.approx(245.45 * 0.3, abs=0.01)  # revenue CLV x value.margin
    assert kpis["scoring"]["actions"] == {"<b>call</b>": 1, "email": 1, "no_action": 1}
    assert kpis["scoring"]["expected_net_benefit_total"] is None  # the scores carry no such column
    assert {p.name for p in (root / layout.REPORT_DIR).iterdir()} == {
        *(f"{n}.csv" for n in ("periods", "cohorts", "risk_by_segment", "actions")),
        *(f"{n}.png" for n in ("retention", "flow", "cohorts", "risk_by_segment", "actions")),
    }
    periods = pd.read_csv(root / layout.REPORT_DIR / "periods.csv")
    assert periods["period"].tolist() == ["2023-12", "2024-01"]
    page = (root / layout.REPORT_PAGE).read_text()
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 6  # five report figures and the one evaluation figure
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert "&lt;b&gt;call&lt;/b&gt;" in page and "<b>call</b>" not in page  # data is escaped
    assert "no <code>expected_net_benefit</code> column" in page


def test_outputs_are_byte_identical_on_rerun(project):
    root, params = project
    report.run(root, params)
    first = digests(root)
    report.run(root, params)
    assert digests(root) == first
    assert len(first) == 11  # kpis.json, index.html, 4 CSV tables, 5 PNG figures


def test_expected_net_benefit_and_segments_are_shown_when_scored(project):
    root, params = project
    scores = pd.read_parquet(root / layout.SCORES_PARQUET)
    scores["expected_net_benefit"] = [120.5, 10.0, 0.0]
    scores["rfm_segment"] = ["At Risk", "Loyal", "Champions"]
    io.write_table(scores, root / layout.SCORES_PARQUET)
    report.run(root, params)
    kpis = json.loads((root / layout.KPIS).read_text())
    assert kpis["scoring"]["expected_net_benefit_total"] == 130.5
    page = (root / layout.REPORT_PAGE).read_text()
    assert 'data-kpi="expected_net_benefit_total">130.50' in page
    assert "Churn risk by RFM segment" in page
    risk = pd.read_csv(root / layout.REPORT_DIR / "risk_by_segment.csv")
    assert risk["segment"].tolist() == ["At Risk", "Loyal", "Champions"]


def test_missing_scores_names_the_file_and_writes_nothing(project):
    root, params = project
    (root / layout.SCORES_PARQUET).unlink()
    with pytest.raises(InputError, match="churn_scores.parquet"):
        report.run(root, params)
    assert not (root / layout.KPIS).exists() and not (root / layout.REPORT_PAGE).exists()


def test_a_failed_rerun_keeps_the_previous_report(project):
    root, params = project
    report.run(root, params)
    before = digests(root)
    scores = pd.read_parquet(root / layout.SCORES_PARQUET).drop(columns="risk_tier")
    io.write_table(scores, root / layout.SCORES_PARQUET)
    with pytest.raises(ChurnError, match="risk_tier"):
        report.run(root, params)
    assert digests(root) == before


def test_table_cells_are_formatted_by_meaning():
    frame = pd.DataFrame(
        {
            "period": ["2024-01"],
            "lapse_rate": [0.2],
            "period_clv": [1234.5],
            "customers_end": [1100],
            "full_history": [True],
        }
    )
    html = table_html(frame)
    assert (
        "<td>20.0%</td>" in html and "<td>1,234.50</td>" in html and "<td>1,100</td>" in html and "<td>yes</td>" in html
    )
