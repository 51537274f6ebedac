"""Stage `campaigns`: what past retention campaigns achieved, against their control groups.

Reads the contact log (rows naming a campaign and a group), the ingested tables and the
model; writes reports/campaigns.json (DVC metrics: per campaign, pooled per action, the
last closed campaign), reports/campaign_effects.csv (every action x segment cell) and
data/processed/campaign_outcomes.parquet (one row per measured contact, with its features
at the campaign day), and logs an MLflow run. `churn score` learns its success rates from
the effects table.
"""

from __future__ import annotations

from pathlib import Path

from churn import io, layout, tracking
from churn.campaigns.outcomes import campaign_rows, window_revenue
from churn.campaigns.report import campaign_report
from churn.config import Params
from churn.features.snapshots import build_snapshots
from churn.inputs import model as model_input
from churn.inputs import tables as inputs
from churn.timeline import scoring_cutoff


def run(root: Path, params: Params) -> dict:
    con, tx, events, customers = inputs.open_tables(root, params)
    data_end = scoring_cutoff(inputs.time_span(con, tx)[1])
    horizon = params.churn.horizon_days
    camp = campaign_rows(inputs.contacts(root), data_end, horizon)
    cutoffs = sorted(set(camp.campaigns.loc[camp.campaigns["status"] == "measured", "cutoff"]))
    snapshot = revenue = None
    if cutoffs:
        planned = [("campaign", c) for c in cutoffs]
        snapshot = build_snapshots(
            con,
            tx,
            planned,
            active_days=params.churn.active_days,
            horizon_days=horizon,
            labels_until=data_end,
            events=events,
            customers=customers,
            active_only=False,
        )
        revenue = con.to_pyarrow(window_revenue(tx, cutoffs, horizon)).to_pandas()
    model = model_input.local_model(root) if cutoffs else None

    report = campaign_report(camp, snapshot, revenue, model, params)

    io.write_table(report.outcomes, root / layout.CAMPAIGN_OUTCOMES)
    io.write_table(report.effects, root / layout.CAMPAIGN_EFFECTS)
    io.write_json(report.summary, root / layout.CAMPAIGNS)
    metrics = {
        f"{action}/{name}": value
        for action, cell in report.summary["pooled"].items()
        for name, value in cell.items()
        if isinstance(value, float | int) and name in ("incremental_retention", "ci_low", "ci_high", "roi")
    }
    experiment_id = tracking.configure(root, params.mlflow)
    tracking.log_campaigns(
        experiment_id,
        f"campaigns as of {data_end.date()}",
        tracking.rounded(metrics),
        {"stage": "campaigns", **tracking.context_tags(root)},
        [root / layout.CAMPAIGN_EFFECTS, root / layout.CAMPAIGNS],
    )
    return {**report.summary, "outputs": [str(layout.CAMPAIGNS), str(layout.CAMPAIGN_EFFECTS)]}
