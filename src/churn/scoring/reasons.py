"""The reasons behind a churn score, in plain words, from the model's own contributions.

`ChurnModel.contributions` gives, per row, each input's additive share of the log-odds
(LightGBM's exact TreeSHAP values, plus the BG/NBD prior's pull). Positive shares raise the
churn risk. The reasons for a customer are the inputs that raise it, strongest first; the
strongest one that lowers it is said apart (`protective_factor`), never as a reason.
Each input reads as its feature module's `PHRASES` entry says (features/phrases.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from churn.features import attributes, behaviour, engagement, rfm, rhythm, season
from churn.features.phrases import Phrase, say
from churn.modeling.model import PRIOR_INPUT, ChurnModel

N_REASONS = 3
PHRASES: dict[str, Phrase] = {
    **rfm.PHRASES,
    **behaviour.PHRASES,
    **rhythm.PHRASES,
    **season.PHRASES,
    **engagement.PHRASES,
    **attributes.PHRASES,
    PRIOR_INPUT: Phrase(
        "their buying rhythm alone gives a {v} chance of no purchase in the horizon", "probability", "frequency"
    ),
}


def describe(feature: str, value, currency: str | None = None) -> str:
    """One input's value in plain words."""
    return say(PHRASES[feature], value, currency)


def driver_of(feature: str) -> str:
    """The kind of problem an input points to (service, engagement, frequency, value, ...)."""
    return PHRASES[feature].driver


def top_reasons(
    contributions: np.ndarray,
    values: pd.DataFrame,
    features: list[str],
    currency: str | None = None,
    n: int = N_REASONS,
) -> pd.DataFrame:
    """reason_1..n, protective_factor and top_driver per row.

    contributions: (rows, features + 1); the last column (the expected value) is ignored.
    reason_k is the k-th largest contribution that raises the risk (empty when fewer do);
    protective_factor the largest that lowers it; top_driver the driver of reason_1
    ("none" when nothing raises the risk).
    """
    contrib = np.asarray(contributions, dtype=float)[:, : len(features)]
    raw = values[features]
    rows = range(len(contrib))
    up = np.argsort(-contrib, axis=1, kind="stable")
    out: dict[str, list[str | None]] = {f"reason_{k + 1}": [None] * len(contrib) for k in range(n)}
    protective: list[str | None] = [None] * len(contrib)
    drivers = ["none"] * len(contrib)
    for r in rows:
        for k in range(min(n, len(features))):
            j = up[r, k]
            if contrib[r, j] <= 0:
                break
            out[f"reason_{k + 1}"][r] = describe(features[j], raw.iat[r, j], currency)
            if k == 0:
                drivers[r] = driver_of(features[j])
        j = up[r, -1] if len(features) else None
        if j is not None and contrib[r, j] < 0:
            protective[r] = describe(features[j], raw.iat[r, j], currency)
    frame = pd.DataFrame(out, index=values.index, dtype="string")
    frame["protective_factor"] = pd.Series(protective, index=values.index, dtype="string")
    frame["top_driver"] = pd.Series(drivers, index=values.index, dtype="string")
    return frame


def explain_rows(model: ChurnModel, rows: pd.DataFrame, currency: str | None = None) -> pd.DataFrame:
    """reason_1..3, protective_factor and top_driver for these rows, from the model's contributions."""
    contributions, values = model.contributions(rows)
    return top_reasons(contributions, values, list(values.columns), currency)
