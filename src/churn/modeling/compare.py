"""Model against baselines on the same rows, with a 95% bootstrap interval on the difference.

The test snapshot holds each customer once, so resampling rows is resampling customers.
Every replicate draws one set of customers and scores every scorer on it (a paired
bootstrap): the interval is on the difference itself, not two intervals side by side.

A replicate is a vector of multiplicities (how often each customer was drawn); each
scorer's order is sorted once and the metrics are weighted sums over it, so a thousand
replicates cost seconds, not minutes. With unit weights the metrics equal
modeling/evaluate.py's (scikit-learn's ROC-AUC and average precision, ties included).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COMPARED = ("roc_auc", "pr_auc", "top_decile_lift")
BOOTSTRAP_SAMPLES = 1000
BOOTSTRAP_SEED = 20240101  # fixed: the same data give the same intervals
LEVEL = 0.95


@dataclass(frozen=True)
class _Ordered:
    """One scorer's rows sorted riskiest first, with the start of each run of tied scores."""

    order: np.ndarray
    group_starts: np.ndarray


def _ordered(score: np.ndarray) -> _Ordered:
    order = np.argsort(-np.asarray(score, dtype=float), kind="stable")
    s = np.asarray(score, dtype=float)[order]
    starts = np.r_[0, np.flatnonzero(np.diff(s) != 0) + 1]
    return _Ordered(order, starts)


def weighted_metrics(y: np.ndarray, weights: np.ndarray, ordered: _Ordered) -> dict[str, float]:
    """ROC-AUC, PR-AUC (average precision) and top-decile lift of one scorer with per-row
    weights (bootstrap multiplicities). Ties count as if in random order."""
    w = weights[ordered.order].astype(float)
    yy = y[ordered.order].astype(float)
    pos = np.add.reduceat(w * yy, ordered.group_starts)
    neg = np.add.reduceat(w * (1 - yy), ordered.group_starts)
    total_pos, total_neg = pos.sum(), neg.sum()
    if total_pos == 0 or total_neg == 0:
        return dict.fromkeys(COMPARED, float("nan"))
    neg_after = total_neg - np.cumsum(neg)
    roc_auc = float((pos * (neg_after + 0.5 * neg)).sum() / (total_pos * total_neg))
    tp, fp = np.cumsum(pos), np.cumsum(pos + neg)
    precision = np.divide(tp, fp, out=np.zeros_like(tp), where=fp > 0)
    pr_auc = float((pos / total_pos * precision).sum())
    customers = np.r_[0.0, np.cumsum(pos + neg) / (total_pos + total_neg)]
    captured = np.r_[0.0, tp / total_pos]
    lift = float(np.interp(0.1, customers, captured) / 0.1)
    return {"roc_auc": roc_auc, "pr_auc": pr_auc, "top_decile_lift": lift}


def _interval(values: np.ndarray) -> tuple[float, float]:
    values = values[~np.isnan(values)]
    tail = (1 - LEVEL) / 2 * 100
    return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))


def compare(
    y: np.ndarray,
    scores: dict[str, np.ndarray],
    reference: str = "model",
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> dict:
    """`reference` against every other scorer on the same rows.

    Returns {"interval": {metric: [low, high]} of the reference itself, and per other scorer
    {metric: {"difference", "ci_low", "ci_high"}} for reference minus that scorer}, every
    number rounded to 4 digits (the bootstrap's own noise is larger)."""
    y = np.asarray(y, dtype=int)
    ordered = {name: _ordered(s) for name, s in scores.items()}
    unit = np.ones(len(y))
    point = {name: weighted_metrics(y, unit, o) for name, o in ordered.items()}
    rng = np.random.default_rng(seed)
    draws = {name: {m: np.empty(samples) for m in COMPARED} for name in scores}
    for i in range(samples):
        weights = np.bincount(rng.integers(0, len(y), len(y)), minlength=len(y))
        for name, o in ordered.items():
            for metric, value in weighted_metrics(y, weights, o).items():
                draws[name][metric][i] = value
    out: dict = {
        "samples": samples,
        "interval": {m: [round(v, 4) for v in _interval(draws[reference][m])] for m in COMPARED},
        "versus": {},
    }
    for name in scores:
        if name == reference:
            continue
        out["versus"][name] = {}
        for metric in COMPARED:
            low, high = _interval(draws[reference][metric] - draws[name][metric])
            out["versus"][name][metric] = {
                "difference": round(point[reference][metric] - point[name][metric], 4),
                "ci_low": round(low, 4),
                "ci_high": round(high, 4),
            }
    return out


def best_baseline(baselines: dict[str, dict[str, float]]) -> str:
    """The baseline with the highest ROC-AUC (ties: the first listed)."""
    return max(baselines, key=lambda name: baselines[name]["roc_auc"])


def skill_verdict(model_roc_auc: float, comparison: dict, best: str) -> dict:
    """Whether the model has skill worth spending a budget on, and why in words.

    No skill: its ROC-AUC interval reaches down to 0.5 (no better than chance), or it ranks
    worse than the best baseline. Proven lead: the interval of its ROC-AUC minus the best
    baseline's lies above 0 (the condition for becoming champion)."""
    low, high = comparison["interval"]["roc_auc"]
    versus = comparison["versus"][best]["roc_auc"]
    lead = f"ROC-AUC {model_roc_auc:.4f} vs {best} {model_roc_auc - versus['difference']:.4f}"
    interval = f"difference {versus['difference']:+.4f} [{versus['ci_low']:+.4f}, {versus['ci_high']:+.4f}]"
    if low <= 0.5:
        has_skill, reason = False, f"its ROC-AUC interval [{low:.4f}, {high:.4f}] includes 0.5 (chance)"
    elif versus["difference"] < 0:
        has_skill, reason = False, f"it ranks worse than the {best} baseline ({lead}, {interval})"
    else:
        has_skill, reason = True, f"{lead}, {interval}"
    return {
        "has_skill": has_skill,
        "beats_best_baseline": bool(versus["ci_low"] > 0),
        "best_baseline": best,
        "reason": reason,
    }
