import numpy as np
import pytest
from scipy.special import expit, logit

from churn.modeling.calibrate import EPS, Calibrator, fit_calibrator


def test_platt_recovers_a_known_logistic_map():
    rng = np.random.default_rng(0)
    raw = rng.uniform(0.02, 0.98, 50_000)
    y = (rng.random(raw.size) < expit(0.5 * logit(raw) - 0.3)).astype(int)
    cal = fit_calibrator(raw, y, "platt")
    assert cal.slope == pytest.approx(0.5, abs=0.03)
    assert cal.intercept == pytest.approx(-0.3, abs=0.03)
    # Strictly monotone: the ranking is unchanged.
    out = cal.transform(np.array([0.1, 0.5, 0.9]))
    assert out[0] < out[1] < out[2]


def test_isotonic_is_monotone_and_fixes_a_shifted_probability():
    rng = np.random.default_rng(1)
    truth = rng.uniform(0, 1, 20_000)
    y = (rng.random(truth.size) < truth).astype(int)
    raw = truth**2  # over-confident about staying
    cal = fit_calibrator(raw, y, "isotonic")
    grid = np.linspace(0, 1, 101)
    out = cal.transform(grid)
    assert np.all(np.diff(out) >= 0)
    assert cal.transform(np.array([0.25]))[0] == pytest.approx(0.5, abs=0.05)
    assert out.min() >= EPS and out.max() <= 1 - EPS


def test_round_trip_through_json_data_is_exact():
    rng = np.random.default_rng(2)
    raw, y = rng.random(500), rng.integers(0, 2, 500)
    for method in ("isotonic", "platt", "none"):
        cal = fit_calibrator(raw, y, method, fitted_on={"cutoff": "2024-01-01"})
        again = Calibrator.from_dict(cal.to_dict())
        assert again == cal
        assert np.array_equal(again.transform(raw), cal.transform(raw))


def test_none_is_identity_and_bad_input_is_refused():
    assert np.array_equal(Calibrator("none").transform(np.array([0.2, 0.7])), [0.2, 0.7])
    with pytest.raises(ValueError, match="one class"):
        fit_calibrator(np.array([0.1, 0.2]), np.array([1, 1]), "platt")
    with pytest.raises(ValueError, match="unknown calibration"):
        fit_calibrator(np.array([0.1, 0.2]), np.array([0, 1]), "beta")


def test_a_platt_slope_that_would_reverse_the_ranking_is_refused_for_isotonic():
    rng = np.random.default_rng(4)
    raw = rng.uniform(0.02, 0.98, 5000)
    y = (rng.random(raw.size) < 1 - raw).astype(int)  # the raw scores rank backwards
    cal = fit_calibrator(raw, y, "platt")
    assert cal.method == "isotonic"
    assert cal.note.startswith("platt refused: its fitted slope -")
    assert "would reverse the model's ranking" in cal.note
    out = cal.transform(np.sort(raw))
    assert np.all(np.diff(out) >= 0)  # never reversed: at worst flat
    assert Calibrator.from_dict(cal.to_dict()) == cal


def test_auto_calibrates_only_what_class_weights_shifted():
    from churn.modeling.calibrate import chosen_method

    assert chosen_method("auto", "balanced") == (
        "platt",
        "auto chose platt: class_weight balanced shifts the raw probabilities",
    )
    method, why = chosen_method("auto", "none")
    assert method == "none" and why.startswith("auto chose none")
    assert chosen_method("isotonic", "none") == ("isotonic", "")
