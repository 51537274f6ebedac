import json

import numpy as np
import pandas as pd
import pytest

from churn.modeling.model import ChurnModel
from churn.modeling.train import class_offset, class_weights, split_probe, train_model

CUTOFFS = pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01"])


def toy_snapshots(n=600, seed=0):
    """Five monthly cutoffs; churn is driven by recency, so the model has real signal to find."""
    rng = np.random.default_rng(seed)
    frames = []
    for cutoff in CUTOFFS:
        tenure = rng.uniform(100, 700, n).round() + 0.5
        recency = np.minimum(rng.exponential(60, n), tenure - 1).round() + 0.5
        active = 1 + rng.poisson(tenure / 80)
        noise = rng.normal(0, 1, n)
        churned = (recency / 60 + 0.5 * rng.normal(0, 1, n) > 1).astype("int8")
        frames.append(
            pd.DataFrame(
                {
                    "cutoff": cutoff,
                    "recency_days": recency,
                    "tenure_days": tenure,
                    "active_days": active.astype(float),
                    "noise": noise,
                    "churned": churned,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


FEATURES = ["recency_days", "tenure_days", "active_days", "noise"]


@pytest.mark.parametrize("prior", ["bgnbd", "none"])
def test_training_is_deterministic_and_finds_signal(params, prior):
    settings = params.train.model_copy(update={"prior": prior})
    snaps = toy_snapshots()
    a = train_model(snaps, FEATURES, settings, horizon_days=60)
    b = train_model(snaps, FEATURES, settings, horizon_days=60)
    assert a.booster.model_to_string() == b.booster.model_to_string()
    assert json.dumps(a.model.to_dict()) == json.dumps(b.model.to_dict())
    gain = dict(zip(a.booster.feature_name(), a.booster.feature_importance("gain")))
    assert gain["recency_days"] > 5 * gain["noise"]
    assert a.validation_cutoff == CUTOFFS[-1]  # newest cutoff validates
    assert 1 <= a.best_iteration <= settings.n_estimators
    # The probe's purged score on the validation cutoff (what benchmarks/model_variants.py tunes by).
    assert 0.6 < a.validation_roc_auc <= 1 and a.validation_roc_auc == b.validation_roc_auc
    assert (a.model.prior is None) == (prior == "none")


def test_probe_uses_only_cutoffs_whose_labels_closed_before_validation(params):
    snaps = toy_snapshots()
    probe, valid = split_probe(snaps, horizon_days=60)
    # 2024-05-01 validates; label windows of 03-01 (ends 04-30) and earlier have closed.
    assert sorted(probe["cutoff"].unique()) == list(CUTOFFS[:3])
    assert set(valid["cutoff"]) == {CUTOFFS[-1]}
    trained = train_model(snaps, FEATURES, params.train, horizon_days=60)
    assert trained.probe_cutoffs == tuple(CUTOFFS[:3])
    assert trained.model.calibrator.fitted_on["cutoff"] == "2024-05-01"


def test_calibrated_probabilities_are_honest_on_a_later_cutoff(params):
    snaps = toy_snapshots(n=3000, seed=1)
    later = toy_snapshots(n=3000, seed=2)
    later = later[later["cutoff"] == CUTOFFS[-1]]
    trained = train_model(snaps, FEATURES, params.train, horizon_days=60)
    p = trained.model.predict_proba(later)
    assert abs(p.mean() - later["churned"].mean()) < 0.03
    assert ((p > 0) & (p < 1)).all()


def test_model_survives_a_round_trip_through_its_files(params):
    trained = train_model(toy_snapshots(), FEATURES, params.train, horizon_days=60)
    data = json.loads(json.dumps(trained.model.to_dict()))
    again = ChurnModel.from_parts(trained.booster.model_to_string(), data)
    snaps = toy_snapshots(seed=3)
    assert np.array_equal(again.predict_proba(snaps), trained.model.predict_proba(snaps))


def test_balanced_weights_give_each_class_half():
    y = np.array([1, 0, 0, 0])
    w = class_weights(y, "balanced")
    assert w[y == 1].sum() == pytest.approx(w[y == 0].sum())
    assert class_offset(y, "balanced") == pytest.approx(np.log(3))
    assert class_weights(y, "none") is None and class_offset(y, "none") == 0.0


def test_one_cutoff_is_refused(params):
    snaps = toy_snapshots()
    with pytest.raises(ValueError, match="two cutoffs"):
        train_model(snaps[snaps["cutoff"] == snaps["cutoff"].min()], FEATURES, params.train, 60)


def test_no_closed_cutoff_for_the_probe_is_refused(params):
    snaps = toy_snapshots()
    with pytest.raises(ValueError, match="full horizon"):
        train_model(snaps, FEATURES, params.train, horizon_days=200)


def test_one_class_is_refused(params):
    snaps = toy_snapshots().assign(churned=1)
    with pytest.raises(ValueError, match="one class"):
        train_model(snaps, FEATURES, params.train, horizon_days=60)
