import numpy as np
import pandas as pd
import pytest

from churn.scoring.value import GammaGammaParams, customer_value, expected_spend, fit_gamma_gamma


def simulate_gamma_gamma(p, q, v, n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 12, n)
    nu = rng.gamma(q, 1 / v, n)  # per-customer scale: spend ~ Gamma(p, nu)
    m = np.array([rng.gamma(p, 1 / nu_i, k).mean() for nu_i, k in zip(nu, x)])
    return x.astype(float), m


def test_gamma_gamma_recovers_its_parameters():
    x, m = simulate_gamma_gamma(6.0, 4.0, 15.0, 6000)
    fitted = fit_gamma_gamma(x, m)
    # The population mean spend p*v/(q-1) is what CLV uses; it is pinned down tightly.
    assert fitted.p * fitted.v / (fitted.q - 1) == pytest.approx(6.0 * 15.0 / 3.0, rel=0.05)
    assert fitted.p == pytest.approx(6.0, rel=0.15)
    assert fitted.q == pytest.approx(4.0, rel=0.25)


def test_expected_spend_shrinks_towards_population_mean():
    params = GammaGammaParams(p=2.0, q=3.0, v=20.0)  # population mean 2*20/2 = 20
    spend = expected_spend(params, np.array([0.0, 1.0, 100.0]), np.array([np.nan, 100.0, 100.0]))
    assert spend[0] == pytest.approx(20.0)
    assert spend[1] == pytest.approx(0.5 * 20 + 0.5 * 100)  # weight p*x/(p*x+q-1) = 2/4
    assert 95 < spend[2] < 100


def test_too_few_repeat_customers_fall_back_to_aov_times_frequency():
    snap = pd.DataFrame(
        {
            "active_days": [1.0, 3.0],
            "tenure_days": [100.0, 300.0],
            "recency_days": [100.0, 10.0],
            "monetary_mean": [40.0, 10.0],
        }
    )
    v = customer_value(snap, horizon_days=365, margin=0.5)
    assert (v["model_clv_method"] == "aov_frequency").all()
    assert v.loc[1, "model_clv"] == pytest.approx(0.5 * 10.0 * (3 / 300) * 365, abs=0.01)
    assert v.loc[0, "model_clv"] == pytest.approx(0.5 * 40.0 * (1 / 100) * 365, abs=0.01)
