import numpy as np
import pandas as pd
import pytest

from churn.modeling.evaluate import (
    calibration_points,
    captured_share,
    expected_calibration_error,
    gains_points,
    probability_metrics,
    ranking_metrics,
    top_decile_lift,
)


def test_perfect_and_inverted_ranking():
    y = np.array([0, 0, 1, 1])
    assert ranking_metrics(y, np.array([0.1, 0.2, 0.8, 0.9]))["roc_auc"] == 1.0
    assert ranking_metrics(y, np.array([0.9, 0.8, 0.2, 0.1]))["roc_auc"] == 0.0


def test_probability_metrics_hand_computed():
    y = np.array([0, 1])
    m = probability_metrics(y, np.array([0.2, 0.6]))
    assert m["brier"] == pytest.approx((0.2**2 + 0.4**2) / 2)
    assert m["log_loss"] == pytest.approx(-(np.log(0.8) + np.log(0.6)) / 2)
    # bins: 0.2 -> bin 2 (|0.2 - 0| = 0.2), 0.6 -> bin 6 (|0.6 - 1| = 0.4); each half the customers
    assert m["ece"] == pytest.approx(0.3)
    with pytest.raises(ValueError, match="probabilities"):
        probability_metrics(y, np.array([0.2, 1.5]))


def test_calibration_bins():
    y = np.array([0, 1, 1, 1])
    p = np.array([0.05, 0.05, 0.95, 0.95])
    table = calibration_points(y, p, bins=10)
    assert table["predicted"].tolist() == [0.05, 0.95]
    assert table["observed"].tolist() == [0.5, 1.0]
    assert table["customers"].tolist() == [2, 2]
    assert expected_calibration_error(y, p) == pytest.approx(0.5 * 0.45 + 0.5 * 0.05)


def test_top_decile_and_capture_hand_computed():
    # 20 customers, 4 churners; the score puts 2 churners in the top 2 (= top 10%).
    y = np.zeros(20, dtype=int)
    y[[0, 1, 10, 15]] = 1
    score = -np.arange(20.0)  # customer 0 riskiest
    assert captured_share(y, score, 0.1) == pytest.approx(2 / 4)
    assert top_decile_lift(y, score) == pytest.approx((2 / 2) / (4 / 20))
    assert captured_share(y, score, 0.2) == pytest.approx(2 / 4)
    m = ranking_metrics(y, score)
    assert m["captured_top10"] == pytest.approx(0.5) and m["top_decile_lift"] == pytest.approx(5.0)


def test_ties_count_as_random_order():
    # One score for everyone: the top 10% holds 10% of the churners in expectation, lift 1.
    y = np.array([1, 0, 0, 1, 0, 0, 0, 0, 0, 0])
    assert captured_share(y, np.ones(10), 0.1) == pytest.approx(0.1)
    assert top_decile_lift(y, np.ones(10)) == pytest.approx(1.0)
    # Two tie groups: top half (5 customers, 2 churners) then the rest.
    score = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    assert captured_share(y, score, 0.3) == pytest.approx(0.3 / 0.5 * 1.0)


def test_gains_points_run_from_origin_to_one():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    table = gains_points(y, rng.random(300))
    assert list(table.columns) == ["customers", "captured"]
    assert table.iloc[0].tolist() == [0.0, 0.0] and table.iloc[-1].tolist() == [1.0, 1.0]
    assert table["captured"].is_monotonic_increasing
    assert isinstance(table, pd.DataFrame) and len(table) == 101
