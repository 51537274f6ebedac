import numpy as np
import pytest

from churn.modeling.evaluate import calibration_points, probability_metrics, ranking_metrics


def test_perfect_and_inverted_ranking():
    y = np.array([0, 0, 1, 1])
    assert ranking_metrics(y, np.array([0.1, 0.2, 0.8, 0.9]))["roc_auc"] == 1.0
    assert ranking_metrics(y, np.array([0.9, 0.8, 0.2, 0.1]))["roc_auc"] == 0.0


def test_probability_metrics_hand_computed():
    y = np.array([0, 1])
    m = probability_metrics(y, np.array([0.2, 0.6]))
    assert m["brier"] == pytest.approx((0.2**2 + 0.4**2) / 2)
    assert m["log_loss"] == pytest.approx(-(np.log(0.8) + np.log(0.6)) / 2)


def test_calibration_bins():
    y = np.array([0, 1, 1, 1])
    p = np.array([0.05, 0.05, 0.95, 0.95])
    table = calibration_points(y, p, bins=10)
    assert table["predicted"].tolist() == [0.05, 0.95]
    assert table["observed"].tolist() == [0.5, 1.0]
    assert table["customers"].tolist() == [2, 2]
