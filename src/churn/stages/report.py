"""Stage `report`: retention KPIs, cohorts, risk and action summaries, and one offline page.

Reads the ingested transactions, the latest scores, reports/metrics.json and the
evaluation figures; writes reports/kpis.json (DVC metrics), reports/report/ (CSV tables
and PNG figures) and reports/index.html (self-contained: figures embedded, no network).
Every output is byte-identical for the same inputs.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from churn import io, layout
from churn.config import Params
from churn.features.snapshots import scoring_cutoff
from churn.reporting import figures
from churn.reporting.cohorts import cohort_retention
from churn.reporting.kpis import json_safe, period_kpis, trailing_year
from churn.reporting.page import PageFigure, ReportContent, render_page
from churn.reporting.scores import action_summary, risk_by_segment, scoring_summary, segment_column

EVALUATION_CAPTIONS = {
    "roc": "ROC curve, out-of-time test (model and recency baseline)",
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
    settings = params.report
    tx = io.read_table(root / layout.INTERIM_TRANSACTIONS, text_columns=("customer_id", "order_id"))
    scores = io.read_table(root / layout.SCORES_PARQUET, text_columns=("customer_id",))
    metrics = io.read_json(root / layout.METRICS) if (root / layout.METRICS).is_file() else None
    cutoff = scoring_cutoff(tx["timestamp"].max())

    periods = period_kpis(
        tx, cutoff, period=settings.period, active_days=params.churn.active_days, margin=params.value.margin
    )
    cohorts = cohort_retention(tx, cutoff)
    risk = risk_by_segment(scores)
    actions = action_summary(scores)
    segment_label = "RFM segment" if segment_column(scores) == "rfm_segment" else "risk tier"
    kpis = json_safe(
        {
            "as_of": str((cutoff - pd.Timedelta(days=1)).date()),
            "period": settings.period,
            "active_days": params.churn.active_days,
            "margin": params.value.margin,
            "latest_period": periods.iloc[-1].to_dict(),
            "trailing_year": trailing_year(periods, period=settings.period, margin=params.value.margin),
            "scoring": scoring_summary(scores),
        }
    )

    report_figures = tuple(
        PageFigure(name, caption, figures.png_bytes(fig))
        for name, caption, fig in (
            ("retention", "Retention and churn rate per period", figures.rates_figure(periods)),
            ("flow", "Customers gained and lost per period", figures.flow_figure(periods)),
            ("cohorts", "Monthly acquisition cohorts", figures.cohort_heatmap(cohorts)),
            ("risk_by_segment", f"Churn risk tier by {segment_label}", figures.risk_figure(risk, segment_label)),
            ("actions", "Customers per recommended action", figures.actions_figure(actions)),
        )
    )
    tables = {"periods": periods, "cohorts": cohorts, "risk_by_segment": risk, "actions": actions}
    # Links are relative to the page, so the reports/ folder can be copied or mailed whole.
    page_dir = layout.REPORT_PAGE.parent
    links = tuple(
        (name.replace("_", " "), (layout.REPORT_DIR / f"{name}.csv").relative_to(page_dir).as_posix())
        for name in tables
    )
    page = render_page(
        ReportContent(
            kpis=kpis,
            periods=periods,
            risk=risk,
            segment_label=segment_label,
            actions=actions,
            metrics=metrics,
            report_figures=report_figures,
            evaluation_figures=_evaluation_figures(root),
            table_links=links,
        )
    )

    # Everything is computed before the first write, so a failure leaves the old report whole.
    with io.atomic_dir(root / layout.REPORT_DIR) as tmp:
        for name, table in tables.items():
            io.write_table(table, tmp / f"{name}.csv")
        for fig in report_figures:
            (tmp / f"{fig.name}.png").write_bytes(fig.png)
    io.write_json(kpis, root / layout.KPIS)
    io.write_text(page, root / layout.REPORT_PAGE)
    latest = kpis["latest_period"]
    return {
        "as_of": kpis["as_of"],
        "latest_period": latest["period"],
        "retention_rate": latest["retention_rate"],
        "churn_rate": latest["churn_rate"],
        "clv_trailing_year": (kpis["trailing_year"] or {}).get("clv"),
        "outputs": [str(layout.KPIS), f"{layout.REPORT_DIR}/", str(layout.REPORT_PAGE)],
    }
