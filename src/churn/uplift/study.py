"""Everything the uplift stage learns and writes, from the measured campaign contacts.

Pure: the campaigns stage's outcomes (one row per contact, features as of the campaign
day) and the settings in; the uplift model for planning, the out-of-time evaluation
(reports/uplift.json) and the Qini curves out.

- Out of time: the learner is fitted on every closed campaign but the newest and replayed
  on the newest (uplift/evaluate.py) beside the other targeting rules: risk (today's rule,
  p x model_clv x the playbook's guessed rate), risk with the rates measured on the older
  campaigns, random, and scikit-uplift's best learner (the reference). With the ground
  truth (built-in world only) also the oracle, which targets by the true effects, and the
  ceiling (uplift/ceiling.py): what a learner given the older campaigns' true effects finds
  from the features, so the report can tell the learner's shortfall from the features' own.
- The backtest: the same rules but the reference, replayed on each of the last few closed
  campaigns (uplift.backtest_campaigns, the newest among them) with what the campaigns
  before each taught, and added up.
- For planning, the learner is then fitted again on every closed campaign.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from churn.campaigns.effects import Z95, measure
from churn.campaigns.rates import learned_rates
from churn.config import Params
from churn.scoring.value import customer_value
from churn.uplift.ceiling import ceiling_effects
from churn.uplift.evaluate import chosen, ipw_terms, mean_qini, qini_by_action, qini_curve, replay
from churn.uplift.learner import UpliftModel, fit_uplift
from churn.uplift.reference import reference_uplift


@dataclass(frozen=True)
class UpliftStudy:
    model: UpliftModel | None  # fitted on every closed campaign; None without any
    summary: dict  # reports/uplift.json
    curves: pd.DataFrame  # policy, share_targeted, incremental_customers (newest campaign)


def campaign_order(contacts: pd.DataFrame) -> list[str]:
    """The campaigns of `contacts`, oldest first (by campaign day)."""
    return list(dict.fromkeys(contacts.sort_values("cutoff", kind="stable")["campaign"])) if len(contacts) else []


def with_value(outcomes: pd.DataFrame, params: Params) -> pd.DataFrame:
    """model_clv as of each campaign day (valued within its own campaign's customers), and
    the cost of each contact's action."""
    parts = [
        customer_value(rows, params.value.clv_horizon_days, params.value.margin)["model_clv"]
        for _, rows in outcomes.groupby("campaign", sort=True)
    ]
    out = outcomes.copy()
    out["model_clv"] = pd.concat(parts).reindex(out.index).fillna(0.0) if parts else 0.0
    out["cost"] = out["action"].map({a.name: a.cost for a in params.actions.playbook}).fillna(0.0)
    return out


def uplift_study(
    outcomes: pd.DataFrame, features: list[str], params: Params, truth: pd.DataFrame | None = None
) -> UpliftStudy:
    """truth (optional): campaign, customer_id, true_effect, kind, from data/truth/campaigns.csv.
    The learner never sees it: it gives the replay the true effects of the evaluated campaign
    (the oracle) and the ceiling those of the older ones."""
    settings = params.uplift
    contacts = with_value(outcomes.reset_index(drop=True), params) if len(outcomes) else outcomes
    campaigns = campaign_order(contacts)
    summary: dict = {"campaigns": campaigns, "learner": "DR-learner on LightGBM (churn.uplift.learner)"}
    summary |= {"evaluation": None, "note": None}
    if not campaigns:
        summary["note"] = "no closed campaign with a control group: nothing to learn from"
        return UpliftStudy(None, summary, pd.DataFrame())
    model = fit_uplift(contacts, features, settings).model
    summary.update(trained_on=model.card["campaigns"], rows=model.card["rows"], calibration_slope=round(model.slope, 4))
    if len(campaigns) < 2:
        summary["note"] = "one closed campaign: an out-of-time evaluation needs an older one to learn from"
        return UpliftStudy(model, summary, pd.DataFrame())

    train, test, train_truth, summary["note"] = split_at_newest(contacts, campaigns, truth)
    evaluation, curves = _evaluate(train, test, features, params, train_truth)
    evaluation["backtest"] = _backtest(contacts, campaigns, features, params, truth, evaluation)
    summary["evaluation"] = evaluation
    return UpliftStudy(model, summary, curves)


def split_at_newest(
    contacts: pd.DataFrame, campaigns: list[str], truth: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray | None, str | None]:
    """The contacts of every campaign before the last of `campaigns` (to learn from) and of
    the last (to replay), the true effects where the truth covers them, and a note when it
    does not."""
    newest = campaigns[-1]
    train = contacts[contacts["campaign"].isin(campaigns[:-1])].reset_index(drop=True)
    test = contacts[contacts["campaign"] == newest].reset_index(drop=True)
    if truth is None:
        return train, test, None, None
    keys = ["campaign", "customer_id"]
    joined = test.merge(truth, on=keys, how="left", validate="one_to_one")
    if not joined["true_effect"].notna().all():  # a ground truth of another world (e.g. edited contacts)
        return train, test, None, "the ground truth does not cover every evaluated contact: no oracle"
    known = train[keys].merge(truth, on=keys, how="left", validate="one_to_one")["true_effect"]
    return train, joined, known.to_numpy(dtype=float) if known.notna().all() else None, None


def _backtest(
    contacts: pd.DataFrame,
    campaigns: list[str],
    features: list[str],
    params: Params,
    truth: pd.DataFrame | None,
    newest: dict,
) -> dict | None:
    """The rules replayed on each of the last `uplift.backtest_campaigns` closed campaigns
    (`newest` is the newest's evaluation), each with what the campaigns before it taught, and
    summed: one campaign's estimate is too noisy to judge a rule by. The reference learners
    are left out here (the slowest part). None when fewer than two campaigns can be replayed."""
    replayed = campaigns[max(1, len(campaigns) - params.uplift.backtest_campaigns) :]
    if len(replayed) < 2:
        return None
    runs = {}
    for campaign in replayed[:-1]:
        train, test, train_truth, _ = split_at_newest(contacts, campaigns[: campaigns.index(campaign) + 1], truth)
        runs[campaign] = _evaluate(train, test, features, params, train_truth, reference=False)[0]
    runs[replayed[-1]] = newest
    rules = [r for r in newest["policies"] if all(r in run["policies"] for run in runs.values())]
    return {
        "replayed": replayed,
        "trained_on": {c: run["trained_on"] for c, run in runs.items()},  # what each replay's model learnt from
        "policies": {rule: _summed({c: run["policies"][rule] for c, run in runs.items()}) for rule in rules},
    }


def _summed(by_campaign: dict[str, dict]) -> dict:
    """One rule's replays added up: contacts, spend and customers kept, with the 95% interval
    of the sum (the campaigns are independent: their variances, read off each interval, add)."""
    runs = list(by_campaign.values())
    kept = sum(r["incremental_customers"] for r in runs)
    variance = sum(((r["ci_high"] - r["ci_low"]) / (2 * Z95)) ** 2 for r in runs if r["ci_low"] is not None)
    half = Z95 * float(np.sqrt(variance))
    out = {
        "contacted": int(sum(r["contacted"] for r in runs)),
        "cost": round(sum(r["cost"] for r in runs), 2),
        "incremental_customers": round(kept, 2),
        "ci_low": round(kept - half, 2),
        "ci_high": round(kept + half, 2),
        "by_campaign": {c: r["incremental_customers"] for c, r in by_campaign.items()},
    }
    if all("true_incremental_customers" in r for r in runs):
        out["true_incremental_customers"] = round(sum(r["true_incremental_customers"] for r in runs), 2)
        out["true_by_campaign"] = {c: r["true_incremental_customers"] for c, r in by_campaign.items()}
    return out


def _evaluate(
    train: pd.DataFrame,
    test: pd.DataFrame,
    features: list[str],
    params: Params,
    train_truth: np.ndarray | None,
    reference: bool = True,
) -> tuple[dict, pd.DataFrame]:
    early = fit_uplift(train, features, params.uplift).model
    known = test["action"].isin(early.actions).to_numpy()
    uplift = np.where(known, early.predict(test, test["action"].astype(str).where(known, early.actions[0])), np.nan)
    clv = test["model_clv"].to_numpy(dtype=float)
    cost = test["cost"].to_numpy(dtype=float)
    risk = test["churn_probability"].fillna(1.0).to_numpy(dtype=float)  # not active then: gone without action
    guesses = {a.name: a.success_rate for a in params.actions.playbook[:-1]}
    guess = test["action"].map(guesses).fillna(0.0).to_numpy(dtype=float)

    measured, harmful = _measured_rates(train, test, guesses, params)
    references, reference_qini, best = _reference(train, test, features, params) if reference else ({}, {}, None)

    rng = np.random.default_rng(params.uplift.seed)
    benefit = {
        # The plan's own rule, and not where the older campaigns measured harm.
        "uplift": np.where(harmful, -np.inf, by_effect(uplift, clv, cost)),
        "risk": risk * clv * guess - cost,
        "measured_rate": np.where(harmful, -np.inf, risk * clv * measured - cost),
        "random": rng.random(len(test)) + 1.0,
    }
    if best is not None:
        benefit["reference"] = by_effect(references[best], clv, cost)
    # Rankings for the Qini curves: what each rule orders by, finite (a harmful action last).
    by_rate = risk * clv * measured - cost
    ranking = {
        "uplift": np.nan_to_num(uplift),
        "risk": risk,
        "measured_rate": np.where(harmful, by_rate.min() - 1, by_rate),
    }
    ranking["random"] = benefit["random"]
    if best is not None:
        ranking["reference"] = np.nan_to_num(references[best])
    true_effect = test["true_effect"].to_numpy(dtype=float) if "true_effect" in test.columns else None
    if true_effect is not None and train_truth is not None:
        ceiling = ceiling_effects(train, train_truth, test, features, params.uplift)
        benefit["ceiling"] = by_effect(ceiling, clv, cost)
        ranking["ceiling"] = np.nan_to_num(ceiling)
    if true_effect is not None:
        benefit["oracle"] = true_effect * clv - cost
        ranking["oracle"] = true_effect

    budget = params.actions.budget
    policies = {}
    for name, values in benefit.items():
        policies[name] = replay(test, values, budget, true_effect)
        per_action = reference_qini[best] if name == "reference" else qini_by_action(test, ranking[name])
        policies[name] |= {"qini_mean": mean_qini(per_action), "qini": per_action}
        if "kind" in test.columns:
            take = chosen(values, test["cost"].to_numpy(dtype=float), budget)
            policies[name]["sleeping_dogs_contacted"] = int((test["kind"].to_numpy()[take] == "sleeping_dog").sum())
    evaluation = {
        "trained_on": early.card["campaigns"],
        "evaluated_on": str(test["campaign"].iloc[0]),
        "contacts": int(len(test)),
        "budget": budget,
        "reference_learner": best,
        "reference_learners_qini": {name: mean_qini(q) for name, q in reference_qini.items()},
        "policies": policies,
        "verdict": _verdict(policies),
    }
    terms = ipw_terms(test) if true_effect is None else true_effect
    curves = pd.concat([qini_curve(terms, ranking[name]).assign(policy=name) for name in ranking], ignore_index=True)
    curves = curves[["policy", "share_targeted", "incremental_customers"]]
    evaluation["curves_measured_by"] = "ground truth" if true_effect is not None else "inverse propensity weighting"
    return evaluation, curves


def by_effect(effect: np.ndarray, clv: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """The plan's rule by a predicted effect: effect x model_clv - cost, and never a contact
    where the effect is not positive (or not known)."""
    return np.where(effect > 0, np.nan_to_num(effect) * clv - cost, -np.inf)


def _measured_rates(
    train: pd.DataFrame, test: pd.DataFrame, guesses: dict[str, float], params: Params
) -> tuple[np.ndarray, np.ndarray]:
    """Per test contact, its action's success rate as measured on the older campaigns (shrunk
    towards the guess, campaigns/rates.py) and whether they measured it harmful there."""
    costs = {a.name: a.cost for a in params.actions.playbook}
    effects = measure(train, costs, params.value.margin, params.campaigns.min_control)
    rates = learned_rates(effects, guesses, params.campaigns.prior_weight, params.campaigns.plan_segment)
    segment = test[rates.segment_by] if rates.segment_by in test.columns else pd.Series(pd.NA, index=test.index)
    measured, harmful = np.zeros(len(test)), np.zeros(len(test), dtype=bool)
    for action, rows in test.groupby("action").indices.items():
        if action in rates.overall:
            measured[rows] = rates.rates_for(action, segment.iloc[rows])
            harmful[rows] = rates.harmful_for(action, segment.iloc[rows])
    return measured, harmful


def _reference(
    train: pd.DataFrame, test: pd.DataFrame, features: list[str], params: Params
) -> tuple[dict[str, np.ndarray], dict[str, dict], str]:
    """scikit-uplift's learners' uplift per test contact, their Qini per action, and the best by mean Qini."""
    references = reference_uplift(train, test, features, params.uplift)
    qini = {name: qini_by_action(test, np.nan_to_num(u)) for name, u in references.items()}
    best = max(qini, key=lambda name: (mean_qini(qini[name]) or -np.inf, name))
    return references, qini, best


def _verdict(policies: dict) -> dict:
    """Uplift against the risk rule and, with the ground truth, against the oracle and the
    ceiling (and the ceiling against the oracle: the share the features can reveal)."""
    key = "true_incremental_customers" if "oracle" in policies else "incremental_customers"
    up, risk = policies["uplift"][key], policies["risk"][key]
    out = {
        "measured_by": "ground truth" if key.startswith("true") else "inverse propensity weighting",
        "uplift_minus_risk": round(up - risk, 2),
        "uplift_over_risk": round(up / risk, 3) if risk > 0 else None,
    }
    if "oracle" in policies:
        oracle = policies["oracle"][key]
        out["share_of_oracle"] = round(up / oracle, 3) if oracle > 0 else None
        if "ceiling" in policies:
            ceiling = policies["ceiling"][key]
            out["ceiling_share_of_oracle"] = round(ceiling / oracle, 3) if oracle > 0 else None
            out["share_of_ceiling"] = round(up / ceiling, 3) if ceiling > 0 else None
    return out
