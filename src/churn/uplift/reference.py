"""The reference: scikit-uplift's classic learners on the same features and contacts.

Each learner is fitted per action, the way the library is used (one treatment at a time),
with the same LightGBM classifier as base model. The evaluation reports the best of them on
the evaluated campaign, which flatters the reference (it is chosen on the test rows), so
matching it is a fair bar.
"""

from __future__ import annotations

import warnings

import lightgbm as lgb
import numpy as np
import pandas as pd

from churn.config import UpliftSettings


def _classifier(settings: UpliftSettings) -> lgb.LGBMClassifier:
    # The library's learners with a usual LightGBM classifier of their own (not tuned to
    # our effect model's settings), seeded like everything else.
    return lgb.LGBMClassifier(
        n_estimators=200,
        learning_rate=0.03,
        num_leaves=15,
        min_child_samples=100,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        random_state=settings.seed,
        deterministic=True,
        force_row_wise=True,
        n_jobs=1,
        verbose=-1,
    )


def _learners(settings: UpliftSettings) -> dict:
    from sklift.models import ClassTransformation, SoloModel, TwoModels

    return {
        "SoloModel": lambda: SoloModel(_classifier(settings)),
        "TwoModels": lambda: TwoModels(_classifier(settings), _classifier(settings), method="vanilla"),
        "TwoModels(ddr_control)": lambda: TwoModels(_classifier(settings), _classifier(settings), method="ddr_control"),
        "ClassTransformation": lambda: ClassTransformation(_classifier(settings)),
    }


def reference_uplift(
    train: pd.DataFrame, test: pd.DataFrame, features: list[str], settings: UpliftSettings
) -> dict[str, np.ndarray]:
    """Per learner, the predicted uplift of each test contact's own action (NaN where that
    action has no treated or no control contacts to learn from)."""
    out = {}
    for name, make in _learners(settings).items():
        uplift = np.full(len(test), np.nan)
        for action, rows in test.groupby("action", sort=True).indices.items():
            past = train[train["action"] == action]
            t = (past["group"] == "treatment").to_numpy(dtype=int)
            if t.sum() == 0 or t.sum() == len(t):
                continue
            learner = make()
            with warnings.catch_warnings():  # the library's own deprecation and feature-name notes
                warnings.simplefilter("ignore")
                learner.fit(past[features].astype(float), past["retained"].to_numpy(dtype=int), t)
                uplift[rows] = learner.predict(test.iloc[rows][features].astype(float))
        out[name] = uplift
    return out
