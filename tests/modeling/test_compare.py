"""Model minus baseline on the same rows, with a paired bootstrap interval, and the skill verdict."""

import numpy as np
import pytest

from churn.modeling import evaluate as ev
from churn.modeling.compare import _ordered, best_baseline, compare, skill_verdict, weighted_metrics


def _data(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    good = np.round(rng.random(n) + 0.6 * y, 2)  # ties on purpose
    weak = np.round(rng.random(n) + 0.2 * y, 1)
    return y, good, weak, rng.random(n)


def test_unit_weights_give_scikit_learns_metrics_ties_included():
    y, good, weak, _ = _data()
    for score in (good, weak, np.zeros(len(y))):
        mine = weighted_metrics(y, np.ones(len(y)), _ordered(score))
        theirs = ev.ranking_metrics(y, score)
        for metric in ("roc_auc", "pr_auc", "top_decile_lift"):
            assert mine[metric] == pytest.approx(theirs[metric], abs=1e-12)


def test_integer_weights_equal_repeating_the_rows():
    y, good, _, _ = _data(n=500)
    weights = np.random.default_rng(3).integers(0, 4, len(y))
    repeated = np.repeat(np.arange(len(y)), weights)
    mine = weighted_metrics(y, weights, _ordered(good))
    theirs = ev.ranking_metrics(y[repeated], good[repeated])
    assert mine["roc_auc"] == pytest.approx(theirs["roc_auc"], abs=1e-12)
    assert mine["pr_auc"] == pytest.approx(theirs["pr_auc"], abs=1e-12)


def test_the_interval_covers_a_real_lead_and_straddles_zero_for_a_copy():
    y, good, weak, _ = _data()
    result = compare(y, {"model": good, "weak": weak, "same": good.copy()})
    lead = result["versus"]["weak"]["roc_auc"]
    assert lead["ci_low"] > 0 and lead["ci_low"] < lead["difference"] < lead["ci_high"]
    same = result["versus"]["same"]
    assert all(cell["difference"] == 0 and cell["ci_low"] == 0 == cell["ci_high"] for cell in same.values())
    low, high = result["interval"]["roc_auc"]
    assert low < ev.ranking_metrics(y, good)["roc_auc"] < high


def test_the_bootstrap_is_repeatable():
    y, good, weak, _ = _data(n=1000)
    assert compare(y, {"model": good, "weak": weak}) == compare(y, {"model": good, "weak": weak})


def _verdict(model, others):
    y = others.pop("y")
    scores = {"model": model, **others}
    metrics = {name: ev.ranking_metrics(y, s) for name, s in others.items()}
    best = best_baseline(metrics)
    return skill_verdict(ev.ranking_metrics(y, model)["roc_auc"], compare(y, scores), best)


def test_a_model_at_chance_has_no_skill_and_says_why():
    y, _, weak, noise = _data()
    verdict = _verdict(noise, {"y": y, "recency": weak})
    assert not verdict["has_skill"] and not verdict["beats_best_baseline"]
    assert "includes 0.5 (chance)" in verdict["reason"]


def test_a_model_below_the_best_baseline_has_no_skill():
    y, good, weak, _ = _data()
    verdict = _verdict(weak, {"y": y, "bgnbd": good, "recency": weak * 0})
    assert verdict["best_baseline"] == "bgnbd"
    assert not verdict["has_skill"]
    assert verdict["reason"].startswith("it ranks worse than the bgnbd baseline (ROC-AUC")


def test_a_model_ahead_of_every_baseline_has_skill_and_beats_the_best():
    y, good, weak, _ = _data()
    verdict = _verdict(good, {"y": y, "bgnbd": weak})
    assert verdict["has_skill"] and verdict["beats_best_baseline"]
    assert "difference +" in verdict["reason"]
