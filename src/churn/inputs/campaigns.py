"""What the campaigns stage measured (reports/campaign_effects.csv), for the plan to learn from."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from churn import io, layout
from churn.campaigns.rates import LearnedRates, learned_rates
from churn.config import Params


def effects(root: Path) -> pd.DataFrame | None:
    """The measured effects table, or None before any campaign was measured."""
    path = root / layout.CAMPAIGN_EFFECTS
    if not path.exists():
        return None
    table = io.read_table(path, ("campaign", "segment_by", "segment", "action"))
    return table if len(table) else None


def rates(root: Path, params: Params) -> LearnedRates | None:
    """The success rates the plan uses: learned from the measured campaigns (shrunk towards the
    playbook's guesses), or None when campaigns.learn is off."""
    if not params.campaigns.learn:
        return None
    guesses = {a.name: a.success_rate for a in params.actions.playbook[:-1]}
    return learned_rates(effects(root), guesses, params.campaigns.prior_weight, params.campaigns.plan_segment)
