"""Success rates learned from measured cells, shrunk towards the guesses."""

import pandas as pd
import pytest

from churn.campaigns.rates import learned_rates


def cell(action, segment_by, segment, n_t, n_c, d, rate_c, low, high, verdict="unclear"):
    return {
        "campaign": "all",
        "segment_by": segment_by,
        "segment": segment,
        "action": action,
        "n_treatment": n_t,
        "n_control": n_c,
        "incremental_retention": d,
        "retention_control": rate_c,
        "ci_low": low,
        "ci_high": high,
        "verdict": verdict,
    }


def test_evidence_moves_the_guess_in_proportion_to_its_size_and_harm_closes_a_segment():
    effects = pd.DataFrame(
        [
            cell("call", "all", "all", 1000, 500, 0.06, 0.6, 0.02, 0.10, "helps"),
            cell("call", "rfm_segment", "Lost", 400, 200, -0.10, 0.2, -0.15, -0.05, "harms"),
            cell("call", "rfm_segment", "Tiny", 30, 10, 0.5, 0.5, -0.2, 0.9, "too few to tell"),
        ]
    )
    rates = learned_rates(effects, {"call": 0.3, "email": 0.02}, prior_weight=200, segment_by="rfm_segment")
    # (200 x 0.3 + 0.06 x 1000) / (200 + 0.4 x 1000) = 120 / 600
    assert rates.overall["call"] == pytest.approx(0.2)
    assert rates.overall["email"] == 0.02  # never measured: the guess
    assert ("call", "Lost") in rates.harmful and ("call", "Tiny") not in rates.by_segment
    segments = pd.Series(["Lost", "Tiny", None], dtype="string")
    assert rates.harmful_for("call", segments).tolist() == [True, False, False]
    assert rates.rates_for("call", segments)[1:].tolist() == [pytest.approx(0.2), pytest.approx(0.2)]
    assert {s["source"] for s in rates.sources} == {
        "measured",
        "measured: harmful here, never offered",
        "guess (params.yaml)",
    }


def test_without_measured_campaigns_every_rate_is_the_guess():
    rates = learned_rates(None, {"call": 0.3}, prior_weight=200, segment_by="rfm_segment")
    assert rates.overall == {"call": 0.3} and not rates.harmful
    assert rates.sources == [{"action": "call", "segment": "all", "rate": 0.3, "source": "guess (params.yaml)"}]


def test_an_action_harmful_for_all_customers_is_closed_everywhere():
    effects = pd.DataFrame([cell("email", "all", "all", 3000, 1000, -0.09, 0.7, -0.15, -0.04, "harms")])
    rates = learned_rates(effects, {"email": 0.02}, prior_weight=200, segment_by="rfm_segment")
    assert ("email", "all") in rates.harmful
    assert rates.harmful_for("email", pd.Series(["Loyal", None], dtype="string")).tolist() == [True, True]
    (source,) = rates.sources
    assert source["source"] == "measured: harmful for all customers, never offered"
