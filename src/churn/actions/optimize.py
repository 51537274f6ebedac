"""Choose at most one action per customer to maximise total expected net benefit under a
budget and per-action capacities.

Net benefit of action j for customer i: b_ij = p_i * clv_i * success_j - cost_j.

Method (deterministic, vectorised):
1. A price lambda on money (Lagrangian relaxation of the budget): bisection finds the
   smallest lambda at which everyone taking the eligible action maximising
   b_ij - lambda * cost_j (when positive) fits the budget. With an ample budget lambda = 0,
   and if capacities do not bind either, everyone gets their best action: the optimum.
2. Admission in passes: each waiting customer proposes their preferred action among those
   with room left; proposals are admitted best first while capacity and budget last;
   customers turned away propose their next choice in the next pass.
3. Budget still left is filled the same way with plain net benefit as the preference.
Two other plans are built the same way, one preferring plain net benefit from the start
and one starting from the single most valuable affordable action (the classic guard of
price-per-cost rankings against one large item). Each plan is then improved locally
(a left-out customer who gains more from an action takes the place of the one who gains
least), and the most valuable of the three wins. The three plans share no state, so on a
large list they are built side by side, one thread each, with the same result.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from churn import memory

NONE = -1
_BISECTION_STEPS = 30
_MAX_PASSES = 64
# Candidates from which the three plans are built side by side, one thread each: NumPy
# works without the GIL on arrays this large (375,654 candidates: 0.82-0.95 s for the
# three one after another, 0.54-0.58 s side by side on two cores); below it threads cost
# more than they save.
_THREADED_ROWS = 50_000


def _assign(score: np.ndarray) -> np.ndarray:
    """Best column per row, or NONE where no score is positive."""
    if score.shape[1] == 0:
        return np.full(len(score), NONE)
    best = score.argmax(axis=1)
    ok = score[np.arange(len(score)), best] > 0
    return np.where(ok, best, NONE)


def _spend(choice: np.ndarray, cost: np.ndarray) -> float:
    return float(cost[choice[choice != NONE]].sum())


def _budget_price(base: np.ndarray, cost: np.ndarray, budget: float) -> float:
    """Smallest lambda whose unconstrained choices fit the budget (0 when it is ample).

    Bisection. As lambda grows a customer's choice (the best of the lines b - lambda * cost,
    if positive) only moves to cheaper actions, then to none, so a customer with the same
    choice at both ends of the bracket keeps it inside: each step evaluates only the
    customers still in doubt (on 375,654 candidates this took 0.55 s a plan, every one of
    them at every step), and sums the spend over everyone, as before."""
    at_lo = _assign(base)
    if _spend(at_lo, cost) <= budget:
        return 0.0
    # The largest benefit per unit of cost, a column at a time (max(x) / c is max(x / c) for
    # c > 0, rounding included), without copies of the whole matrix.
    top = 0.0
    for j in np.flatnonzero(cost > 0):
        column = base[:, j]
        top = max(top, float(np.max(column[np.isfinite(column)], initial=0.0)) / cost[j])
    lo, hi = 0.0, top + 1.0
    at_hi = _assign(base - hi * cost)
    now = at_lo.copy()  # the choices at the last lambda tried: settled ones never move
    doubt = np.flatnonzero(at_lo != at_hi)
    for _ in range(_BISECTION_STEPS):
        mid = (lo + hi) / 2
        at_mid = _assign(base[doubt] - mid * cost)
        now[doubt] = at_mid
        if _spend(now, cost) <= budget:
            hi = mid
            at_hi[doubt] = at_mid
        else:
            lo = mid
            at_lo[doubt] = at_mid
        doubt = doubt[at_lo[doubt] != at_hi[doubt]]
    return hi


def _admit(choice: np.ndarray, pref: np.ndarray, cost: np.ndarray, capacity: np.ndarray, budget: float) -> np.ndarray:
    """Admit waiting customers' preferred actions (pref > 0), best first, within limits."""
    choice = choice.copy()
    for _ in range(_MAX_PASSES):
        left = budget - _spend(choice, cost)
        counts = np.bincount(choice[choice != NONE], minlength=len(cost))
        room = (counts < capacity) & (cost <= left + 1e-9)
        waiting = np.flatnonzero(choice == NONE)
        if len(waiting) == 0 or not room.any():
            break
        # The waiting customers' preferences among the actions with room, in one copy
        # (of a million customers' candidates, each copy is tens of MB in each plan's thread).
        open_ = pref[waiting]
        open_[:, ~room] = -np.inf
        best = _assign(open_)
        proposing = best != NONE
        if not proposing.any():
            break
        rows, acts = waiting[proposing], best[proposing]
        # Who goes first: whoever loses most by getting their next choice instead
        # (so a full action keeps the customers with no good alternative).
        pick = pref[rows, acts]
        others = open_[proposing]
        del open_
        others[np.arange(len(rows)), acts] = -np.inf
        regret = pick - np.maximum(others.max(axis=1), 0.0)
        order = np.lexsort((rows, -pick, -regret))
        rows, acts = rows[order], acts[order]
        # Rank among proposals for the same action, so capacity admits the best ones.
        rank = np.empty(len(acts), dtype=np.int64)
        for j in np.unique(acts):
            sel = np.flatnonzero(acts == j)
            rank[sel] = np.arange(len(sel))
        fits = rank < (capacity[acts] - counts[acts])
        rows, acts = rows[fits], acts[fits]
        take = np.cumsum(cost[acts]) <= left + 1e-9  # the first always fits: room checked cost
        choice[rows[take]] = acts[take]
    return choice


