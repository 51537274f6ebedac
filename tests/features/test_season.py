from pathlib import Path

import pandas as pd
import pytest
import yaml

from churn.config import Params
from churn.errors import ChurnError
from churn.features.season import SEASON_FEATURE, as_of_month, model_features
from churn.scoring.predict import check_features
from churn.timeline import plan_cutoffs, plan_for_span

FEATURES = ["recency_days", SEASON_FEATURE, "frequency"]


def test_the_as_of_month_is_the_month_of_the_last_day_of_history():
    assert as_of_month(pd.Timestamp("2024-11-01")) == 10  # as of 31 October
    assert as_of_month(pd.Timestamp("2024-11-01 06:00")) == 11


def test_the_season_is_a_model_input_only_when_training_cutoffs_cover_every_month():
    year = plan_cutoffs(pd.Timestamp("2025-01-01"), 90, n_train_cutoffs=12, cutoff_spacing_days=30).train
    assert model_features(FEATURES, year) == FEATURES
    half = plan_cutoffs(pd.Timestamp("2025-01-01"), 90, n_train_cutoffs=6, cutoff_spacing_days=30).train
    assert model_features(FEATURES, half) == ["recency_days", "frequency"]


def test_a_model_without_the_season_scores_snapshots_that_have_it():
    check_features(["recency_days"], ["recency_days", SEASON_FEATURE])
    with pytest.raises(ChurnError, match="not known to the model: frequency"):
        check_features(["recency_days"], ["recency_days", "frequency"])


def settings(horizon_days: int = 90, **features):
    raw = yaml.safe_load((Path(__file__).resolve().parents[2] / "params.yaml").read_text(encoding="utf-8"))
    raw["features"].update(n_train_cutoffs=12, cutoff_spacing_days=30, **features)
    raw["churn"]["horizon_days"] = horizon_days
    params = Params.model_validate(raw)
    return params.churn, params.features


def test_training_cutoffs_with_too_little_history_before_them_are_skipped():
    oldest, newest = pd.Timestamp("1997-01-01"), pd.Timestamp("1998-06-30 12:00")
    plan = plan_for_span(oldest, newest, *settings(min_history_days=180))
    assert plan.train[-1] == pd.Timestamp("1998-01-02")
    assert all(c - oldest >= pd.Timedelta(days=180) for c in plan.train)
    assert len(plan.train) == 7 and len(plan.skipped) == 5
    assert plan.skipped[-1] == pd.Timestamp("1997-06-06")  # 156 days after the first transaction
    assert len(plan_for_span(oldest, newest, *settings(min_history_days=0)).train) == 12


def test_no_training_cutoff_with_enough_history_is_a_clear_error():
    with pytest.raises(ChurnError, match="min_history_days"):
        plan_for_span(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-31"), *settings(min_history_days=400))


def test_one_year_of_data_names_its_span_and_the_settings_that_fit_it():
    oldest, newest = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-31 18:00")
    with pytest.raises(ChurnError) as info:
        plan_for_span(oldest, newest, *settings(min_history_days=180))
    message = str(info.value)
    assert "the data spans 2024-01-01 to 2024-12-31 (366 days), but the settings need 450 days" in message
    assert "features.min_history_days: 96 (or less)" in message
    assert "churn.horizon_days: 60 with features.cutoff_spacing_days <= 30" in message
    # Each advice really fits: training gets its newest cutoff and a probe a horizon before it.
    fitted = plan_for_span(oldest, newest, *settings(min_history_days=96))
    assert fitted.train[-1] - fitted.train[0] >= pd.Timedelta(days=90)
    shorter = plan_for_span(oldest, newest, *settings(min_history_days=180, horizon_days=60))
    assert shorter.train[-1] - shorter.train[0] >= pd.Timedelta(days=60)


def test_a_plan_without_a_probe_cutoff_a_horizon_back_is_refused_before_training():
    # Two cutoffs fit, but they are 30 days apart: the probe would have nothing to learn from.
    oldest, newest = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-31")
    with pytest.raises(ChurnError, match="not enough history to train"):
        plan_for_span(oldest, newest, *settings(min_history_days=150))
