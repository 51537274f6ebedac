"""Why this action for this customer, in plain words, from the uplift model's own shares.

`UpliftModel.contributions` splits each predicted uplift into the features' additive shares
(exact TreeSHAP of the effect model). The reason names the expected gain and the features
that raise it most for this customer, worded as the churn reasons are (scoring/reasons.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from churn.scoring.reasons import describe
from churn.uplift.learner import UpliftModel

N_DRIVERS = 2


def uplift_reasons(
    model: UpliftModel, frame: pd.DataFrame, action: pd.Series, uplift: pd.Series, currency: str | None = None
) -> pd.Series:
    """Per row: "expected +3.1 points chance to stay; most from: <driver>; <driver>" for the
    row's `action`, whose predicted `uplift` the plan used."""
    out = pd.Series("", index=frame.index, dtype="string")
    for name, rows in pd.Series(action.to_numpy(), index=frame.index).groupby(action.to_numpy()).indices.items():
        part = frame.iloc[rows]
        contrib = model.contributions(part, str(name))
        order = np.argsort(-contrib, axis=1, kind="stable")[:, :N_DRIVERS]
        texts = []
        for i, (_, row) in enumerate(part.iterrows()):
            drivers = [
                describe(model.features[j], row[model.features[j]], currency) for j in order[i] if contrib[i, j] > 0
            ]
            gain = f"expected +{100 * float(uplift.iloc[rows[i]]):.1f} points chance to stay"
            texts.append(f"{gain}; most from: {'; '.join(drivers)}" if drivers else gain)
        out.iloc[rows] = texts
    return out
