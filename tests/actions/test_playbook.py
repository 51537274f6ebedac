import numpy as np
import pandas as pd
import pytest

from churn.actions.playbook import condition_mask
from churn.config import Condition
from churn.errors import ChurnError

FRAME = pd.DataFrame(
    {
        "risk_tier": pd.array(["high", "medium", None], dtype="string"),
        "model_clv": [500.0, np.nan, 20.0],
    }
)


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        (">=", 500, [True, False, False]),  # a missing model_clv never qualifies
        ("<", 100, [False, False, True]),
        ("!=", 20.0, [True, False, False]),
    ],
)
def test_numeric_conditions(op, value, expected):
    assert condition_mask(FRAME, Condition(field="model_clv", op=op, value=value)).tolist() == expected


def test_membership_and_missing_text():
    cond = Condition(field="risk_tier", op="in", value=["high", "medium"])
    assert condition_mask(FRAME, cond).tolist() == [True, True, False]
    assert condition_mask(FRAME, Condition(field="risk_tier", op="==", value="high")).tolist() == [True, False, False]


def test_unknown_field_is_named():
    with pytest.raises(ChurnError, match="unknown field 'nope'"):
        condition_mask(FRAME, Condition(field="nope", op="==", value=1))


def test_ops_are_a_closed_list():
    with pytest.raises(ValueError):
        Condition(field="model_clv", op="__import__('os')", value=1)
