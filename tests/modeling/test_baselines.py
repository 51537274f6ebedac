import numpy as np
import pandas as pd
import pytest

from churn.modeling import bgnbd
from churn.modeling.baselines import rfm_baseline, score_baselines
from churn.modeling.evaluate import probability_metrics, ranking_metrics
from tests.modeling.bgnbd_simulation import simulate


def snapshot(n=4000, seed=0):
    """One cutoff of customers drawn from the BG/NBD process, in whole days."""
    rng = np.random.default_rng(seed)
    T = np.floor(rng.uniform(60, 700, n))
    sim = simulate(bgnbd.BgNbdParams(0.5, 20.0, 0.8, 2.5), T, horizon=90, seed=seed)
    t_x = np.floor(sim["t_x"].to_numpy())
    return pd.DataFrame(
        {
            "cutoff": pd.Timestamp("2024-01-01"),
            "customer_id": pd.array([f"{i:05d}" for i in range(n)], dtype="string"),
            "recency_days": T - t_x + 0.5,  # last purchase at noon, (T - t_x) days before the as-of day
            "tenure_days": T + 0.5,
            "active_days": sim["x"].to_numpy() + 1,
            "frequency": sim["x"].to_numpy() + 1,
            "monetary_total": (sim["x"].to_numpy() + 1) * rng.gamma(2, 20, n),
            "churned": (sim["x_future"] == 0).astype(int).to_numpy(),
        }
    )


def test_rfm_baseline_scores_low_rfm_as_risky():
    snap = snapshot()
    score = rfm_baseline(snap)
    assert set(np.unique(score)) <= set(range(1, 14))
    worst = snap["recency_days"].idxmax()
    best = snap["recency_days"].idxmin()
    assert score[worst] > score[best]


def test_every_baseline_beats_chance_and_bgnbd_is_a_probability():
    snap = snapshot()
    out = score_baselines(snap, horizon_days=90)
    y = snap["churned"].to_numpy()
    assert set(out.scores) == {"recency", "rfm_score", "bgnbd"}
    for name, score in out.scores.items():
        assert len(score) == len(snap)
        assert ranking_metrics(y, score)["roc_auc"] > 0.6, name
    assert out.is_probability("bgnbd") and not out.is_probability("recency")
    assert probability_metrics(y, out.scores["bgnbd"])["brier"] < 0.25


def test_one_snapshot_at_a_time():
    two = pd.concat([snapshot(), snapshot().assign(cutoff=pd.Timestamp("2024-02-01"))], ignore_index=True)
    with pytest.raises(ValueError, match="one snapshot"):
        score_baselines(two, 90)
