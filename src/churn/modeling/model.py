"""The churn model as scored: BG/NBD prior + LightGBM corrections -> calibrator.

    log-odds = logit(P_bgnbd(no purchase in horizon)) + offset + booster margin   (prior: bgnbd)
    log-odds = offset + booster margin                                             (prior: none)
    raw      = sigmoid(log-odds)
    churn probability = calibrator(raw)

`offset` is log(non-churners / churners) in the training rows under class_weight:
balanced (0 otherwise): the trees grow on balanced class weights, where the best
constant log-odds moves by exactly that much, so they start from the right place; the
calibrator maps the raw (class-weighted) probability back to a true one.

With the BG/NBD prior the trees start from the textbook model's answer and learn only
what the features add to it, so the model extrapolates in time (tenure, recency beyond
the training range) as BG/NBD does instead of flattening out as trees do. The prior's
four parameters are fitted once at training time and stored with the model, so scoring
needs no refit and any batch of customers gets the same answer.

Serialised as the LightGBM text model (models/model.txt) and plain JSON (the `model`
section of models/model.json): no pickles, byte-identical for the same data and params.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import expit, logit

from churn.modeling import bgnbd
from churn.modeling.calibrate import Calibrator

PRIOR_FEATURES = ("active_days", "tenure_days", "recency_days")
PREDICT_THREADS = min(os.cpu_count() or 1, 8)
PRIOR_INPUT = "purchase_pattern"  # the prior's pull, named as a reason names it
# What a model says about the setup it was trained for (models/model.json): scoring checks
# the horizon, and every scores file names the data it learnt from.
CARD_KEYS = ("horizon_days", "data", "validation_cutoff", "model_sha256")


@dataclass(frozen=True)
class Prior:
    """BG/NBD parameters (days) and the horizon they predict over."""

    params: bgnbd.BgNbdParams
    horizon_days: int

    def log_odds(self, frame: pd.DataFrame) -> np.ndarray:
        p = bgnbd.churn_probability(self.params, self.horizon_days, frame)
        return logit(np.clip(p, 1e-6, 1 - 1e-6))

    def to_dict(self) -> dict:
        return {"kind": "bgnbd", "horizon_days": self.horizon_days, **self.params.as_dict()}

    @classmethod
    def from_dict(cls, data: dict | None) -> Prior | None:
        if not data:
            return None
        if data.get("kind") != "bgnbd":
            raise ValueError(f"unknown prior {data.get('kind')!r}")
        params = bgnbd.BgNbdParams(*(float(data[k]) for k in ("r", "alpha", "a", "b")))
        return cls(params, int(data["horizon_days"]))


def init_log_odds(prior: Prior | None, offset: float, frame: pd.DataFrame) -> np.ndarray:
    """Where the trees start for each row: the prior's log-odds (or 0) plus the offset."""
    base = np.zeros(len(frame)) if prior is None else prior.log_odds(frame)
    return base + offset


@dataclass(frozen=True)
class ChurnModel:
    booster: lgb.Booster
    calibrator: Calibrator
    features: list[str]
    prior: Prior | None = None
    offset: float = 0.0
    card: dict = field(default_factory=dict)  # CARD_KEYS from the training stage; empty for a bare model

    def raw_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Uncalibrated probability: prior and trees, before the calibrator."""
        missing = [c for c in self.features if c not in frame.columns]
        if missing:
            raise ValueError(f"missing model inputs: {', '.join(missing)}")
        # Rows are scored independently, so more threads give the same numbers sooner.
        margin = self.booster.predict(frame[self.features], raw_score=True, num_threads=PREDICT_THREADS)
        return expit(margin + init_log_odds(self.prior, self.offset, frame))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of churning within the horizon, one per row of `frame`."""
        return self.calibrator.transform(self.raw_proba(frame))

    def contributions(self, frame: pd.DataFrame, chunk_rows: int = 200_000) -> tuple[np.ndarray, pd.DataFrame]:
        """Each input's additive share of the log-odds, per row of `frame`, and the values it rests on.

        The trees' shares are LightGBM's exact TreeSHAP values (pred_contrib). With the BG/NBD
        prior, its log-odds against their mean over `frame` is one more input,
        `purchase_pattern` (valued as the prior's own churn probability), placed before the
        expected value in the last column. Returns (rows, inputs + 1) and the values frame
        whose columns name the inputs.
        """
        features = list(self.features)
        values = frame[features].copy()
        prior = None if self.prior is None else self.prior.log_odds(frame)
        parts = []
        for start in range(0, len(frame), chunk_rows):
            chunk = frame.iloc[start : start + chunk_rows]
            contrib = self.booster.predict(chunk[features], pred_contrib=True, num_threads=PREDICT_THREADS)
            if prior is not None:
                pull = prior[start : start + chunk_rows] - prior.mean()
                contrib = np.column_stack([contrib[:, :-1], pull, contrib[:, -1]])
            parts.append(contrib)
        if prior is not None:
            values[PRIOR_INPUT] = expit(prior)
        width = len(values.columns) + 1
        return (np.vstack(parts) if parts else np.empty((0, width))), values

    def to_dict(self) -> dict:
        """Everything but the trees, as JSON-ready data."""
        return {
            "features": list(self.features),
            "calibration": self.calibrator.to_dict(),
            "prior": None if self.prior is None else self.prior.to_dict(),
            "offset": self.offset,
        }

    @classmethod
    def from_parts(cls, booster_text: str, data: dict) -> ChurnModel:
        """Rebuild from the LightGBM text model and `to_dict()` output."""
        return cls(
            booster=lgb.Booster(model_str=booster_text),
            calibrator=Calibrator.from_dict(data["calibration"]),
            features=list(data["features"]),
            prior=Prior.from_dict(data.get("prior")),
            offset=float(data.get("offset", 0.0)),
            card={k: data[k] for k in CARD_KEYS if k in data},
        )
