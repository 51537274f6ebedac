import numpy as np
import pandas as pd
import pytest

from churn.modeling.train import train_model


def toy_snapshots(n=600, seed=0):
    """Three cutoffs; churn is driven by recency, so the model has real signal to find."""
    rng = np.random.default_rng(seed)
    frames = []
    for i, cutoff in enumerate(pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"])):
        recency = rng.exponential(60, n)
        noise = rng.normal(0, 1, n)
        churned = (recency / 60 + 0.5 * rng.normal(0, 1, n) > 1).astype("int8")
        frames.append(pd.DataFrame({"cutoff": cutoff, "recency_days": recency, "noise": noise, "churned": churned}))
    return pd.concat(frames, ignore_index=True)


def test_training_is_deterministic_and_finds_signal(params):
    snaps = toy_snapshots()
    a = train_model(snaps, ["recency_days", "noise"], params.train)
    b = train_model(snaps, ["recency_days", "noise"], params.train)
    assert a.booster.model_to_string() == b.booster.model_to_string()
    gain = dict(zip(a.booster.feature_name(), a.booster.feature_importance("gain")))
    assert gain["recency_days"] > 5 * gain["noise"]
    assert a.validation_cutoff == pd.Timestamp("2024-03-01")  # newest cutoff validates
    assert 1 <= a.best_iteration <= params.train.n_estimators


def test_one_cutoff_is_refused(params):
    snaps = toy_snapshots()
    with pytest.raises(ValueError, match="two cutoffs"):
        train_model(snaps[snaps["cutoff"] == snaps["cutoff"].min()], ["recency_days"], params.train)
