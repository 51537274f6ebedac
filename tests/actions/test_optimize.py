import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churn.actions.optimize import NONE, choose_actions


def total(choice, benefit):
    return sum(benefit[i, j] for i, j in enumerate(choice) if j != NONE)


def brute_force(benefit, eligible, cost, capacity, budget):
    n, m = benefit.shape
    best = -1.0
    for combo in itertools.product(range(-1, m), repeat=n):
        if any(j != NONE and (not eligible[i, j] or benefit[i, j] <= 0) for i, j in enumerate(combo)):
            continue
        if sum(cost[j] for j in combo if j != NONE) > budget:
            continue
        if any(sum(1 for j in combo if j == k) > capacity[k] for k in range(m)):
            continue
        best = max(best, total(combo, benefit))
    return best


def test_ample_budget_gives_everyone_their_best_action():
    benefit = np.array([[5.0, 9.0], [3.0, -1.0], [-2.0, -1.0]])
    choice = choose_actions(benefit, np.ones_like(benefit, bool), np.array([1.0, 4.0]), np.array([np.inf, np.inf]), 1e9)
    assert choice.tolist() == [1, 0, NONE]


def test_budget_shifts_to_cheaper_actions():
    # Customer 0: action 1 is worth 4 more but costs 9 more; with budget 2 only cheap actions fit.
    benefit = np.array([[5.0, 9.0], [3.0, 8.0]])
    cost = np.array([1.0, 10.0])
    choice = choose_actions(benefit, np.ones_like(benefit, bool), cost, np.array([np.inf, np.inf]), 2.0)
    assert choice.tolist() == [0, 0]


def test_capacity_keeps_customers_who_lose_most():
    benefit = np.array([[10.0, 9.0], [10.0, 1.0], [10.0, 5.0]])
    choice = choose_actions(benefit, np.ones_like(benefit, bool), np.zeros(2), np.array([1, np.inf]), 0.0)
    assert choice.tolist() == [1, 0, 1]  # customer 1 would lose 9 by moving, so keeps action 0


def test_ineligible_and_unprofitable_are_never_chosen():
    benefit = np.array([[10.0, 2.0], [-1.0, -5.0]])
    eligible = np.array([[False, True], [True, True]])
    choice = choose_actions(benefit, eligible, np.zeros(2), np.array([np.inf, np.inf]), 0.0)
    assert choice.tolist() == [1, NONE]


@settings(max_examples=400, deadline=None)
@given(
    n=st.integers(1, 5),
    m=st.integers(1, 3),
    seed=st.integers(0, 10_000),
    budget=st.floats(0, 30),
)
def test_constraints_always_hold_and_result_is_near_optimal(n, m, seed, budget):
    rng = np.random.default_rng(seed)
    benefit = rng.normal(3, 5, (n, m)).round(1)
    eligible = rng.random((n, m)) < 0.8
    cost = rng.integers(0, 10, m).astype(float)
    capacity = rng.integers(0, n + 1, m).astype(float)
    choice = choose_actions(benefit, eligible, cost, capacity, budget)
    chosen = choice[choice != NONE]
    assert cost[chosen].sum() <= budget + 1e-9
    assert (np.bincount(chosen, minlength=m) <= capacity).all()
    assert all(eligible[i, j] and benefit[i, j] > 0 for i, j in enumerate(choice) if j != NONE)
    assert (choose_actions(benefit, eligible, cost, capacity, budget) == choice).all()
    optimum = brute_force(benefit, eligible, cost, capacity, budget)
    assert total(choice, benefit) >= 0.75 * optimum - 1e-9


