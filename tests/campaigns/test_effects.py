"""Effects of a campaign from counts: rates, difference, interval, detectable effect, verdict."""

import numpy as np
import pandas as pd
import pytest

from churn.campaigns.effects import effect_table, measure, min_detectable_effect, newcombe, verdict, wilson


def test_wilson_and_newcombe_match_the_published_examples():
    # Newcombe (1998), Statistics in Medicine 17: 81/263 -> Wilson (0.2553, 0.3662);
    # 56/70 vs 48/80 -> difference 0.2000, method 10 interval (0.0524, 0.3339).
    low, high = wilson(81, 263)
    assert (round(float(low), 4), round(float(high), 4)) == (0.2553, 0.3662)
    d, low, high = newcombe(56, 70, 48, 80)
    assert (round(float(d), 4), round(float(low), 4), round(float(high), 4)) == (0.2, 0.0524, 0.3339)


def two_by_two(kt: int, nt: int, kc: int, nc: int, action: str = "offer", revenue: float = 10.0) -> pd.DataFrame:
    """Customers of one action: kt of nt treated and kc of nc control retained; each retained
    customer spent `revenue` in the window."""
    group = ["treatment"] * nt + ["control"] * nc
    retained = [1] * kt + [0] * (nt - kt) + [1] * kc + [0] * (nc - kc)
    return pd.DataFrame(
        {"action": action, "group": group, "retained": retained, "revenue": np.array(retained) * revenue}
    )


def test_a_2x2_table_gives_rates_difference_customers_money_and_roi():
    out = effect_table(two_by_two(60, 100, 40, 100), ["action"], {"offer": 2.0}, margin=0.5).iloc[0]
    assert (out["n_treatment"], out["n_control"]) == (100, 100)
    assert (out["retention_treatment"], out["retention_control"]) == (0.6, 0.4)
    assert out["incremental_retention"] == pytest.approx(0.2)
    d, low, high = newcombe(60, 100, 40, 100)
    assert (out["ci_low"], out["ci_high"]) == (round(float(low), 6), round(float(high), 6))
    assert out["incremental_customers"] == pytest.approx(20.0)  # 0.2 x 100 treated
    assert out["incremental_revenue"] == pytest.approx(200.0)  # (6 - 4) per customer x 100
    assert out["incremental_margin"] == pytest.approx(100.0)
    assert out["cost"] == pytest.approx(200.0)
    assert out["roi"] == pytest.approx(-0.5)  # (100 - 200) / 200
    # (1.95996 + 0.84162) x sqrt(0.4 x 0.6 x (1/100 + 1/100)) = 0.194100
    assert out["min_detectable_effect"] == pytest.approx(0.1941, abs=1e-6)


def test_small_control_groups_are_too_few_to_tell_and_harm_is_called_harm():
    table = pd.concat(
        [
            effect_table(two_by_two(20, 100, 60, 100, "call"), ["action"], {}, 0.3),
            effect_table(two_by_two(5, 10, 1, 5, "email"), ["action"], {}, 0.3),
            effect_table(two_by_two(50, 100, 48, 100, "survey"), ["action"], {}, 0.3),
            effect_table(two_by_two(50, 100, 0, 0, "gift"), ["action"], {}, 0.3),
        ],
        ignore_index=True,
    )
    assert verdict(table, min_control=50).tolist() == ["harms", "too few to tell", "unclear", "not measurable"]
    assert min_detectable_effect(100, 10, 0.5) > min_detectable_effect(100, 100, 0.5)


def test_effects_are_pooled_over_campaigns_and_split_by_segment():
    a = two_by_two(30, 50, 20, 50).assign(campaign="c1", rfm_segment="Loyal")
    b = two_by_two(10, 50, 10, 50).assign(campaign="c2", rfm_segment="Lost")
    table = measure(pd.concat([a, b], ignore_index=True), {"offer": 1.0}, 0.3)
    pooled = table[(table["campaign"] == "all") & (table["segment_by"] == "all")].iloc[0]
    assert (pooled["n_treatment"], pooled["incremental_retention"]) == (100, pytest.approx(0.1))  # 40/100 - 30/100
    loyal = table[(table["segment_by"] == "rfm_segment") & (table["segment"] == "Loyal")].iloc[0]
    assert loyal["incremental_retention"] == pytest.approx(0.2)
    assert set(table.loc[table["campaign"] != "all", "campaign"]) == {"c1", "c2"}
