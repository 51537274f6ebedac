"""What ranks the customers: the model when it has shown skill, else the BG/NBD baseline.

No budget is spent on a model without skill. evaluate's verdict (metrics.json `skill`, or
the training run's `skill` tag for an MLflow model) says whether the model ranked the
out-of-time test customers better than chance and than the best baseline. When it did not,
`score.without_skill` decides:

- baseline: rank by BG/NBD's P(no purchase in the horizon), fitted at the scoring cutoff on
  every customer with history (the field's probability model; recency and the RFM score
  are orders without a probability, and the plan needs one to weigh value and cost);
  the reasons then say what BG/NBD rests on (the buying rhythm);
- no_plan: score with the model, but plan no action.

The choice and why are returned in words for the summary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from churn.config import Params
from churn.errors import ChurnError
from churn.modeling import bgnbd
from churn.modeling.model import PRIOR_INPUT, ChurnModel, Prior


@dataclass(frozen=True)
class BgNbdRanking:
    """BG/NBD as a scorer with the model's scoring interface (predict_proba, contributions)."""

    params: bgnbd.BgNbdParams
    horizon_days: int
    features: tuple[str, ...] = ()

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return bgnbd.churn_probability(self.params, self.horizon_days, frame)

    def contributions(self, frame: pd.DataFrame, chunk_rows: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
        """One input, the buying rhythm: its log-odds against the mean, as the model's prior is explained."""
        p = self.predict_proba(frame)
        log_odds = Prior(self.params, self.horizon_days).log_odds(frame)
        pull = log_odds - (log_odds.mean() if len(log_odds) else 0.0)
        values = pd.DataFrame({PRIOR_INPUT: p}, index=frame.index)
        return np.column_stack([pull, np.zeros(len(frame))]), values


@dataclass(frozen=True)
class Ranking:
    scorer: ChurnModel | BgNbdRanking
    by: str  # model | bgnbd
    plan: bool  # False: score, but plan no action
    why: str


def choose_ranking(
    model: ChurnModel, skill: dict | None, without_skill: str, snapshot: pd.DataFrame, horizon_days: int
) -> Ranking:
    """The scorer for this run, from evaluate's verdict `skill` ({"has_skill", "reason"} or None)."""
    if skill is None:
        return Ranking(model, "model", True, "the model has not been evaluated yet (run `dvc repro evaluate`)")
    if skill["has_skill"]:
        return Ranking(model, "model", True, f"the model has skill: {skill['reason']}")
    if without_skill == "no_plan":
        return Ranking(
            model,
            "model",
            False,
            f"the model has no skill ({skill['reason']}): no action planned (score.without_skill)",
        )
    try:
        params = bgnbd.fit_snapshot(snapshot)  # everyone with history at the cutoff, lapsed ones too
    except ValueError as exc:
        raise ChurnError(f"the model has no skill and BG/NBD cannot be fitted to rank instead: {exc}") from None
    return Ranking(
        BgNbdRanking(params, horizon_days),
        "bgnbd",
        True,
        f"the model has no skill ({skill['reason']}), so customers are ranked by BG/NBD (score.without_skill)",
    )


def without_actions(params: Params) -> Params:
    """The params with a budget of 0: every customer is scored, nobody gets an action."""
    return params.model_copy(update={"actions": params.actions.model_copy(update={"budget": 0.0})})


def model_facts(identity: dict, model: ChurnModel) -> dict:
    """The model named in the summary: where it came from, its version, the horizon it was
    trained for and the data it learnt from (source and fingerprint)."""
    data = model.card.get("data") or {}
    return {
        "uri": identity["uri"],
        "version": identity.get("version"),
        "horizon_days": model.card.get("horizon_days"),
        "data_source": data.get("transactions"),
        "data_sha256": data.get("sha256"),
    }


def model_label(identity: dict, model: ChurnModel) -> str:
    """The model in one short cell of the scores table, e.g. `models:/churn-model@champion v3
    (90d, data 1a2b3c4d)`."""
    facts = model_facts(identity, model)
    version = f" v{facts['version']}" if facts["version"] else ""
    setup = []
    if facts["horizon_days"]:
        setup.append(f"{facts['horizon_days']}d")
    if facts["data_sha256"]:
        setup.append(f"data {facts['data_sha256'][:8]}")
    return f"{facts['uri']}{version}" + (f" ({', '.join(setup)})" if setup else "")
