"""Probability calibration: raw model probability -> calibrated churn probability.

The booster's raw probabilities are not trusted as probabilities: class weighting shifts
them on purpose and boosting tends to be over-confident. A calibrator maps raw probability
-> calibrated probability and is fitted on a cutoff the booster that produced the raw
scores did not train on (see modeling/train.py):

- isotonic: a monotone step function (pool adjacent violators), interpolated linearly
  between its knots, as scikit-learn's IsotonicRegression predicts. Flexible; it may tie
  customers whose raw scores fall in one step, which costs a little ranking (ROC-AUC).
- platt: a logistic curve on the raw log-odds, p = sigmoid(A * logit(raw) + B). Two
  parameters, strictly monotone, so the ranking (ROC-AUC) is unchanged as long as A > 0.
  A fitted A <= 0 says the raw scores rank the held-out customers backwards (or not at
  all); applying it would reverse the model's ranking, so it is refused and isotonic
  (never decreasing) is fitted instead, with a note saying so.
- none: raw probabilities as they are.

A calibrator is plain numbers (knots or A, B), stored as JSON next to the model, so the
same data gives the same bytes and the calibrated model loads without pickles.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import optimize
from scipy.special import expit, logit
from sklearn.isotonic import IsotonicRegression

Method = Literal["isotonic", "platt", "none"]
Setting = Literal["auto", "isotonic", "platt", "none"]

# Calibrated probabilities stay inside [EPS, 1 - EPS]: an isotonic step fitted on a few
# thousand customers cannot justify a churn probability of exactly 0 or 1.
EPS = 1e-3


@dataclass(frozen=True)
class Calibrator:
    """raw probability -> calibrated probability."""

    method: Method
    knots_x: tuple[float, ...] = ()  # isotonic: raw probabilities at the knots, ascending
    knots_y: tuple[float, ...] = ()  # isotonic: calibrated probabilities at the knots
    slope: float = 1.0  # platt: A
    intercept: float = 0.0  # platt: B
    fitted_on: dict = field(default_factory=dict)  # what it was fitted on (rows, cutoff, churn rate)
    note: str = ""  # why the method differs from the one asked for, if it does

    def transform(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype=float)
        if self.method == "none":
            return raw
        if self.method == "isotonic":
            out = np.interp(raw, np.asarray(self.knots_x), np.asarray(self.knots_y))
        else:
            out = expit(self.slope * _logit(raw) + self.intercept)
        return np.clip(out, EPS, 1 - EPS)

    def to_dict(self) -> dict:
        out: dict = {"method": self.method, "fitted_on": self.fitted_on}
        if self.note:
            out["note"] = self.note
        if self.method == "isotonic":
            out["knots_x"], out["knots_y"] = list(self.knots_x), list(self.knots_y)
        elif self.method == "platt":
            out["slope"], out["intercept"] = self.slope, self.intercept
        return out

    @classmethod
    def from_dict(cls, data: dict) -> Calibrator:
        method = data["method"]
        if method not in ("isotonic", "platt", "none"):
            raise ValueError(f"unknown calibration method {method!r}")
        return cls(
            method=method,
            knots_x=tuple(float(v) for v in data.get("knots_x", ())),
            knots_y=tuple(float(v) for v in data.get("knots_y", ())),
            slope=float(data.get("slope", 1.0)),
            intercept=float(data.get("intercept", 0.0)),
            fitted_on=dict(data.get("fitted_on", {})),
            note=str(data.get("note", "")),
        )


def _logit(p: np.ndarray) -> np.ndarray:
    return logit(np.clip(p, 1e-12, 1 - 1e-12))


def _platt(raw: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood (A, B) of y ~ sigmoid(A * logit(raw) + B)."""
    z = _logit(raw)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        s = theta[0] * z + theta[1]
        # log(1 + e^s) - y * s, the Bernoulli negative log-likelihood, stably
        nll = np.logaddexp(0.0, s) - y * s
        resid = expit(s) - y
        return float(nll.mean()), np.array([np.mean(resid * z), np.mean(resid)])

    result = optimize.minimize(loss, np.array([1.0, 0.0]), jac=True, method="BFGS", options={"gtol": 1e-10})
    return float(result.x[0]), float(result.x[1])


def fit_calibrator(raw: np.ndarray, y: np.ndarray, method: Method, fitted_on: dict | None = None) -> Calibrator:
    """Fit `method` on raw probabilities `raw` and 0/1 outcomes `y` of held-out customers."""
    raw = np.asarray(raw, dtype=float)
    y = np.asarray(y, dtype=float)
    if raw.shape != y.shape or raw.size == 0:
        raise ValueError("calibration needs one outcome per raw probability, and at least one")
    if method != "none" and len(np.unique(y)) < 2:
        raise ValueError("calibration data hold only one class: every customer churned or none did")
    info = dict(fitted_on or {})
    if method == "none":
        return Calibrator("none", fitted_on=info)
    if method == "isotonic":
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(raw, y)
        return Calibrator(
            "isotonic",
            knots_x=tuple(float(v) for v in iso.X_thresholds_),
            knots_y=tuple(float(v) for v in iso.y_thresholds_),
            fitted_on=info,
        )
    if method == "platt":
        slope, intercept = _platt(raw, y)
        if slope > 0:
            return Calibrator("platt", slope=slope, intercept=intercept, fitted_on=info)
        fallback = fit_calibrator(raw, y, "isotonic", info)
        note = (
            f"platt refused: its fitted slope {slope:.4f} is not positive, so it would reverse the "
            "model's ranking (the raw scores do not rank held-out customers the right way round); "
            "isotonic fitted instead"
        )
        return dataclasses.replace(fallback, note=note)
    raise ValueError(f"unknown calibration method {method!r} (isotonic, platt or none)")


def calibration_facts(calibrator: Calibrator) -> dict:
    """What metrics.json says about the calibration: the method used and any note."""
    out: dict = {"method": calibrator.method}
    if calibrator.note:
        out["note"] = calibrator.note
    return out


def chosen_method(setting: Setting, class_weight: str) -> tuple[Method, str]:
    """The calibration to fit for `train.calibration` and why, in words, for `auto`.

    auto: platt when class_weight is balanced (the weights shift the raw probabilities on
    purpose), else none: a booster fitted by log loss on the true class mix, starting from
    the BG/NBD prior, is calibrated where it was trained, and a calibrator fitted one
    horizon back carries that cutoff's churn level forward. Measured out of time (ECE),
    platt -> none: built-in world 0.018 -> 0.009; CDNOW at 60/90/120 days 0.051 -> 0.025,
    0.012 -> 0.017, 0.022 -> 0.020 (benchmarks/real_data.py)."""
    if setting != "auto":
        return setting, ""
    if class_weight == "balanced":
        return "platt", "auto chose platt: class_weight balanced shifts the raw probabilities"
    return "none", "auto chose none: without class weights the booster's probabilities are used as they are"
