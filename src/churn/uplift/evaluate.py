"""How much each targeting rule would have kept, measured on a campaign it never saw.

Pure: the newest closed campaign's contacts, one score per contact and policy, the budget
in; per policy the customers contacted, the spend, the incremental customers kept (with a
95% interval) and per action the Qini coefficient and AUUC out.

In a past campaign every customer was randomly treated or held out with one action (given,
or held back), so a policy is replayed on it by choosing whom to contact with that action:
contacts in descending order of the policy's expected net benefit, while it is positive and
the budget lasts. Among the chosen, the incremental customers are estimated by inverse
propensity weighting,

    sum over chosen of  t y / e - (1 - t) y / (1 - e)      (e = the campaign's treatment share),

which is unbiased for the sum of their true effects because the choice depends only on what
was known on the campaign day; the interval is the normal one from the per-contact terms.
Where the ground truth is known (the built-in world), the true sum is given beside it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from churn.campaigns.effects import Z95
from churn.uplift.learner import treatment_share


def chosen(benefit: np.ndarray, cost: np.ndarray, budget: float) -> np.ndarray:
    """True for the contacts a policy makes: best expected net benefit first, only where it is
    positive, while the spend fits the budget (one that does not fit is skipped, cheaper ones
    after it may still fit). Ties break by position, so the result is deterministic."""
    order = np.argsort(-benefit, kind="stable")
    take = np.zeros(len(benefit), dtype=bool)
    spent = 0.0
    for i in order:
        if not benefit[i] > 0:
            break
        if spent + cost[i] <= budget:
            take[i] = True
            spent += cost[i]
    return take


def ipw_terms(contacts: pd.DataFrame, outcome: str = "retained") -> np.ndarray:
    """Each contact's unbiased estimate of its own effect on `outcome` (retained, or
    revenue in the window): t y / e - (1 - t) y / (1 - e)."""
    t = (contacts["group"] == "treatment").to_numpy()
    y = contacts[outcome].to_numpy(dtype=float)
    e = np.clip(treatment_share(contacts), 0.01, 0.99)
    return np.where(t, y / e, -y / (1 - e))


def replay(contacts: pd.DataFrame, benefit: np.ndarray, budget: float, truth: np.ndarray | None = None) -> dict:
    """One policy replayed on a campaign: contacted, cost, incremental customers (IPW, 95%
    interval), per 1,000 spent, incremental revenue in the window (IPW); and with the
    ground truth the true incremental customers."""
    cost = contacts["cost"].to_numpy(dtype=float)
    take = chosen(benefit, cost, budget)
    terms = ipw_terms(contacts)[take]
    n = int(take.sum())
    kept = float(terms.sum())
    half = Z95 * float(np.sqrt(n * terms.var(ddof=1))) if n > 1 else None  # no spread from one contact
    spent = float(cost[take].sum())
    out = {
        "contacted": n,
        "cost": round(spent, 2),
        "incremental_customers": round(kept, 2),
        "ci_low": None if half is None else round(kept - half, 2),
        "ci_high": None if half is None else round(kept + half, 2),
        "per_1000_spent": round(1000 * kept / spent, 3) if spent > 0 else None,
    }
    if "revenue" in contacts.columns:  # what they spent in the window: the business's own number
        out["incremental_revenue"] = round(float(ipw_terms(contacts, "revenue")[take].sum()), 2)
    if truth is not None:
        out["true_incremental_customers"] = round(float(truth[take].sum()), 2)
        out["true_per_1000_spent"] = round(1000 * float(truth[take].sum()) / spent, 3) if spent > 0 else None
    return out


def qini_by_action(contacts: pd.DataFrame, score: np.ndarray, min_control: int = 30) -> dict[str, dict]:
    """Per action: Qini coefficient and AUUC of ranking that action's contacts by `score`
    (scikit-uplift's normalised scores: 0 is random, 1 the best possible order), where the
    action has at least `min_control` control and treated contacts."""
    from sklift.metrics import qini_auc_score, uplift_auc_score

    out = {}
    for action, rows in contacts.groupby("action", sort=True).indices.items():
        part = contacts.iloc[rows]
        t = (part["group"] == "treatment").to_numpy(dtype=int)
        if min(t.sum(), len(t) - t.sum()) < min_control:
            continue
        y = part["retained"].to_numpy(dtype=int)
        with warnings.catch_warnings():  # scikit-uplift calls a scikit-learn helper marked deprecated
            warnings.simplefilter("ignore", FutureWarning)
            out[str(action)] = {
                "qini": round(float(qini_auc_score(y, score[rows], t)), 4),
                "auuc": round(float(uplift_auc_score(y, score[rows], t)), 4),
            }
    return out


def mean_qini(per_action: dict[str, dict]) -> float | None:
    """The contacts-weighted mean is not defined per action, so the plain mean over actions."""
    values = [v["qini"] for v in per_action.values()]
    return round(float(np.mean(values)), 4) if values else None


def qini_curve(terms: np.ndarray, score: np.ndarray, points: int = 50) -> pd.DataFrame:
    """share targeted -> incremental customers when the top share by `score` is treated, over
    all actions: the curve a figure draws per policy. `terms` is each contact's effect: the
    IPW terms (`ipw_terms`) or, where known, the true effects."""
    order = np.argsort(-score, kind="stable")
    gain = np.concatenate([[0.0], np.cumsum(terms[order])])
    idx = np.unique(np.linspace(0, len(order), points + 1).round().astype(int))
    return pd.DataFrame({"share_targeted": idx / max(len(order), 1), "incremental_customers": gain[idx].round(3)})
