"""Summaries of the latest scoring: churn risk by segment, recommended actions and their
expected value, and the model-based customer value.

Columns the scoring stage may or may not write (rfm_segment, model_clv, value_at_risk,
expected_net_benefit) are used when present and never invented when absent.
"""

from __future__ import annotations

import pandas as pd

from churn.errors import ChurnError

REQUIRED = ("customer_id", "churn_probability", "risk_tier", "recommended_action")
TIER_ORDER = ("high", "medium", "low")
# Per-customer money columns that are summed per action when the scores carry them.
VALUE_COLUMNS = ("expected_net_benefit", "value_at_risk", "model_clv")


def check_scores(scores: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED if c not in scores.columns]
    if missing:
        raise ChurnError(f"scores: missing column(s) {', '.join(missing)}; rerun `dvc repro score`")


def _tiers(scores: pd.DataFrame) -> list[str]:
    present = set(scores["risk_tier"].dropna().astype(str))
    return [t for t in TIER_ORDER if t in present] + sorted(present - set(TIER_ORDER))


def segment_column(scores: pd.DataFrame) -> str:
    """rfm_segment when the scores carry it, else risk_tier."""
    return "rfm_segment" if "rfm_segment" in scores.columns else "risk_tier"


def risk_by_segment(scores: pd.DataFrame) -> pd.DataFrame:
    """Churn risk per segment (see `segment_column`), riskiest segment first.

    Columns: segment, customers, mean_churn_probability, then one count column per risk
    tier (high, medium, low, ...), then share_high when a high tier exists.
    """
    check_scores(scores)
    by = segment_column(scores)
    frame = scores.assign(segment=scores[by].astype("string").fillna("(none)"))
    tiers = _tiers(frame)
    counts = pd.crosstab(frame["segment"], frame["risk_tier"].astype("string")).reindex(columns=tiers, fill_value=0)
    counts.columns = list(counts.columns)
    out = frame.groupby("segment").agg(
        customers=("customer_id", "size"), mean_churn_probability=("churn_probability", "mean")
    )
    out = out.join(counts).reset_index()
    out["mean_churn_probability"] = out["mean_churn_probability"].round(6)
    if "high" in tiers:
        out["share_high"] = (out["high"] / out["customers"]).round(6)
    out = out.sort_values(["mean_churn_probability", "segment"], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)


def action_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per recommended action, most customers first.

    Columns: action, customers, mean_churn_probability, and the sum of each of
    expected_net_benefit, value_at_risk, model_clv that the scores carry.
    """
    check_scores(scores)
    present = [c for c in VALUE_COLUMNS if c in scores.columns]
    aggs = {"customers": ("customer_id", "size"), "mean_churn_probability": ("churn_probability", "mean")}
    aggs.update({c: (c, "sum") for c in present})
    out = scores.groupby(scores["recommended_action"].astype("string").rename("action")).agg(**aggs).reset_index()
    out["mean_churn_probability"] = out["mean_churn_probability"].round(6)
    for col in present:
        out[col] = out[col].astype("float64").round(2)
    out = out.sort_values(["customers", "action"], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)


def scoring_summary(scores: pd.DataFrame) -> dict:
    """Headline facts of the latest scoring, for kpis.json and the page.

    Keys: as_of, customers, risk_tiers (counts), actions (counts), and for each of
    expected_net_benefit, value_at_risk, model_clv either its total (and for model_clv the mean) or
    None when the scores do not carry that column.
    """
    check_scores(scores)
    tiers = scores["risk_tier"].astype("string").value_counts()
    actions = action_summary(scores)
    as_of = sorted(scores["as_of"].dropna().astype(str).unique()) if "as_of" in scores.columns else []
    out = {
        "as_of": as_of[-1] if as_of else None,
        "customers": int(len(scores)),
        "risk_tiers": {t: int(tiers.get(t, 0)) for t in _tiers(scores)},
        "actions": {str(a): int(n) for a, n in zip(actions["action"], actions["customers"])},
    }
    for col in VALUE_COLUMNS:
        out[f"{col}_total"] = round(float(scores[col].sum()), 2) if col in scores.columns else None
    out["model_clv_mean"] = round(float(scores["model_clv"].mean()), 2) if "model_clv" in scores.columns else None
    return out
