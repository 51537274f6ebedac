import pandas as pd
import pytest

from churn.actions.playbook import recommend
from churn.config import Action, Condition
from churn.errors import ChurnError

PLAYBOOK = [
    Action(
        name="call",
        description="call",
        channel="phone",
        when=[Condition(field="risk_tier", op="==", value="high"), Condition(field="monetary_total", op=">=", value=500)],
    ),
    Action(name="offer", description="offer", channel="email", when=[Condition(field="risk_tier", op="in", value=["high", "medium"])]),
    Action(name="none", description="stay", channel="none", when=[]),
]


def test_first_matching_action_wins():
    frame = pd.DataFrame(
        {"risk_tier": ["high", "high", "medium", "low", "high"], "monetary_total": [900, 100, 900, 900, None]}
    )
    out = recommend(frame, PLAYBOOK)
    assert out["recommended_action"].tolist() == ["call", "offer", "offer", "none", "offer"]


def test_unknown_field_is_named():
    bad = [Action(name="x", description="x", channel="x", when=[Condition(field="nope", op="==", value=1)])] + PLAYBOOK
    with pytest.raises(ChurnError, match="unknown field 'nope'"):
        recommend(pd.DataFrame({"risk_tier": ["low"], "monetary_total": [1]}), bad)


def test_shipped_playbook_covers_every_customer(params):
    frame = pd.DataFrame({"risk_tier": ["high", "medium", "low"], "monetary_total": [1000.0, 10.0, 0.0]})
    out = recommend(frame, params.actions.playbook)
    assert out["recommended_action"].notna().all()
    assert out["recommended_action"].tolist() == ["service_call", "reengagement_email", "no_action"]
