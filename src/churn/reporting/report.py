"""The retention report as values: KPIs, tables, figures and the page, from frames.

Pure: the ingested transactions, the latest scores, the evaluation metrics and figures
in; everything stages/report.py writes out.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from churn import layout
from churn.config import Params
from churn.reporting import figures
from churn.reporting.cohorts import cohort_retention
from churn.reporting.kpis import json_safe, period_kpis, trailing_year
from churn.reporting.latest_scores import action_summary, risk_by_segment, scoring_summary, segment_column
from churn.reporting.page import PageFigure, ReportContent, render_page
from churn.timeline import as_of_day


def forest_cells(effects: pd.DataFrame | None, segment_by: str) -> pd.DataFrame:
    """The pooled cells the forest plot shows: every action for all customers, then each
    action in each segment of `segment_by` with enough control customers to tell."""
    if effects is None or effects.empty:
        return pd.DataFrame()
    pooled = effects[(effects["campaign"] == "all") & (effects["verdict"] != "not measurable")]
    overall = pooled[pooled["segment_by"] == "all"]
    segments = pooled[(pooled["segment_by"] == segment_by) & (pooled["verdict"] != "too few to tell")]
    return pd.concat([overall, segments]).sort_values(["action", "segment_by"], kind="stable", ignore_index=True)


@dataclass(frozen=True)
class Report:
    kpis: dict
    tables: dict[str, pd.DataFrame]
    figures: tuple[PageFigure, ...]
    page: str


def build_report(
    tx: pd.DataFrame,
    scores: pd.DataFrame,
    metrics: dict | None,
    evaluation_figures: tuple[PageFigure, ...],
    cutoff: pd.Timestamp,
    params: Params,
    campaigns: dict | None = None,
    campaign_effects: pd.DataFrame | None = None,
    uplift: dict | None = None,
    uplift_qini: bytes | None = None,
) -> Report:
    """KPIs per period up to `cutoff`, cohorts, risk and actions of the latest scores, and the page."""
    settings = params.report
    periods = period_kpis(
        tx, cutoff, period=settings.period, active_days=params.churn.active_days, margin=params.value.margin
    )
    cohorts = cohort_retention(tx, cutoff)
    risk = risk_by_segment(scores)
    descriptions = {a.name: a.description for a in params.actions.playbook}
    actions = action_summary(scores)
    actions.insert(1, "description", actions["action"].map(descriptions).fillna(actions["action"]))
    segment_label = "RFM segment" if segment_column(scores) == "rfm_segment" else "risk tier"
    kpis = json_safe(
        {
            "as_of": str(as_of_day(cutoff)),
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
            ("retention", "Retention and lapse rate per period", figures.rates_figure(periods)),
            ("flow", "Customers gained and lost per period", figures.flow_figure(periods)),
            ("cohorts", "Monthly acquisition cohorts", figures.cohort_heatmap(cohorts)),
            ("risk_by_segment", f"Churn risk tier by {segment_label}", figures.risk_figure(risk, segment_label)),
            ("actions", "Customers per recommended action", figures.actions_figure(actions)),
        )
    )
    tables = {"periods": periods, "cohorts": cohorts, "risk_by_segment": risk, "actions": actions}
    cells = forest_cells(campaign_effects, params.campaigns.plan_segment)
    if len(cells):
        forest = figures.forest_figure(cells)
        caption = "Incremental retention per action (all customers and by segment), pooled over past campaigns"
        report_figures = (*report_figures, PageFigure("campaign_effects", caption, figures.png_bytes(forest)))
    if uplift_qini is not None:
        caption = "Qini curves: customers kept as more of the newest closed campaign is targeted, per rule"
        report_figures = (*report_figures, PageFigure("uplift_qini", caption, uplift_qini))
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
            evaluation_figures=evaluation_figures,
            table_links=links,
            campaigns=campaigns,
            uplift=uplift,
            currency=params.value.currency,
        )
    )

    return Report(kpis, tables, report_figures, page)