def choose_actions(
    benefit: np.ndarray,
    eligible: np.ndarray,
    cost: np.ndarray,
    capacity: np.ndarray,
    budget: float,
) -> np.ndarray:
    """Index of the chosen action per customer (NONE for none).

    benefit, eligible: (customers, actions); cost, capacity: (actions,), capacity may be inf.
    Guarantees: spend <= budget, count per action <= capacity, only eligible actions with
    positive net benefit; the same inputs give the same choice.
    """
    benefit = np.asarray(benefit, dtype=float)
    cost = np.asarray(cost, dtype=float)
    capacity = np.asarray(capacity, dtype=float)
    base = np.where(np.asarray(eligible, dtype=bool) & (benefit > 0), benefit, -np.inf)
    choice = np.full(len(benefit), NONE)
    # Only customers with some worthwhile action take part; the rest stay NONE.
    rows = np.flatnonzero(np.isfinite(base).any(axis=1))
    if len(rows) == 0:
        return choice
    choice[rows] = _choose(base[rows], cost, capacity, budget)
    return choice


def _choose(base: np.ndarray, cost: np.ndarray, capacity: np.ndarray, budget: float) -> np.ndarray:
    choice = np.full(len(base), NONE)

    def priced() -> np.ndarray:
        lam = _budget_price(base, cost, budget)
        return _admit(_admit(choice, base - lam * cost, cost, capacity, budget), base, cost, capacity, budget)

    starts = (
        priced,
        lambda: _admit(choice, base, cost, capacity, budget),  # plain net benefit
        lambda: _admit(_single_best(base, cost, capacity, budget), base, cost, capacity, budget),
    )

    def plan(start) -> np.ndarray:
        return _improve(start(), base, cost, capacity, budget)

    # The plans share nothing they change, so each is the same built alone or side by side.
    if len(base) >= _THREADED_ROWS and (os.cpu_count() or 1) > 1:
        with memory.around_threads(), ThreadPoolExecutor(min(len(starts), os.cpu_count() or 1)) as pool:
            plans = list(pool.map(plan, starts))
    else:
        plans = [plan(start) for start in starts]
    # Each plan is feasible; keep the most valuable (the first on ties).
    values = [_value(p, base) for p in plans]
    return plans[int(np.argmax(values))]


def _improve(choice: np.ndarray, base: np.ndarray, cost: np.ndarray, capacity: np.ndarray, budget: float) -> np.ndarray:
    """Local improvement: within each action, a customer left out who gains more from it
    takes the place of the one who gains least (same action, same cost: budget and
    capacity still hold); whoever is displaced may then take what room is left."""
    choice = choice.copy()
    for _ in range(_MAX_PASSES):
        changed = False
        for j in range(base.shape[1]):
            inside = np.flatnonzero(choice == j)
            outside = np.flatnonzero((choice == NONE) & np.isfinite(base[:, j]))
            if len(inside) == 0 or len(outside) == 0:
                continue
            k = min(len(inside), len(outside))
            worst = inside[np.lexsort((inside, base[inside, j]))]
            best = _first(outside, base[outside, j], k)
            # Gains fall along the pairs (best descending, worst ascending): swap the prefix.
            swaps = int(np.argmin(np.append(base[best[:k], j] > base[worst[:k], j] + 1e-9, False)))
            if swaps:
                choice[worst[:swaps]] = NONE
                choice[best[:swaps]] = j
                changed = True
        if not changed:
            break
        choice = _admit(choice, base, cost, capacity, budget)
    return choice


def _first(rows: np.ndarray, values: np.ndarray, k: int) -> np.ndarray:
    """The first k of `rows` by value, highest first (ties: lowest row first), without
    sorting them all: only the rows at or above the k-th highest value can be among them
    (the few held by an action against the many left out, who were sorted whole each pass)."""
    if 0 < k < len(rows) // 2:
        keep = values >= np.partition(values, len(values) - k)[len(values) - k]
        rows, values = rows[keep], values[keep]
    return rows[np.lexsort((rows, -values))][:k]


def _value(choice: np.ndarray, base: np.ndarray) -> float:
    rows = np.flatnonzero(choice != NONE)
    return float(base[rows, choice[rows]].sum())


def _single_best(base: np.ndarray, cost: np.ndarray, capacity: np.ndarray, budget: float) -> np.ndarray:
    """Only the single most valuable affordable choice, then filled: the classic guard
    against a price-per-cost ranking passing over one large, valuable action."""
    affordable = np.where((cost <= budget) & (capacity >= 1), base, -np.inf)
    choice = np.full(len(base), NONE)
    flat = int(np.argmax(affordable))
    row, col = divmod(flat, base.shape[1])
    if affordable[row, col] > 0:
        choice[row] = col
    return choice
