"""BG/NBD: published CDNOW parameters from the raw transactions, formulas against simulation."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest

from churn.features.rfm import rfm_features
from churn.modeling import bgnbd
from tests.conftest import ROOT
from tests.modeling.bgnbd_simulation import simulate

PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # Fader, Hardie and Lee (2005), weeks


def cdnow_sample_path() -> Path:
    """CDNOW_sample.txt as shipped inside the `lifetimes` package (a dev dependency), found
    without importing lifetimes (which is unmaintained and may not import on new pandas)."""
    spec = importlib.util.find_spec("lifetimes")
    assert spec is not None and spec.submodule_search_locations, "install the dev extras: lifetimes ships CDNOW"
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "CDNOW_sample.txt"
    assert path.is_file(), path
    return path


def cdnow_transactions() -> pd.DataFrame:
    """customer_id (text), timestamp, amount: 6,919 purchases of 2,357 customers, 1997-01 to 1998-06."""
    raw = pd.read_csv(
        cdnow_sample_path(),
        sep=r"\s+",
        header=None,
        names=["customer_id", "sample_id", "date", "cds", "amount"],
        dtype={"customer_id": str, "sample_id": str, "date": str},
    )
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"].astype("string"),
            "timestamp": pd.to_datetime(raw["date"], format="%Y%m%d").astype("datetime64[ns]"),
            "amount": raw["amount"].astype(float),
        }
    )


def test_recovers_published_cdnow_parameters_from_the_snapshot_features():
    # The 39-week calibration period ends on 1997-09-30: the cutoff is midnight after it.
    tx = cdnow_transactions()
    con = ibis.duckdb.connect()
    snap = con.to_pandas(rfm_features(ibis.memtable(tx), pd.Timestamp("1997-10-01")))
    assert len(snap) == 2357
    summary = bgnbd.summary_from_snapshot(snap) / [1, 7, 7]  # x, t_x, T -> weeks
    assert summary["T"].max() == pytest.approx(272 / 7)  # 1997-01-01 .. 1997-09-30
    fitted = bgnbd.fit(summary["x"], summary["t_x"], summary["T"]).as_dict()
    for name, value in PUBLISHED.items():
        assert fitted[name] == pytest.approx(value, rel=0.02), (name, fitted)


def test_published_conditional_expectation():
    # Fader, Hardie and Lee (2005), section 5: x=2, t_x=30.43, T=38.86 weeks -> 1.226 purchases in 39 weeks.
    params = bgnbd.BgNbdParams(**PUBLISHED)
    got = bgnbd.expected_purchases(params, 39, np.array([2.0]), np.array([30.43]), np.array([38.86]))
    assert got[0] == pytest.approx(1.226, abs=0.002)


def test_summary_from_snapshot_uses_whole_days_to_the_as_of_day():
    snap = pd.DataFrame(
        {
            # first purchase 10.5 days before the cutoff, last 2.25 days before, 3 purchase days
            "active_days": [3.0, 1.0],
            "tenure_days": [10.5, 4.0],
            "recency_days": [2.25, 4.0],
        }
    )
    s = bgnbd.summary_from_snapshot(snap)
    assert s["x"].tolist() == [2.0, 0.0]
    assert s["T"].tolist() == [10.0, 3.0]  # as-of day minus first purchase day
    assert s["t_x"].tolist() == [8.0, 0.0]  # last minus first purchase day


def test_churn_probability_and_expectation_match_simulation():
    # Customers drawn from the BG/NBD process itself: the conditional formulas must match
    # the simulated future of customers with the same history.
    params = bgnbd.BgNbdParams(r=0.5, alpha=20.0, a=0.8, b=2.5)
    sim = simulate(params, np.full(200_000, 200.0), horizon=90, seed=5)
    for x in (0, 1, 3):
        group = sim[sim["x"] == x]
        p0 = bgnbd.probability_no_purchase(params, 90, group["x"], group["t_x"], group["T"])
        expected = bgnbd.expected_purchases(params, 90, group["x"], group["t_x"], group["T"])
        tol = 3 / np.sqrt(len(group))
        assert (group["x_future"] == 0).mean() == pytest.approx(p0.mean(), abs=tol)
        assert group["x_future"].mean() == pytest.approx(expected.mean(), rel=0.08)


def test_fits_100k_customers_quickly_and_recovers_simulated_parameters():
    truth = bgnbd.BgNbdParams(r=0.25, alpha=30.0, a=0.8, b=2.4)
    T = np.floor(np.random.default_rng(1).uniform(30, 700, 100_000))
    sim = simulate(truth, T, horizon=0, seed=3)
    sim["t_x"] = np.floor(sim["t_x"])  # whole days, as the pipeline sees them
    start = time.perf_counter()
    fitted = bgnbd.fit(sim["x"], sim["t_x"], sim["T"])
    elapsed = time.perf_counter() - start
    assert elapsed < 10, f"BG/NBD fit of 100,000 customers took {elapsed:.1f} s"
    assert fitted.r == pytest.approx(truth.r, rel=0.1)
    assert fitted.alpha == pytest.approx(truth.alpha, rel=0.15)
    # The likelihood at the fitted parameters is at least that at the truth.
    assert bgnbd.log_likelihood(fitted, sim["x"], sim["t_x"], sim["T"]) >= bgnbd.log_likelihood(
        truth, sim["x"], sim["t_x"], sim["T"]
    )


def test_fit_is_deterministic():
    sim = simulate(bgnbd.BgNbdParams(0.3, 10.0, 0.7, 2.0), np.full(3000, 100.0), 0, seed=1)
    assert bgnbd.fit(sim["x"], sim["t_x"], sim["T"]) == bgnbd.fit(sim["x"], sim["t_x"], sim["T"])


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="t_x <= T"):
        bgnbd.fit(np.array([1.0]), np.array([5.0]), np.array([3.0]))
    with pytest.raises(ValueError, match="repeat purchase"):
        bgnbd.fit(np.array([0.0, 0.0]), np.array([0.0, 0.0]), np.array([3.0, 4.0]))
    with pytest.raises(ValueError, match="missing"):
        bgnbd.fit(np.array([1.0, np.nan]), np.array([1.0, 0.0]), np.array([3.0, 4.0]))


def test_fitted_parameters_keep_six_significant_digits_so_every_machine_agrees():
    from churn.modeling.bgnbd import fit, significant

    assert significant(0.24312345678) == 0.243123 and significant(4413.98765) == 4413.99
    rng = np.random.default_rng(0)
    T = rng.integers(30, 400, 2000).astype(float)
    x = rng.poisson(2, 2000).astype(float)
    t_x = np.where(x > 0, T * rng.random(2000), 0.0).round()
    params = fit(x, t_x, T)
    for value in params.as_dict().values():
        assert value == significant(value)


KERNEL_FIT = """
import numpy as np
from churn.modeling import bgnbd
from churn.scoring.value import fit_gamma_gamma
from tests.modeling.bgnbd_simulation import simulate
bgnbd.significant = lambda value, digits=6: value  # the raw optimum, before rounding
sim = simulate(bgnbd.BgNbdParams(0.4, 20.0, 0.7, 3.0), np.floor(np.linspace(60, 500, 20000)), 0, seed=5)
sim["t_x"] = np.floor(sim["t_x"])
spend = np.random.default_rng(5).gamma(4.0, 10.0, len(sim))
print(repr((bgnbd.fit(sim["x"], sim["t_x"], sim["T"]), fit_gamma_gamma(sim["x"].to_numpy(float), spend))))
"""


def test_fits_reach_the_same_optimum_under_every_blas_kernel():
    """Machines pick different BLAS kernels (OpenBLAS: generic SSE, AVX2, AVX-512), whose sums
    differ in the last bits; the polished optimum must not (to 1e-10), so that 6 significant
    digits are the same everywhere."""
    flags = Path("/proc/cpuinfo").read_text().split() if Path("/proc/cpuinfo").exists() else []
    # Only kernels this CPU can run: a forced AVX-512 kernel on a CPU without it would crash.
    kernels = ["Prescott"] + ["Haswell"] * ("avx2" in flags) + ["SkylakeX"] * ("avx512f" in flags)
    if len(kernels) < 2:
        pytest.skip("this CPU runs only one OpenBLAS kernel")
    found = {}
    for kernel in kernels:
        env = {**os.environ, "OPENBLAS_CORETYPE": kernel}
        proc = subprocess.run([sys.executable, "-c", KERNEL_FIT], cwd=ROOT, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        found[kernel] = [float(v) for v in re.findall(r"=([-0-9.e]+)", proc.stdout)]
    base = found["Prescott"]
    assert len(base) == 7
    for values in found.values():
        assert values == pytest.approx(base, rel=1e-10)


def test_terms_of_x_alone_are_the_per_customer_values_exactly():
    """The Gamma and Beta terms are evaluated once per distinct x and gathered: the same
    floats as evaluating them customer by customer, and a gradient that is the likelihood's."""
    from scipy.special import betaln, gammaln

    sim = simulate(bgnbd.BgNbdParams(0.3, 10.0, 0.7, 2.0), np.floor(np.linspace(20, 400, 5000)), 0, seed=2)
    x, t_x, T = (np.floor(sim[c].to_numpy(dtype=float)) for c in ("x", "t_x", "T"))
    assert 1 < len(np.unique(x)) < len(x) / 10
    r, alpha, a, b = 0.3, 10.0, 0.7, 2.0
    ll, alive, dead = bgnbd._loglik_terms(r, alpha, a, b, x, t_x, T)
    expected_alive = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    expected_dead = np.full_like(x, -np.inf)
    rep = x > 0
    expected_dead[rep] = betaln(a + 1, b + x[rep] - 1) - betaln(a, b) - (r + x[rep]) * np.log(alpha + t_x[rep])
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    np.testing.assert_array_equal(alive, expected_alive)
    np.testing.assert_array_equal(dead, expected_dead)
    np.testing.assert_array_equal(ll, a1 + np.logaddexp(expected_alive, expected_dead))

    theta = np.log([r, alpha, a, b])
    weights = np.ones(len(x))
    repeats = bgnbd._Repeats(x)
    value, grad = bgnbd._negll_and_grad(theta, repeats, t_x, T, weights, float(len(x)))
    assert value == pytest.approx(-ll.mean(), rel=1e-12)
    for i in range(4):
        step = np.zeros(4)
        step[i] = 1e-6
        up = bgnbd._negll_and_grad(theta + step, repeats, t_x, T, weights, float(len(x)))[0]
        down = bgnbd._negll_and_grad(theta - step, repeats, t_x, T, weights, float(len(x)))[0]
        assert grad[i] == pytest.approx((up - down) / 2e-6, rel=1e-5, abs=1e-8)
