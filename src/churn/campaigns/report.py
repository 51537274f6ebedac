"""Everything the campaigns stage writes, from the contacts, the campaign-day snapshots and
the model: the outcomes per contact, the effects table and the summary (reports/campaigns.json)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from churn.campaigns.effects import ALL, measure
from churn.campaigns.outcomes import CampaignRows, outcome_frame
from churn.config import Params
from churn.modeling.model import ChurnModel
from churn.scoring.predict import risk_tier
from churn.scoring.reasons import explain_rows

OUTCOME_COLUMNS = ["campaign", "cutoff", "customer_id", "group", "action", "retained", "revenue"]


@dataclass(frozen=True)
class CampaignReport:
    outcomes: pd.DataFrame  # one row per measured contact: the contact, segments, features, outcome
    effects: pd.DataFrame  # campaigns.effects.measure
    summary: dict


def campaign_report(
    camp: CampaignRows, snapshot: pd.DataFrame, revenue: pd.DataFrame, model: ChurnModel | None, params: Params
) -> CampaignReport:
    """Segments each measured contact by what the customer looked like on the campaign day
    (risk tier and top driver from the model, RFM segment and loyalty from the snapshot) and
    measures every action against its control group."""
    measured = camp.campaigns.loc[camp.campaigns["status"] == "measured", "campaign"]
    rows = camp.rows[camp.rows["campaign"].isin(measured)]
    if snapshot is None:  # nothing measurable: no campaign, or none closed with both groups
        snapshot = pd.DataFrame(columns=["customer_id", "cutoff", "churned", "is_active"])
        revenue = pd.DataFrame(columns=["customer_id", "cutoff", "revenue"])
    outcomes = outcome_frame(rows, snapshot, revenue)
    without_history = int(len(rows) - len(outcomes))
    outcomes = outcomes.join(_segments(outcomes, model, params))
    costs = {a.name: a.cost for a in params.actions.playbook}
    effects = measure(outcomes, costs, params.value.margin, params.campaigns.min_control)
    summary = _summary(camp, effects, without_history)
    if "top_driver" not in outcomes.columns and len(outcomes):
        summary["handling"]["top_driver_segments"] = (
            f"left out: {len(outcomes):,} measured contacts > campaigns.driver_rows ({params.campaigns.driver_rows:,})"
        )
    keep = [c for c in (*OUTCOME_COLUMNS, "risk_tier", "churn_probability", "top_driver") if c in outcomes.columns]
    ordered = outcomes[keep + [c for c in outcomes.columns if c not in keep]]
    ordered = ordered.sort_values(["cutoff", "campaign", "customer_id"], kind="stable", ignore_index=True)
    return CampaignReport(ordered, effects, summary)


def _segments(outcomes: pd.DataFrame, model: ChurnModel | None, params: Params) -> pd.DataFrame:
    """churn_probability, risk_tier and top_driver as of each campaign day ("lapsed" for
    customers outside the model's population then)."""
    out = pd.DataFrame(index=outcomes.index)
    if model is None or outcomes.empty:
        return out
    active = outcomes["is_active"].fillna(False).astype(bool).to_numpy()
    probability = pd.Series(np.nan, index=outcomes.index)
    probability[active] = model.predict_proba(outcomes.loc[active])
    out["churn_probability"] = probability.round(6)
    out["risk_tier"] = risk_tier(probability.fillna(0.0), params.score.risk_tiers).where(active, "lapsed")
    if len(outcomes) > params.campaigns.driver_rows:
        return out
    drivers = pd.Series("lapsed", index=outcomes.index, dtype="string")
    if active.any():
        drivers[active] = explain_rows(model, outcomes.loc[active])["top_driver"]
    out["top_driver"] = drivers
    return out


def _summary(camp: CampaignRows, effects: pd.DataFrame, without_history: int) -> dict:
    pooled = effects[(effects["campaign"] == ALL) & (effects["segment_by"] == ALL)]
    fields = ["n_treatment", "n_control", "incremental_retention", "ci_low", "ci_high", "incremental_customers"]
    fields += ["incremental_margin", "cost", "roi", "min_detectable_effect", "verdict"]

    def per_action(frame: pd.DataFrame) -> dict:
        return {row["action"]: {f: _plain(row[f]) for f in fields} for _, row in frame.iterrows()}

    campaigns = camp.campaigns
    measured = campaigns[campaigns["status"] == "measured"]
    last = measured["campaign"].iloc[-1] if len(measured) else None
    harmful = effects[(effects["campaign"] == ALL) & (effects["verdict"] == "harms")]
    return {
        "campaigns": {
            r["campaign"]: {
                "as_of": r["as_of"],
                "n_treatment": int(r["n_treatment"]),
                "n_control": int(r["n_control"]),
                "status": r["status"],
            }
            for _, r in campaigns.iterrows()
        },
        "handling": {
            "contacts_without_campaign": camp.without_campaign,
            "duplicate_contacts_dropped": camp.duplicates_dropped,
            "contacts_without_history": without_history,
            "open_campaigns": int((~campaigns["closed"]).sum()) if len(campaigns) else 0,
            "campaigns_not_measurable": int((campaigns["closed"] & (campaigns["status"] != "measured")).sum())
            if len(campaigns)
            else 0,
        },
        "pooled": per_action(pooled),
        "last_closed": {
            "campaign": last,
            "actions": per_action(effects[(effects["campaign"] == last) & (effects["segment_by"] == ALL)])
            if last
            else {},
        },
        "harmful": [
            f"{r['action']} for all customers"
            if r["segment_by"] == ALL
            else f"{r['action']} where {r['segment_by']} = {r['segment']}"
            for _, r in harmful.iterrows()
        ],
    }


def _plain(value):
    """JSON-ready: numpy scalars to Python, NaN to None."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else float(value)
    return value if value is None or isinstance(value, (int, str)) else str(value)
