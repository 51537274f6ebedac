"""The headline numbers and output locations, printed after `make run`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from churn import io, layout


def summarise(root: Path) -> str:
    metrics = io.read_json(root / layout.METRICS)
    scores = pd.read_parquet(root / layout.SCORES_PARQUET)
    m, base = metrics["model"], metrics["baselines"]["recency"]
    tiers = scores["risk_tier"].value_counts()
    actions = scores["recommended_action"].value_counts()
    lines = [
        f"Out-of-time test (cutoff {metrics['test_cutoff']}, {metrics['test_customers']} customers, "
        f"churn rate {metrics['test_churn_rate']:.1%}):",
        f"  model    ROC-AUC {m['roc_auc']:.3f}  PR-AUC {m['pr_auc']:.3f}  Brier {m['brier']:.3f}",
        f"  recency  ROC-AUC {base['roc_auc']:.3f}  PR-AUC {base['pr_auc']:.3f}",
        f"Scored {len(scores)} active customers as of {scores['as_of'].iloc[0]}: "
        + ", ".join(f"{t} {int(tiers.get(t, 0))}" for t in ("high", "medium", "low")),
        "  actions: " + ", ".join(f"{a} {int(n)}" for a, n in actions.items()),
        "Outputs:",
        f"  scores   {layout.SCORES_CSV} (and .parquet)",
        f"  metrics  {layout.METRICS}, plots {layout.PLOTS}/, figures {layout.FIGURES}/",
        f"  model    {layout.MODEL}; MLflow runs in mlflow.db (make ui)",
    ]
    return "\n".join(lines)
