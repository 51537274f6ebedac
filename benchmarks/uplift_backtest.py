"""Every closed campaign replayed, each by rules learnt from the campaigns before it.

    python benchmarks/uplift_backtest.py        (after `make run`, on the built-in world)

`churn uplift` backtests the last `uplift.backtest_campaigns` closed campaigns. This runs
the same study (churn.uplift.study.uplift_study) with that depth raised to every closed
campaign that has an older one to learn from, and prints, per campaign and summed, the
customers each rule kept: estimated by inverse propensity weighting (as a user without the
ground truth sees it) and, on the built-in world, truly. On a project without data/truth/
it prints the estimates of uplift and risk targeting only.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from churn import io, layout
from churn.config import load_params
from churn.inputs import model as model_input
from churn.uplift.study import uplift_study

ROOT = Path(__file__).resolve().parents[1]
RULES_WITH_TRUTH = ("uplift", "risk", "ceiling", "oracle")


def main() -> None:
    params = load_params(ROOT / "params.yaml")
    outcomes = pd.read_parquet(ROOT / layout.CAMPAIGN_OUTCOMES)
    every = params.uplift.model_copy(update={"backtest_campaigns": outcomes["campaign"].nunique()})
    truth, rules = None, RULES_WITH_TRUTH[:2]  # without the ground truth: the estimates only
    if (ROOT / layout.CAMPAIGN_TRUTH).is_file():
        truth = io.read_table(ROOT / layout.CAMPAIGN_TRUTH, ("campaign", "customer_id", "kind"))
        truth, rules = truth[["campaign", "customer_id", "true_effect", "kind"]], RULES_WITH_TRUTH
    features = model_input.local_model(ROOT).features
    study = uplift_study(outcomes, features, params.model_copy(update={"uplift": every}), truth)
    backtest = study.summary["evaluation"]["backtest"]
    summed = {rule: backtest["policies"][rule] for rule in rules}

    def cell(r: dict, campaign: str | None = None) -> str:
        if campaign is None:
            kept = f"{r['incremental_customers']:+.1f} ({r['ci_low']:+.0f} to {r['ci_high']:+.0f})"
            true = r.get("true_incremental_customers")
        else:
            kept, true = f"{r['by_campaign'][campaign]:+.1f}", r.get("true_by_campaign", {}).get(campaign)
        return kept + ("" if true is None else f" / {true:+.1f}")

    shown = " / truly" if truth is not None else ""
    print(f"\nbudget {params.actions.budget:,.0f} per campaign; customers kept\n")
    print("| campaign replayed | " + " | ".join(f"{r}: IPW{shown}" for r in rules) + " |")
    print("|---|" + "---:|" * len(rules))
    for campaign in backtest["replayed"]:
        print(f"| {campaign} | " + " | ".join(cell(r, campaign) for r in summed.values()) + " |")
    print(f"| sum of {len(backtest['replayed'])} (95%) | " + " | ".join(cell(r) for r in summed.values()) + " |")
    oracle = summed["oracle"]["true_incremental_customers"] if "oracle" in summed else 0.0
    if oracle > 0:
        shares = ", ".join(f"{rule} {r['true_incremental_customers'] / oracle:.1%}" for rule, r in summed.items())
        print(f"\nshare of the oracle's true gain over all of them: {shares}")


if __name__ == "__main__":
    main()
