"""How much the ceiling of the uplift replay depends on its learner's capacity.

    python benchmarks/uplift_ceiling.py        (after `make run`, on the built-in world)

The ceiling (churn/uplift/ceiling.py) is a regression of the older campaigns' true effects
on the campaign-day features, planned by the uplift rule on the newest closed campaign.
This prints, for several capacities, what it truly kept beside the oracle, and the same
regression cross-fitted (five folds by customer) on the newest campaign's own true effects,
which sees that campaign's world but never a contact's own effect. If every row stays far
below the oracle, the oracle's gain is out of reach of learners on these features.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from churn import io, layout
from churn.config import load_params
from churn.inputs import model as model_input
from churn.uplift.ceiling import ceiling_effects
from churn.uplift.evaluate import replay
from churn.uplift.learner import customer_folds
from churn.uplift.study import by_effect, campaign_order, split_at_newest, with_value

ROOT = Path(__file__).resolve().parents[1]
CAPACITIES = [  # leaves, rows a leaf, rounds, learning rate
    (31, 20, 100, 0.1),  # the ceiling's own: LightGBM's defaults
    (4, 800, 100, 0.03),  # the uplift learner's effect model
    (4, 50, 300, 0.03),
    (15, 20, 300, 0.03),
    (31, 20, 600, 0.03),
    (63, 10, 600, 0.03),
]


def main() -> None:
    params = load_params(ROOT / "params.yaml")
    features = model_input.local_model(ROOT).features
    contacts = with_value(pd.read_parquet(ROOT / layout.CAMPAIGN_OUTCOMES).reset_index(drop=True), params)
    truth = io.read_table(ROOT / layout.CAMPAIGN_TRUTH, ("campaign", "customer_id", "kind"))
    campaigns = campaign_order(contacts)
    train, test, train_truth, _ = split_at_newest(
        contacts, campaigns, truth[["campaign", "customer_id", "true_effect"]]
    )
    newest = campaigns[-1]
    effect = test["true_effect"].to_numpy(dtype=float)
    clv, cost = test["model_clv"].to_numpy(dtype=float), test["cost"].to_numpy(dtype=float)

    def kept(predicted: np.ndarray) -> dict:
        return replay(test, by_effect(predicted, clv, cost), params.actions.budget, effect)

    oracle = replay(test, effect * clv - cost, params.actions.budget, effect)
    rows = [("oracle (true effects of the newest campaign)", oracle)]
    for capacity in CAPACITIES:
        predicted = ceiling_effects(train, train_truth, test, features, params.uplift, capacity)
        rows.append((f"older campaigns' truth, {capacity}", kept(predicted)))
    fold = customer_folds(test["customer_id"], 5)
    for capacity in CAPACITIES[:1]:
        predicted = np.zeros(len(test))
        for k in range(5):
            inside = fold == k
            part = ceiling_effects(test[~inside], effect[~inside], test[inside], features, params.uplift, capacity)
            predicted[inside] = part
        rows.append((f"newest campaign's truth, 5 folds, {capacity}", kept(predicted)))

    print(f"\nnewest closed campaign {newest}: {len(test):,} contacts, budget {params.actions.budget:,.0f}\n")
    print(f"| {'rule':<58} | contacted | spent | truly kept | share of oracle |")
    print(f"|{'-' * 60}|----------:|------:|-----------:|----------------:|")
    top = oracle["true_incremental_customers"]
    for name, r in rows:
        share = r["true_incremental_customers"] / top if top > 0 else float("nan")
        print(
            f"| {name:<58} | {r['contacted']:9,} | {r['cost']:5,.0f} | {r['true_incremental_customers']:+10.1f} | {share:15.0%} |"
        )


if __name__ == "__main__":
    main()
