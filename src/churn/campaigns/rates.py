"""Success rates learned from measured campaigns, in place of the guesses in params.

The playbook's `success_rate` is the share of would-be churners an action keeps. A cell
(action, segment) measures incremental retention d on n_treatment customers, whose control
group churned at rate c; the action then kept about d * n_treatment of the c * n_treatment
would-be churners. With a Beta prior centred on the guess s0 and worth `prior_weight`
would-be churners, the learned rate is

    (prior_weight * s0 + d * n_treatment) / (prior_weight + c * n_treatment)

so a few dozen customers barely move the guess and thousands replace it. A cell whose
interval lies below 0 (the action drives those customers away) gets no action at all, and
an action whose interval over all customers lies below 0 is offered to nobody, whatever
the uplift model predicts for single customers: randomised evidence of harm on average
outweighs a model's guess that some are helped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from churn.campaigns.effects import ALL, segment_values


@dataclass(frozen=True)
class LearnedRates:
    """Per action: the rate for all customers and, per value of `segment_by`, the rate there;
    the (action, segment) cells measured as harmful; and a line per rate saying where it comes from."""

    segment_by: str
    overall: dict[str, float]
    by_segment: dict[tuple[str, str], float]
    harmful: frozenset[tuple[str, str]]
    sources: list[dict]

    def rates_for(self, action: str, segments: pd.Series) -> np.ndarray:
        """The rate of `action` for each customer, by their segment value."""
        own = {seg: rate for (a, seg), rate in self.by_segment.items() if a == action}
        rates = segment_values(segments).map(own).astype("float64")
        return rates.fillna(self.overall[action]).to_numpy()

    def harmful_for(self, action: str, segments: pd.Series) -> np.ndarray:
        """True where `action` was measured as harmful: everywhere when it harms customers
        overall, else in the segments where it does."""
        if (action, ALL) in self.harmful:
            return np.ones(len(segments), dtype=bool)
        return segment_values(segments).isin([s for a, s in self.harmful if a == action]).fillna(False).to_numpy(bool)


def learned_rates(
    effects: pd.DataFrame | None, guesses: dict[str, float], prior_weight: float, segment_by: str
) -> LearnedRates:
    """Rates per action (and per segment of `segment_by`) from the pooled effects; the guess
    where an action has not been measured."""
    overall = dict(guesses)
    by_segment: dict[tuple[str, str], float] = {}
    harmful: set[tuple[str, str]] = set()
    sources = []
    pooled = pd.DataFrame() if effects is None or effects.empty else effects[effects["campaign"] == ALL]
    for action, guess in guesses.items():
        cells = pooled[(pooled["action"] == action)] if not pooled.empty else pooled
        measured = False
        for _, cell in cells.iterrows() if not cells.empty else []:
            if cell["segment_by"] not in (ALL, segment_by) or cell["verdict"] in ("not measurable", "too few to tell"):
                continue
            rate = _posterior(cell, guess, prior_weight)
            if cell["segment_by"] == ALL:
                overall[action], measured = rate, True
                if cell["verdict"] == "harms":  # harms customers on average: offered to nobody
                    harmful.add((action, ALL))
                sources.append(_source(action, ALL, rate, guess, cell, harmful=cell["verdict"] == "harms"))
            else:
                by_segment[(action, str(cell["segment"]))] = rate
                if cell["verdict"] == "harms":
                    harmful.add((action, str(cell["segment"])))
                    sources.append(_source(action, str(cell["segment"]), rate, guess, cell, harmful=True))
        if not measured:
            sources.append({"action": action, "segment": ALL, "rate": guess, "source": "guess (params.yaml)"})
    return LearnedRates(segment_by, overall, by_segment, frozenset(harmful), sources)


def _posterior(cell: pd.Series, guess: float, prior_weight: float) -> float:
    churned = 1.0 - float(cell["retention_control"])
    kept = float(cell["incremental_retention"]) * float(cell["n_treatment"])
    at_risk = churned * float(cell["n_treatment"])
    return float(np.clip((prior_weight * guess + kept) / (prior_weight + at_risk), 0.0, 1.0))


def _source(action: str, segment: str, rate: float, guess: float, cell: pd.Series, harmful: bool = False) -> dict:
    return {
        "action": action,
        "segment": segment,
        "rate": round(rate, 4),
        "guess": guess,
        "source": (
            "measured: harmful for all customers, never offered"
            if segment == ALL
            else "measured: harmful here, never offered"
        )
        if harmful
        else "measured",
        "n_treatment": int(cell["n_treatment"]),
        "n_control": int(cell["n_control"]),
        "incremental_retention": float(cell["incremental_retention"]),
        "interval": [float(cell["ci_low"]), float(cell["ci_high"])],
    }
