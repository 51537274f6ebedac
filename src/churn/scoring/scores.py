"""The per-customer scores table: who is asked for, their status, risk, value and action.

Pure helpers: scoring/table.py builds the table with them, stages/score.py writes it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from churn.config import Params, RiskTiers
from churn.errors import InputError
from churn.scoring.predict import risk_tier
from churn.timeline import as_of_day

REASON_COLUMNS = ["reason_1", "reason_2", "reason_3"]
SCORES_TABLE_COLUMNS = [
    "customer_id",
    "status",
    "as_of",
    "churn_probability",
    "risk_percentile",
    "risk_tier",
    "rfm_segment",
    "r_score",
    "f_score",
    "m_score",
    "model_clv",
    "value_at_risk",
    *REASON_COLUMNS,
    "protective_factor",
    "recommended_action",
    "action_reason",
    "expected_net_benefit",
    "success_rate",
    "expected_uplift",
    "priority",
    "group",
    "held_out_action",
    "recency_days",
    "frequency",
    "monetary_total",
    "ranked_by",
]


def requested_customers(raw: pd.DataFrame, source: str) -> tuple[pd.Series, int]:
    """The ids in a customer list (column customer_id, as text), each once, in list order,
    and how many duplicate lines were dropped."""
    if "customer_id" not in raw.columns:
        raise InputError(
            source,
            f"missing required column 'customer_id'; found: {', '.join(map(str, raw.columns))}",
            row=1,
            column="customer_id",
        )
    ids = raw["customer_id"].astype("string").str.strip()
    empty = ids.isna() | (ids == "")
    if empty.any():
        row = int(np.flatnonzero(empty.to_numpy())[0]) + 2
        raise InputError(source, "customer_id is empty", row=row, column="customer_id")
    unique = ids.drop_duplicates().reset_index(drop=True)
    return unique, int(len(ids) - len(unique))


def with_status(snapshot: pd.DataFrame, requested: pd.Series | None, cutoff: pd.Timestamp) -> pd.DataFrame:
    """One row per requested customer (every customer with history when none are asked
    for), with `status`: active (in the model's population), lapsed (history, but none in
    the last churn.active_days) or unknown (no history before the cutoff), and `as_of`."""
    snap = snapshot.drop(columns=["split", "cutoff"], errors="ignore")
    if requested is None:
        frame = snap.reset_index(drop=True)
    else:
        frame = pd.DataFrame({"customer_id": requested.astype("string")}).merge(snap, on="customer_id", how="left")
    known = frame["is_active"].notna()
    status = np.where(~known, "unknown", np.where(frame["is_active"].fillna(False).astype(bool), "active", "lapsed"))
    frame.insert(1, "status", pd.Series(status, index=frame.index, dtype="string"))
    frame.insert(2, "as_of", str(as_of_day(cutoff)))
    return frame.drop(columns=["is_active"])


def risk_columns(probability: pd.Series, tiers: RiskTiers) -> pd.DataFrame:
    """churn_probability, risk_percentile (0-100, share of scored customers at or below)
    and risk_tier; rows without a probability stay empty."""
    p = probability.astype("float64")
    percentile = (p.rank(method="max", pct=True) * 100).round(1)
    tier = risk_tier(p.fillna(0.0), tiers).where(p.notna(), pd.NA)
    return pd.DataFrame({"churn_probability": p.round(6), "risk_percentile": percentile, "risk_tier": tier})


@dataclass(frozen=True)
class Scored:
    """The scores table (SCORES_TABLE_COLUMNS, sorted by priority, then risk) and the
    playbook actions these data cannot offer, with why."""

    table: pd.DataFrame
    unavailable_actions: dict[str, str]


def score_summary(
    scored: Scored,
    params: Params,
    *,
    cutoff: pd.Timestamp,
    duplicate_ids_in_list: int,
    rejected_transaction_rows: int,
    outputs: list[str],
    success_rates: list[dict] | None = None,
    model: dict | None = None,
    ranking: dict | None = None,
    policy: dict | None = None,
) -> dict:
    """Counts by status, tier, group and action; spend against budget; expected customers
    retained and revenue kept (model_clv / margin) by the chosen actions; and what was scored."""
    scores, actions = scored.table, params.actions
    acted = scores[scores["priority"].notna()]
    p = acted["churn_probability"].fillna(1.0)  # lapsed customers count as gone
    # A customer's expected gain in retention: the uplift model's, else p x success rate.
    kept = (p * acted["success_rate"].astype(float)).fillna(acted["expected_uplift"].astype(float)).fillna(0.0)
    costs = acted["recommended_action"].map({a.name: a.cost for a in actions.playbook})
    spend = float(costs.astype("float64").sum())  # float first: an empty text column sums to ""

    def counts(col: str) -> dict[str, int]:
        return {str(k): int(v) for k, v in scores[col].value_counts().sort_index().items()}

    return {
        "customers": int(len(scores)),
        "by_status": counts("status"),
        "by_risk_tier": counts("risk_tier"),
        "by_group": counts("group"),
        "actions": counts("recommended_action"),
        "spend": round(spend, 2),
        "budget": actions.budget,
        "expected_customers_retained": round(float(kept.sum()), 2),
        "expected_revenue_kept": round(float((kept * acted["model_clv"] / params.value.margin).sum()), 2),
        "expected_net_benefit": round(float(acted["expected_net_benefit"].sum()), 2),
        "as_of": str(as_of_day(cutoff)),
        # Which model (URI, version, horizon, data it learnt from) and what ranked the customers, and why.
        "model": model,
        "ranking": ranking,
        # What the plan targeted by (uplift | risk) and why; the uplift model's evidence is reports/uplift.json.
        "policy": policy,
        "duplicate_ids_in_list": duplicate_ids_in_list,
        "unavailable_actions": scored.unavailable_actions,
        "rejected_transaction_rows": rejected_transaction_rows,
        "outputs": outputs,
        # Where each success rate comes from: measured past campaigns (n, interval) or the guess.
        "success_rates": success_rates
        if success_rates is not None
        else [
            {"action": a.name, "rate": a.success_rate, "source": "guess (params.yaml)"} for a in actions.playbook[:-1]
        ],
    }
