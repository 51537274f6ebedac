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


def settings(**features):
    raw = yaml.safe_load((Path(__file__).resolve().parents[2] / "params.yaml").read_text(encoding="utf-8"))
    raw["features"].update(n_train_cutoffs=12, cutoff_spacing_days=30, **features)
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
