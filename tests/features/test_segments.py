import numpy as np
import pandas as pd
import pytest

from churn.features.segments import SEGMENTS, quintiles, rfm_scores, segment_names


def test_quintiles_of_five_customers():
    snap = pd.DataFrame(
        {
            "cutoff": pd.Timestamp("2024-01-01"),
            "recency_days": [1.0, 10.0, 100.0, 50.0, 5.0],
            "frequency": [9.0, 1.0, 2.0, 3.0, 4.0],
            "monetary_total": [500.0, 10.0, 20.0, 40.0, 30.0],
        }
    )
    s = rfm_scores(snap)
    assert s["r_score"].tolist() == [5, 3, 1, 2, 4]  # most recent scores 5
    assert s["f_score"].tolist() == [5, 1, 2, 3, 4]
    assert s["m_score"].tolist() == [5, 1, 2, 4, 3]
    assert s["rfm_score"].tolist() == [15, 5, 5, 9, 11]
    assert s["rfm_segment"].tolist() == ["Champions", "About To Sleep", "Hibernating", "At Risk", "Loyal"]


def test_quintiles_are_taken_within_each_cutoff():
    snap = pd.DataFrame(
        {
            "cutoff": pd.to_datetime(["2024-01-01"] * 2 + ["2024-02-01"] * 2),
            "recency_days": [1.0, 2.0, 100.0, 200.0],
            "frequency": [1.0, 2.0, 1.0, 2.0],
            "monetary_total": [1.0, 2.0, 1.0, 2.0],
        }
    )
    assert rfm_scores(snap)["r_score"].tolist() == [5, 3, 5, 3]  # the best always scores 5


def test_every_score_pair_has_a_segment():
    r = np.array([r for r in range(1, 6) for _ in range(5)], dtype="int8")
    f = np.array([f for _ in range(5) for f in range(1, 6)], dtype="int8")
    names = pd.Series(segment_names(r, f))
    assert names.notna().all()
    assert set(names) == set(SEGMENTS)
    assert names[(r == 1) & (f == 1)].item() == "Lost"
    assert names[(r == 1) & (f == 5)].item() == "Cannot Lose Them"


def test_quintile_handles_one_row():
    assert quintiles(np.array([3.0]), higher_is_better=True).tolist() == [5]


@pytest.mark.parametrize("higher_is_better", [True, False])
def test_quintiles_rank_as_pandas_ranks_first(higher_is_better):
    """Ties by position and missing values last in the sort, exactly as pandas'
    rank(method="first") with missing values at the bottom (higher is better) or top."""
    rng = np.random.default_rng(7)
    for n in (1, 2, 7, 103, 1000):
        values = rng.integers(0, 6, n).astype(float)  # many ties
        values[rng.random(n) < 0.1] = np.nan
        s = pd.Series(values, index=rng.permutation(n) + 10)
        ranks = s.rank(method="first", ascending=higher_is_better, na_option="bottom" if higher_is_better else "top")
        expected = np.ceil(ranks.to_numpy() * 5 / n).clip(1, 5).astype("int8")
        got = quintiles(s.to_numpy(), higher_is_better)
        assert got.dtype == np.int8 and got.tolist() == expected.tolist()


def test_scores_are_the_same_whatever_the_row_order_of_other_cutoffs():
    """Each cutoff's quintiles see only its rows: interleaving two cutoffs changes nothing."""
    rng = np.random.default_rng(3)
    n = 200
    snap = pd.DataFrame(
        {
            "cutoff": pd.to_datetime(["2024-01-01", "2024-02-01"] * (n // 2)),
            "recency_days": rng.integers(0, 30, n).astype(float),
            "frequency": rng.integers(1, 6, n).astype(float),
            "monetary_total": rng.normal(100, 30, n),
        }
    )
    together = rfm_scores(snap)
    for _, part in snap.groupby("cutoff"):
        alone = rfm_scores(part)
        pd.testing.assert_frame_equal(together.loc[part.index], alone)
