"""The ceiling: how much of the oracle's gain the campaign-day features can reveal at all.

The oracle targets by each contact's true effect, and that effect depends on what happens
after the campaign day (whether the customer was about to leave within the outcome
window), which no feature shows. So the oracle's gain can lie out of any learner's reach.
The ceiling measures how far: a LightGBM regression fitted to the older campaigns' *true*
effects (labels free of the outcome noise that every real campaign has) on the same
features and actions as the uplift learner, applied to the newest campaign and planned by
the uplift rule. What it misses of the oracle, no learner on these features finds; what
the uplift rule misses of the ceiling is the learner's own shortfall.

Built-in world only (the ground truth); nothing the plan uses is learnt here. LightGBM's
default capacity (31 leaves, 20 rows a leaf, 100 rounds at 0.1), not tuned on the truth.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd

from churn.config import UpliftSettings
from churn.uplift.learner import booster_params, design


def ceiling_effects(
    train: pd.DataFrame,
    true_effect: np.ndarray,
    test: pd.DataFrame,
    features: list[str],
    settings: UpliftSettings,
    capacity: tuple[int, int, int, float] = (31, 20, 100, 0.1),
) -> np.ndarray:
    """Each test contact's effect of its own action as predicted by a regression on the
    train contacts' true effects (`true_effect`, one per train row). `capacity`: leaves,
    rows a leaf, rounds and learning rate (benchmarks/uplift_ceiling.py varies it)."""
    leaves, min_child, rounds, rate = capacity
    actions = sorted(train["action"].astype(str).unique())
    params = booster_params(settings, "regression", leaves, min_child) | {"learning_rate": rate}
    x = design(train, features, actions, train["action"].astype(str))
    booster = lgb.train(params, lgb.Dataset(x, label=np.asarray(true_effect, dtype=float)), num_boost_round=rounds)
    known = test["action"].astype(str).isin(actions).to_numpy()
    predicted = booster.predict(design(test, features, actions, test["action"].astype(str)))
    return np.where(known, predicted, np.nan)  # an action the older campaigns never tried: unknown
