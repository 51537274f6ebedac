"""Every closed campaign replayed, each by rules learnt from the campaigns before it.

    python benchmarks/uplift_backtest.py        (after `make run`, on the built-in world)

`churn uplift` judges the targeting rules on the newest closed campaign only, and one
campaign's estimate is noisy. This runs the same study (churn.uplift.study.uplift_study)
once per closed campaign that has an older one to learn from, and prints, per campaign and
summed over them, the customers each rule kept: estimated by inverse propensity weighting
(as a user without the ground truth sees it) and, on the built-in world, truly. On a
project without data/truth/ it prints the estimates of uplift and risk targeting only.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from churn import io, layout
from churn.config import load_params
from churn.inputs import model as model_input
from churn.uplift.study import uplift_study

ROOT = Path(__file__).resolve().parents[1]
RULES_WITH_TRUTH = ("uplift", "risk", "ceiling", "oracle")
Z95 = 1.959964


def main() -> None:
    params = load_params(ROOT / "params.yaml")
    features = model_input.local_model(ROOT).features
    outcomes = pd.read_parquet(ROOT / layout.CAMPAIGN_OUTCOMES)
    truth, rules = None, RULES_WITH_TRUTH[:2]  # without the ground truth: the estimates only
    if (ROOT / layout.CAMPAIGN_TRUTH).is_file():
        truth = io.read_table(ROOT / layout.CAMPAIGN_TRUTH, ("campaign", "customer_id", "kind"))
        truth, rules = truth[["campaign", "customer_id", "true_effect", "kind"]], RULES_WITH_TRUTH
    order = outcomes.sort_values("cutoff", kind="stable")["campaign"].drop_duplicates().tolist()
    rows, total = [], {r: [0.0, 0.0, 0.0] for r in rules}  # IPW, its variance, truth
    for k in range(2, len(order) + 1):
        study = uplift_study(outcomes[outcomes["campaign"].isin(order[:k])], features, params, truth)
        policies = study.summary["evaluation"]["policies"]
        cells = []
        for rule in rules:
            r = policies[rule]
            half = 0.0 if r["ci_low"] is None else (r["ci_high"] - r["ci_low"]) / 2
            true = r.get("true_incremental_customers")
            total[rule][0] += r["incremental_customers"]
            total[rule][1] += (half / Z95) ** 2
            total[rule][2] += true or 0.0
            cells.append(f"{r['incremental_customers']:+.1f}" + ("" if true is None else f" / {true:+.1f}"))
        rows.append((order[k - 1], cells))
    shown = " / truly" if truth is not None else ""
    print(f"\nbudget {params.actions.budget:,.0f} per campaign; customers kept\n")
    print("| campaign replayed | " + " | ".join(f"{r}: IPW{shown}" for r in rules) + " |")
    print("|---|" + "---:|" * len(rules))
    for name, cells in rows:
        print(f"| {name} | " + " | ".join(cells) + " |")
    summed = [
        f"{ipw:+.1f} (±{Z95 * math.sqrt(var):.0f})" + ("" if truth is None else f" / {true:+.1f}")
        for ipw, var, true in total.values()
    ]
    print(f"| sum of {len(rows)} | " + " | ".join(summed) + " |")
    oracle = total["oracle"][2] if "oracle" in total else 0.0
    if oracle > 0:
        shares = ", ".join(f"{r} {total[r][2] / oracle:.1%}" for r in rules)
        print(f"\nshare of the oracle's true gain over all of them: {shares}")


if __name__ == "__main__":
    main()