def test_a_left_out_customer_takes_the_place_of_one_who_gains_less():
    # Found by the property test: action 0 (room for one) went to customer 1 (0.9) while
    # customer 0, who gains 6.5 from it, got nothing. The optimum is 6.5 + 5.2 + 8.3 = 20.
    benefit = np.array([[6.5, 8.5, 6.1], [0.9, -4.5, -1.6], [0.4, 1.6, 5.2], [-3.0, 1.3, 8.3], [0.3, 1.7, 2.9]])
    eligible = np.array([[1, 0, 1], [1, 1, 1], [1, 1, 1], [0, 1, 1], [1, 1, 1]], dtype=bool)
    cost, capacity = np.array([2.0, 7.0, 3.0]), np.array([1.0, 4.0, 2.0])
    choice = choose_actions(benefit, eligible, cost, capacity, 13.0)
    assert total(choice, benefit) == pytest.approx(brute_force(benefit, eligible, cost, capacity, 13.0)) == 20.0


def test_scales_to_a_million_customers():
    rng = np.random.default_rng(0)
    benefit = rng.normal(1, 5, (1_000_000, 8))
    cost = rng.uniform(0, 20, 8)
    choice = choose_actions(benefit, np.ones_like(benefit, bool), cost, np.full(8, 50_000.0), 500_000.0)
    assert cost[choice[choice != NONE]].sum() <= 500_000.0


def _price_trying_everyone(base: np.ndarray, cost: np.ndarray, budget: float) -> float:
    """The budget price by plain bisection, every customer's choice at every step."""

    def spend(score: np.ndarray) -> float:
        best = score.argmax(axis=1)
        chosen = best[score[np.arange(len(score)), best] > 0]
        return float(cost[chosen].sum())

    if spend(base) <= budget:
        return 0.0
    positive = cost > 0
    finite = np.where(np.isfinite(base[:, positive]), base[:, positive], 0.0)
    lo, hi = 0.0, float(np.max(finite / cost[positive], initial=0.0)) + 1.0
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if spend(base - mid * cost) <= budget else (mid, hi)
    return hi


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 60), m=st.integers(1, 6), seed=st.integers(0, 10_000), share=st.floats(0, 1))
def test_the_budget_price_settles_customers_as_trying_everyone_would(n, m, seed, share):
    from churn.actions.optimize import _budget_price

    rng = np.random.default_rng(seed)
    benefit = rng.integers(-5, 40, (n, m)).astype(float)  # whole numbers: ties between actions abound
    base = np.where(rng.random((n, m)) < 0.7, benefit, -np.inf)
    cost = rng.choice([0.0, 1.0, 2.5, 4.0, 10.0], m)
    best = np.where(np.isfinite(base), base, -np.inf).max(axis=1)
    budget = share * float(cost.max() * (best > 0).sum())
    assert _budget_price(base, cost, budget) == _price_trying_everyone(base, cost, budget)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 80), k=st.integers(0, 90), seed=st.integers(0, 10_000))
def test_the_first_k_by_value_are_those_of_a_whole_sort(n, k, seed):
    from churn.actions.optimize import _first

    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(1000, n, replace=False))
    values = rng.integers(0, 6, n).astype(float)  # few values: ties at the k-th abound
    whole = rows[np.lexsort((rows, -values))][:k]
    np.testing.assert_array_equal(_first(rows, values, k), whole)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_plans_built_side_by_side_are_those_built_one_after_another(monkeypatch, seed):
    import churn.actions.optimize as optimize

    rng = np.random.default_rng(seed)
    benefit = np.round(rng.normal(1, 5, (3_000, 6)), 1)  # rounded: ties between customers
    eligible = rng.random((3_000, 6)) < 0.8
    cost = np.array([12.0, 6.0, 4.0, 3.0, 1.5, 0.3])
    capacity = np.array([40.0, np.inf, 100.0, np.inf, np.inf, np.inf])
    monkeypatch.setattr(optimize, "_THREADED_ROWS", 10**9)
    alone = choose_actions(benefit, eligible, cost, capacity, 900.0)
    monkeypatch.setattr(optimize, "_THREADED_ROWS", 0)
    monkeypatch.setattr(optimize.os, "cpu_count", lambda: 3)
    assert (choose_actions(benefit, eligible, cost, capacity, 900.0) == alone).all()
    assert (alone != NONE).sum() > 0
