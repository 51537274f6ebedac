"""Stage `report`: retention KPIs, cohorts, risk and action summaries, and one offline page.

Reads the ingested transactions, the latest scores, reports/metrics.json and the
evaluation figures; writes reports/kpis.json (DVC metrics), reports/report/ (CSV tables
and PNG figures) and reports/index.html (self-contained: figures embedded, no network).
Every output is byte-identical for the same inputs.
"""

from __future__ import annotations

from pathlib import Path

from churn import io, layout
from churn.config import Params
from churn.inputs import campaigns as inputs_campaigns
from churn.inputs import scores as scores_input
from churn.reporting.page import PageFigure
from churn.reporting.report import build_report
from churn.timeline import scoring_cutoff

EVALUATION_CAPTIONS = {
    "roc": "ROC curve, out-of-time test: the model and each baseline (BG/NBD, recency, RFM score)",
    "precision_recall": "Precision-recall curve, out-of-time test",
    "calibration": "Calibration: predicted against observed churn, out-of-time test",
}


def _evaluation_figures(root: Path) -> tuple[PageFigure, ...]:
    """Every PNG the evaluate stage wrote, in name order (new ones appear without code changes)."""
    found = sorted((root / layout.FIGURES).glob("*.png")) if (root / layout.FIGURES).is_dir() else []
    return tuple(
        PageFigure(p.stem, EVALUATION_CAPTIONS.get(p.stem, p.stem.replace("_", " ").capitalize()), p.read_bytes())
        for p in found
    )


def run(root: Path, params: Params) -> dict:
    tx = io.read_table(root / layout.INTERIM_TRANSACTIONS, text_columns=("customer_id", "order_id"))
    scores, _ = scores_input.load(root)
    metrics = io.read_json(root / layout.METRICS) if (root / layout.METRICS).is_file() else None
    cutoff = scoring_cutoff(tx["timestamp"].max())

    campaigns = io.read_json(root / layout.CAMPAIGNS) if (root / layout.CAMPAIGNS).is_file() else None
    effects = inputs_campaigns.effects(root)
    uplift = io.read_json(root / layout.UPLIFT) if (root / layout.UPLIFT).is_file() else None
    qini = root / layout.UPLIFT_QINI_FIGURE
    report = build_report(
        tx,
        scores,
        metrics,
        _evaluation_figures(root),
        cutoff,
        params,
        campaigns,
        effects,
        uplift,
        qini.read_bytes() if qini.is_file() else None,
    )

    # Everything is computed before the first write, so a failure leaves the old report whole.
    with io.atomic_dir(root / layout.REPORT_DIR) as tmp:
        for name, table in report.tables.items():
            io.write_table(table, tmp / f"{name}.csv")
        for fig in report.figures:
            (tmp / f"{fig.name}.png").write_bytes(fig.png)
    io.write_json(report.kpis, root / layout.KPIS)
    io.write_text(report.page, root / layout.REPORT_PAGE)
    kpis = report.kpis
    latest = kpis["latest_period"]
    return {
        "as_of": kpis["as_of"],
        "latest_period": latest["period"],
        "retention_rate": latest["retention_rate"],
        "lapse_rate": latest["lapse_rate"],
        "period_clv_trailing_year": (kpis["trailing_year"] or {}).get("period_clv"),
        "outputs": [str(layout.KPIS), f"{layout.REPORT_DIR}/", str(layout.REPORT_PAGE)],
    }
