"""Per-customer, per-action uplift learnt from past campaigns with control groups.

A DR-learner (Kennedy 2023, "Towards optimal doubly robust estimation of heterogeneous
causal effects") on LightGBM, cross-fitted:

1. An outcome model mu(x, action, treated) predicts `retained` (a purchase in the outcome
   window); it is fitted on the other folds only.
2. Each contact's pseudo-outcome
       psi = mu1 - mu0 + t (y - mu1) / e - (1 - t) (y - mu0) / (1 - e)
   where e is the campaign's treatment share (randomised, so known by design). Its mean
   given x is the true uplift even where mu is wrong.
3. The effect model tau(x, action) regresses psi on the features and the action.
4. Calibration: psi regressed on the out-of-fold tau (intercept and slope). Noisy
   predictions are shrunk towards the mean by the slope, so the plan does not chase
   uplift that is only noise, and the uplift keeps its unit (retention points).

Folds are drawn per customer (a stable hash), so a customer's own outcome, in any
campaign, never enters their own out-of-fold prediction. One learner covers every action
with the action as a feature: actions share what they have in common (e.g. content
customers dislike any contact), and each still gets its own effect per customer. On the
built-in world one learner per action had about half the correlation with the true
effects (docs/uplift.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

from churn.config import UpliftSettings
from churn.modeling.bgnbd import significant

ACTION_PREFIX = "action="  # the one-hot action columns the effect model sees
TREATED = "treated"


def customer_folds(customer_ids: pd.Series, folds: int) -> np.ndarray:
    """A fold per customer, stable across runs, campaigns and machines."""
    ids = customer_ids.astype("string").fillna("").to_numpy()
    return np.array([int(hashlib.sha256(i.encode()).hexdigest()[:8], 16) % folds for i in ids], dtype=np.int64)


def treatment_share(contacts: pd.DataFrame) -> np.ndarray:
    """e per contact: the treatment share of its campaign (the randomisation unit)."""
    treated = (contacts["group"] == "treatment").astype(float)
    return treated.groupby(contacts["campaign"].to_numpy()).transform("mean").to_numpy()


def design(frame: pd.DataFrame, features: list[str], actions: list[str], action: pd.Series | str) -> pd.DataFrame:
    """The effect model's inputs: the features and the action one-hot."""
    x = frame[features].astype("float64").reset_index(drop=True)
    named = pd.Series(action, index=x.index) if isinstance(action, str) else action.reset_index(drop=True)
    for name in actions:
        x[ACTION_PREFIX + name] = (named == name).to_numpy(dtype="float64")
    return x


def booster_params(settings: UpliftSettings, objective: str, leaves: int, min_child: int) -> dict:
    # deterministic, and a fixed thread count: the same data gives byte-identical trees on any machine.
    return {
        "objective": objective,
        "num_leaves": leaves,
        "learning_rate": settings.learning_rate,
        "min_data_in_leaf": min_child,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "feature_fraction": 0.8,
        "seed": settings.seed,
        "deterministic": True,
        "force_row_wise": True,
        "max_bin": 63,  # effects are coarse: fewer histogram bins, same splits in practice, faster
        "num_threads": 2,  # not the machine's count: the number of threads changes the sums
        "verbosity": -1,
    }


def _fit(x: pd.DataFrame, y: np.ndarray, params: dict, rounds: int) -> lgb.Booster:
    return lgb.train(params, lgb.Dataset(x, label=y, free_raw_data=True), num_boost_round=rounds)


@dataclass(frozen=True)
class UpliftFit:
    model: UpliftModel
    out_of_fold: np.ndarray  # each contact's uplift (before calibration) from models that never saw its fold
    pseudo_outcome: np.ndarray


@dataclass(frozen=True)
class UpliftModel:
    booster: lgb.Booster
    features: list[str]
    actions: list[str]
    intercept: float
    slope: float
    card: dict  # what it was trained on (campaigns, rows, horizon)

    def predict(self, frame: pd.DataFrame, action: pd.Series | str) -> np.ndarray:
        """Incremental retention (points of probability) of `action` for each row."""
        raw = self.booster.predict(design(frame, self.features, self.actions, action))
        return self.intercept + self.slope * raw

    def predict_all(self, frame: pd.DataFrame) -> np.ndarray:
        """(rows, actions): the uplift of every action this model knows, for each row."""
        if frame.empty:
            return np.empty((0, len(self.actions)))
        return np.column_stack([self.predict(frame, a) for a in self.actions])

    def contributions(self, frame: pd.DataFrame, action: str) -> np.ndarray:
        """Each feature's additive share of the predicted uplift of `action` (exact TreeSHAP,
        scaled by the calibration slope); (rows, features), the action columns left out."""
        x = design(frame, self.features, self.actions, action)
        contrib = self.booster.predict(x, pred_contrib=True)
        return self.slope * contrib[:, : len(self.features)]

    def to_dict(self) -> dict:
        return {
            "features": self.features,
            "actions": self.actions,
            "intercept": self.intercept,
            "slope": self.slope,
            **self.card,
        }

    @classmethod
    def from_parts(cls, booster_text: str, data: dict) -> UpliftModel:
        card = {k: v for k, v in data.items() if k not in ("features", "actions", "intercept", "slope")}
        return cls(
            lgb.Booster(model_str=booster_text),
            list(data["features"]),
            list(data["actions"]),
            float(data["intercept"]),
            float(data["slope"]),
            card,
        )


