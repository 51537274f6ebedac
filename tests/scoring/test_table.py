"""score_table on a hand-built snapshot: statuses, risk, reasons, actions and order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn.config import parse_params
from churn.scoring.scores import SCORES_TABLE_COLUMNS
from churn.scoring.table import columns_read, score_table

CUTOFF = pd.Timestamp("2024-07-01")
FEATURES = ["recency_days", "support_tickets_180d"]


class TableModel:
    """A model whose answers are written down: probability and contributions per customer."""

    features = FEATURES
    prior = None

    def __init__(self, probability: dict[str, float], contributions: dict[str, list[float]]):
        self.probability, self.contrib = probability, contributions
        self.explained: list[str] = []

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return frame["customer_id"].map(self.probability).to_numpy(dtype=float)

    def contributions(self, frame: pd.DataFrame, chunk_rows: int = 0):
        self.explained += list(frame["customer_id"])
        rows = [self.contrib[c] + [0.0] for c in frame["customer_id"]]  # last column: expected value
        return np.array(rows), frame[FEATURES].copy()


def snapshot() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.array(["A", "B", "C"], dtype="string"),
            "is_active": [True, True, False],
            "recency_days": [12.346, 40.0, 400.4],
            "support_tickets_180d": [3.0, 0.0, 0.0],
            "active_days": [30.0, 5.0, 12.0],
            "tenure_days": [700.0, 500.0, 800.0],
            "frequency": [40.0, 6.0, 2.0],
            "monetary_mean": [900.0, 50.0, 3000.0],
            "monetary_total": [36000.123, 300.0, 40.0],
            "r_score": pd.array([5, 3, 1], dtype="int8"),
            "f_score": pd.array([5, 2, 1], dtype="int8"),
            "m_score": pd.array([5, 2, 1], dtype="int8"),
            "rfm_segment": pd.array(["Champions", "Need Attention", "Lost"], dtype="string"),
        }
    )


@pytest.fixture
def settings(raw_params):
    raw_params["actions"]["control_share"] = 0.0
    return parse_params(raw_params)


def model() -> TableModel:
    return TableModel({"A": 0.8, "B": 0.1}, {"A": [-0.2, 1.5], "B": [0.4, -0.3]})


def test_every_requested_customer_once_with_status_risk_and_value(settings):
    requested = pd.Series(["C", "A", "D", "B"], dtype="string")
    out = score_table(snapshot(), model(), settings, cutoff=CUTOFF, requested=requested).table
    assert list(out.columns) == SCORES_TABLE_COLUMNS
    by_id = out.set_index("customer_id")
    assert sorted(by_id.index) == ["A", "B", "C", "D"]
    assert by_id["status"].to_dict() == {"A": "active", "B": "active", "C": "lapsed", "D": "unknown"}
    assert (by_id["as_of"] == "2024-06-30").all()
    assert by_id.loc["A", "churn_probability"] == 0.8 and by_id.loc["B", "churn_probability"] == 0.1
    assert by_id[["churn_probability"]].loc[["C", "D"]].isna().all().all()  # the model scores the active only
    assert by_id.loc["A", "risk_tier"] == "high" and by_id.loc["B", "risk_tier"] == "low"
    assert by_id.loc["A", "risk_percentile"] == 100.0 and by_id.loc["B", "risk_percentile"] == 50.0
    a = by_id.loc["A"]
    assert a["value_at_risk"] == round(0.8 * a["model_clv"], 2)
    assert a["recency_days"] == 12.35 and a["monetary_total"] == 36000.12
    assert pd.isna(by_id.loc["D", "model_clv"]) and by_id.loc["D", "action_reason"].startswith("unknown customer")


def test_reasons_come_from_the_models_contributions_and_lapsed_customers_get_their_own(settings):
    m = model()
    out = score_table(snapshot(), m, settings, cutoff=CUTOFF).table.set_index("customer_id")
    assert out.loc["A", "reason_1"] == "3 support tickets in the last 180 days"
    # Support tickets drive A's risk, so the playbook's service call (top_driver: service) fits.
    assert out.loc["A", "recommended_action"] == "service_call"
    assert out.loc["A", "action_reason"].endswith("(3 support tickets in the last 180 days)")
    assert out.loc["A", "protective_factor"] == "no purchase for 12 days"  # its contribution is negative
    assert out.loc["C", "reason_1"] == "no purchase for 400 days (lapsed)"
    assert out.loc["C", "recommended_action"] == "win_back"
    # Only customers who get an action are explained, each once.
    acted = set(out.index[out["priority"].notna()]) - {"C"}
    assert set(m.explained) == acted and len(m.explained) == len(set(m.explained))


def test_the_table_is_ordered_by_priority_then_risk(settings):
    out = score_table(snapshot(), model(), settings, cutoff=CUTOFF).table
    ranked = out["priority"].dropna().to_numpy()
    assert (np.diff(ranked) > 0).all() and ranked[0] == 1
    assert out["priority"].isna().to_numpy()[len(ranked) :].all()  # unranked last


def test_a_recent_contact_blocks_contact_actions(settings):
    contacts = pd.DataFrame(
        {
            "customer_id": pd.array(["A"], dtype="string"),
            "timestamp": [CUTOFF - pd.Timedelta(days=3)],
            "channel": ["email"],
            "action": ["reengagement_email"],
        }
    )
    out = score_table(snapshot(), model(), settings, cutoff=CUTOFF, contacts=contacts).table.set_index("customer_id")
    assert out.loc["A", "recommended_action"] == "no_action"
    assert out.loc["A", "action_reason"] == "contacted within the last 14 days"


def test_probabilities_given_by_the_engine_are_used_as_they_are(settings):
    given = pd.Series({"A": 0.25, "B": 0.75})
    out = score_table(snapshot(), model(), settings, cutoff=CUTOFF, probability=given).table.set_index("customer_id")
    assert out.loc["A", "churn_probability"] == 0.25 and out.loc["B", "churn_probability"] == 0.75


@pytest.mark.parametrize("requested", [None, ["C", "X", "A", "B"]])
def test_a_narrow_snapshot_with_its_rows_fetched_scores_as_the_whole_one(settings, requested):
    # On DuckDB scoring holds only the columns it reads itself and fetches the model's
    # inputs (here support_tickets_180d) for the rows it predicts or explains.
    full = snapshot()
    narrow = full[[c for c in full.columns if c in columns_read(settings, None)]]
    assert "support_tickets_180d" not in narrow.columns
    asked = None if requested is None else pd.Series(requested, dtype="string")
    fetched = []

    def rows_of(positions: np.ndarray) -> pd.DataFrame:
        fetched.extend(full["customer_id"].iloc[positions])
        return full.iloc[positions].reset_index(drop=True)

    whole_model, narrow_model = model(), model()
    whole = score_table(full, whole_model, settings, cutoff=CUTOFF, requested=asked).table
    fetched_table = score_table(narrow, narrow_model, settings, cutoff=CUTOFF, requested=asked, rows_of=rows_of).table
    pd.testing.assert_frame_equal(fetched_table, whole)
    assert narrow_model.explained == whole_model.explained and narrow_model.explained
    assert set(fetched) == {"A", "B"}  # the active customers only: C is lapsed, X unknown


@pytest.mark.parametrize("seed", range(5))
def test_the_table_order_is_a_stable_pandas_sort_by_priority_risk_and_id(seed):
    from churn.scoring.table import table_order

    rng = np.random.default_rng(seed)
    n = 3000
    keys = pd.DataFrame(
        {
            "priority": pd.array(np.where(rng.random(n) < 0.1, rng.permutation(n) + 1, -1), dtype="Int64"),
            "churn_probability": np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 20, n) / 20),  # ties
            "customer_id": pd.array([f"C{i}" for i in rng.permutation(n)], dtype="string"),
        }
    )
    keys.loc[keys["priority"] == -1, "priority"] = pd.NA
    expected = keys.sort_values(
        list(keys.columns), ascending=[True, False, True], na_position="last", kind="stable"
    ).index.to_numpy()
    got = table_order(keys["priority"], keys["churn_probability"], keys["customer_id"])
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("rounds", [0, 1])
def test_planning_without_optimism_ends_where_the_optimistic_rounds_do(settings, monkeypatch, rounds):
    """With no optimistic round left, the plan is made without optimism: A's service call
    (top_driver: service) is closed until A's reasons arrive, then A's options are priced
    again and the plan moves to it."""
    import churn.scoring.table as table_module

    settled = score_table(snapshot(), model(), settings, cutoff=CUTOFF).table
    monkeypatch.setattr(table_module, "MAX_PLAN_ROUNDS", rounds)
    late = model()
    out = score_table(snapshot(), late, settings, cutoff=CUTOFF).table
    pd.testing.assert_frame_equal(out, settled)
    assert settled.set_index("customer_id").loc["A", "recommended_action"] == "service_call"
    assert "A" in late.explained
