import pandas as pd
import pytest

from churn.config import RiskTiers
from churn.errors import ChurnError
from churn.scoring.predict import check_features, risk_tier


def test_risk_tier_boundaries():
    p = pd.Series([0.0, 0.29999, 0.3, 0.59999, 0.6, 1.0])
    assert risk_tier(p, RiskTiers(high=0.6, medium=0.3)).tolist() == ["low", "low", "medium", "medium", "high", "high"]


def test_feature_mismatch_lists_differences():
    with pytest.raises(ChurnError) as err:
        check_features(["a", "b", "c"], ["a", "c", "d"])
    assert "missing at scoring time: b" in str(err.value)
    assert "not known to the model: d" in str(err.value)
    check_features(["a", "b"], ["b", "a"])  # order does not matter