def fit_uplift(contacts: pd.DataFrame, features: list[str], settings: UpliftSettings) -> UpliftFit:
    """Learn uplift from campaign contacts.

    contacts: one row per customer and campaign with `customer_id`, `campaign`, `group`
    (treatment | control), `action` (given, or held back for control), `retained` (0/1)
    and the `features` as of the campaign day.
    """
    actions = sorted(contacts["action"].astype(str).unique())
    treated = (contacts["group"] == "treatment").to_numpy()
    y = contacts["retained"].to_numpy(dtype="float64")
    e = np.clip(treatment_share(contacts), 0.01, 0.99)
    x = design(contacts, features, actions, contacts["action"].astype(str))
    fold = customer_folds(contacts["customer_id"], settings.folds)
    # The outcome model predicts the level of retention, a richer function than the
    # difference the effect model learns: twice the leaves and trees, half the leaf size.
    outcome = booster_params(settings, "binary", settings.num_leaves * 2 + 1, settings.min_child_samples // 2)
    effect = booster_params(settings, "regression", settings.num_leaves, settings.min_child_samples)

    def outcome_model(without: tuple[int, ...]):
        rows = ~np.isin(fold, without)
        return _fit(
            x[rows].assign(**{TREATED: treated[rows].astype(float)}), y[rows], outcome, 2 * settings.n_estimators
        )

    def psi_of(rows: np.ndarray, mu) -> np.ndarray:
        mu1 = mu.predict(x[rows].assign(**{TREATED: 1.0}))
        mu0 = mu.predict(x[rows].assign(**{TREATED: 0.0}))
        t, yy, ee = treated[rows], y[rows], e[rows]
        return mu1 - mu0 + t * (yy - mu1) / ee - (~t) * (yy - mu0) / (1 - ee)

    ks = np.unique(fold)
    psi = np.zeros(len(contacts))
    for k in ks:  # cross-fitted: fold k's pseudo-outcomes from a model fitted without fold k
        psi[fold == k] = psi_of(fold == k, outcome_model((k,)))
    # Out of fold, nested: fold k's uplift comes from an effect model fitted on the other
    # folds' pseudo-outcomes, each built by an outcome model that saw neither that fold nor
    # fold k. So no outcome of fold k reaches its prediction in any way. One outcome model
    # per pair of folds serves both folds of the pair.
    inner = {}
    for i, a in enumerate(ks):
        for b in ks[i + 1 :]:
            mu = outcome_model((a, b))
            inner[(a, b)], inner[(b, a)] = psi_of(fold == b, mu), psi_of(fold == a, mu)
    out_of_fold = np.zeros(len(contacts))
    for k in ks:
        rest = fold != k
        if not rest.any():
            continue
        target = np.zeros(len(contacts))
        for j in ks[ks != k]:
            target[fold == j] = inner[(k, j)]
        model = _fit(x[rest], target[rest], effect, settings.n_estimators)
        out_of_fold[fold == k] = model.predict(x[fold == k])
    slope, intercept = _calibration(out_of_fold, psi)
    booster = _fit(x, psi, effect, settings.n_estimators)
    card = {
        "campaigns": sorted(contacts["campaign"].astype(str).unique()),
        "rows": int(len(contacts)),
        "learner": "DR-learner on LightGBM, cross-fitted by customer",
    }
    model = UpliftModel(booster, list(features), actions, intercept, slope, card)
    return UpliftFit(model, out_of_fold, psi)


def _calibration(prediction: np.ndarray, psi: np.ndarray) -> tuple[float, float]:
    """Least-squares slope and intercept of psi on the prediction; slope kept in [0, 1] (a
    negative slope means no usable signal: every customer then gets the mean effect)."""
    # numpy's own sums, not np.cov (a BLAS dot product whose last bits depend on the CPU's
    # kernel), and 6 significant digits kept, as for the BG/NBD parameters: the same on any machine.
    centred = prediction - prediction.mean()
    spread = float((centred * centred).mean())
    if spread <= 1e-12:
        return 0.0, significant(float(psi.mean()))
    slope = significant(float(np.clip((centred * (psi - psi.mean())).mean() / spread, 0.0, 1.0)))
    return slope, significant(float(psi.mean() - slope * prediction.mean()))
