"""From scored customers to one recommended retention action each.

Pure: a frame of scored customers and the typed settings in, the action columns out.
Rules, in order:
1. Unknown customers (no history) get no action.
2. A stable-hash control group (actions.control_share) is planned like everyone else but
   gets no action; `held_out_action` names the one it would have got, so the effect of
   each action can be measured against it.
3. Customers contacted within actions.min_days_between_contacts get no contact action.
4. Each playbook action is open to the customers matching all its conditions.
5. Among those, `choose_actions` maximises total expected net benefit under
   actions.budget and each action's capacity: uplift x model_clv - cost where an uplift
   model predicts the action's incremental retention for the customer (never offered where
   that is not positive), else p x model_clv x success_rate - cost. Lapsed customers count
   as p = 1: without action they are gone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from churn.actions.control import control_group
from churn.actions.optimize import NONE, choose_actions
from churn.actions.playbook import condition_mask
from churn.campaigns.effects import segment_values
from churn.campaigns.rates import LearnedRates
from churn.config import ActionSettings


def assign_groups(frame: pd.DataFrame, settings: ActionSettings) -> pd.Series:
    """treatment / control for known customers, empty for unknown ones."""
    group = control_group(frame["customer_id"], settings.campaign, settings.control_share)
    return group.where((frame["status"] != "unknown").to_numpy(), pd.NA)


def unavailable_actions(frame: pd.DataFrame, settings: ActionSettings) -> dict[str, str]:
    """Actions whose conditions name a field these data do not have (e.g. loyalty_member
    without a customers table): they are offered to nobody, and the summary says why."""
    out = {}
    for action in settings.playbook[:-1]:
        missing = sorted({c.field for c in action.when} - set(frame.columns))
        if missing:
            out[action.name] = f"needs field(s) not in these data: {', '.join(missing)}"
    return out


def eligibility(
    frame: pd.DataFrame, settings: ActionSettings, contacted: np.ndarray, pending: np.ndarray | None = None
) -> np.ndarray:
    """(customers, actions) True where the action is open to the customer; `contacted`
    marks the customers contacted too recently for another contact.

    `pending` marks rows whose missing values are not known yet (reasons not computed):
    there a condition on a missing value counts as met, so the plan can say whose
    reasons are worth computing."""
    actions = settings.playbook[:-1]  # the last one is the fallback: no action
    out = np.zeros((len(frame), len(actions)), dtype=bool)
    unavailable = unavailable_actions(frame, settings)
    for j, action in enumerate(actions):
        if action.name in unavailable:
            continue
        mask = pd.Series(True, index=frame.index)
        for cond in action.when:
            met = condition_mask(frame, cond)
            if pending is not None:
                met |= pd.Series(pending, index=frame.index) & frame[cond.field].isna()
            mask &= met
        ok = mask.to_numpy(copy=True)
        if action.channel != "none":
            ok &= ~contacted
        out[:, j] = ok
    return out


# Rows per batch when pricing the options: the (customers x actions) arrays exist for one
# batch at a time, and only the rows with an action worth planning are kept.
BATCH_ROWS = 200_000


@dataclass(frozen=True)
class Choice:
    """A plan as per-customer arrays, before any text: what `describe` turns into the action
    columns.

    `action` and `held_out` index the playbook's actions (NONE: nothing). `net`, `rate` and
    `lift` belong to the action given: its net benefit (0 without one), its success rate
    (NaN where the uplift model priced it) and its predicted uplift (NaN where it did not).
    `open` marks customers with some action open to them; `best` is the most an open action
    would net them; `contacted` marks those contacted too recently for another contact."""

    action: np.ndarray
    held_out: np.ndarray
    net: np.ndarray
    rate: np.ndarray
    lift: np.ndarray
    open: np.ndarray
    best: np.ndarray
    contacted: np.ndarray
    known: np.ndarray
    treat: np.ndarray
    group: pd.Series

    def chosen(self) -> np.ndarray:
        """Rows given an action or held back from one."""
        return (self.action != NONE) | (self.held_out != NONE)


def plan_actions(
    frame: pd.DataFrame,
    settings: ActionSettings,
    recently_contacted: pd.Index,
    pending: np.ndarray | None = None,
    group: pd.Series | None = None,
    rates: LearnedRates | None = None,
    uplift: np.ndarray | None = None,
) -> pd.DataFrame:
    """recommended_action, action_reason, expected_net_benefit, success_rate or
    expected_uplift (the one the benefit used), priority, group and held_out_action per row.

    Reads customer_id, status (active | lapsed | unknown), churn_probability, model_clv,
    reason_1 (when present) and any field the playbook's conditions name. See
    `eligibility` for `pending`; `group` is `assign_groups(frame, settings)`, computed
    here when not given. `rates` (learned from past campaigns) replace the playbook's
    guessed success rates, per customer by segment, and close actions measured as harmful
    for a segment to that segment. `uplift` (customers, actions; NaN where not predicted)
    is the uplift model's incremental retention, used in place of p x success_rate.

    Everyone known is planned, control group included, within the budget; the control
    group then gets no action, and `held_out_action` names the one it would have got (the
    shadow action), so the campaign's effect can be measured per action.
    """
    chosen = choose(frame, settings, recently_contacted, pending, group, rates, uplift)
    return describe(frame, settings, chosen)


def choose(
    frame: pd.DataFrame,
    settings: ActionSettings,
    recently_contacted: pd.Index,
    pending: np.ndarray | None = None,
    group: pd.Series | None = None,
    rates: LearnedRates | None = None,
    uplift: np.ndarray | None = None,
) -> Choice:
    """The plan's arrays (plan_actions without the text)."""
    options = price_options(frame, settings, recently_contacted, pending, group, rates, uplift)
    return decide(options, settings)


@dataclass
class Options:
    """The priced options of a frame's customers: what `decide` plans from.

    Only the rows with an action worth planning (open, known, positive net benefit) are
    held, at frame positions `rows` (ascending): `benefit`, `worth`, `success`, `modelled`
    and `lift` are (rows, actions). `open`, `best`, `contacted`, `known`, `treat` and `group`
    are per customer, as in Choice."""

    rows: np.ndarray
    benefit: np.ndarray
    worth: np.ndarray
    success: np.ndarray
    modelled: np.ndarray
    lift: np.ndarray
    open: np.ndarray
    best: np.ndarray
    contacted: np.ndarray
    known: np.ndarray
    treat: np.ndarray
    group: pd.Series


def price_options(
    frame: pd.DataFrame,
    settings: ActionSettings,
    recently_contacted: pd.Index,
    pending: np.ndarray | None = None,
    group: pd.Series | None = None,
    rates: LearnedRates | None = None,
    uplift: np.ndarray | None = None,
) -> Options:
    """Every customer's options priced, a batch of rows at a time; only the rows with an
    action worth planning are kept, which are exactly the rows `choose_actions` would pick
    out itself: the same plan, with the (customers x actions) arrays of a fraction of the
    customers."""
    known = (frame["status"] != "unknown").to_numpy()
    if group is None:
        group = assign_groups(frame, settings)
    treat = (group == "treatment").fillna(False).to_numpy()
    contacted = frame["customer_id"].isin(recently_contacted).to_numpy()  # once: each call hashes the list

    n = len(frame)
    is_open, best = np.zeros(n, dtype=bool), np.full(n, -np.inf)
    parts = []
    for start in range(0, max(n, 1), BATCH_ROWS):  # one batch at least: the arrays exist with no customers too
        rows = slice(start, start + BATCH_ROWS)
        priced = _priced_rows(frame, settings, rows, contacted, known, pending, rates, uplift)
        is_open[rows], best[rows] = priced.open, priced.best
        keep = np.flatnonzero(priced.worth.any(axis=1))
        parts.append((start + keep, *(a[keep] for a in _held(priced))))
    held = (np.concatenate(arrays) for arrays in zip(*parts))
    return Options(*held, is_open, best, contacted, known, treat, group)


def reprice(
    options: Options,
    frame: pd.DataFrame,
    settings: ActionSettings,
    rows: np.ndarray,
    pending: np.ndarray | None = None,
    rates: LearnedRates | None = None,
    uplift: np.ndarray | None = None,
) -> bool:
    """Price the options of frame positions `rows` again, in place (their reasons were just
    computed: a condition or a rate may read them), and say whether anything changed; if
    nothing did, `decide` would plan as before. Every row given must be held in `options`:
    rows given an action or held back from one always are."""
    at = np.searchsorted(options.rows, rows)
    priced = _priced_rows(frame, settings, rows, options.contacted, options.known, pending, rates, uplift)
    now, before = _held(priced), _held(options)
    changed = not (
        np.array_equal(priced.open, options.open[rows])
        and np.array_equal(priced.best, options.best[rows])
        and all(np.array_equal(new, old[at], equal_nan=True) for new, old in zip(now, before))
    )
    for new, old in zip(now, before):
        old[at] = new
    options.open[rows], options.best[rows] = priced.open, priced.best
    return changed


def _held(options) -> tuple[np.ndarray, ...]:
    """The (rows, actions) arrays of Options (or of one batch's prices), in field order."""
    return options.benefit, options.worth, options.success, options.modelled, options.lift


def _priced_rows(
    frame: pd.DataFrame,
    settings: ActionSettings,
    rows: np.ndarray | slice,
    contacted: np.ndarray,
    known: np.ndarray,
    pending: np.ndarray | None,
    rates: LearnedRates | None,
    uplift: np.ndarray | None,
) -> Options:
    """The options of frame positions `rows` (a slice of a batch, or the rows repriced), all
    of them, worth planning or not."""
    cost = np.array([a.cost for a in settings.playbook[:-1]])
    benefit, eligible, success, modelled, lift = _price(
        frame.iloc[rows],
        settings,
        cost,
        contacted[rows],
        None if pending is None else pending[rows],
        rates,
        None if uplift is None else uplift[rows],
    )
    worth = eligible & known[rows, None] & (benefit > 0)
    best = np.where(eligible, benefit, -np.inf).max(axis=1, initial=-np.inf)
    return Options(rows, benefit, worth, success, modelled, lift, eligible.any(axis=1), best, *(None,) * 4)


def decide(options: Options, settings: ActionSettings) -> Choice:
    """The plan of the priced options: `choose_actions` within the budget and capacities,
    the control group held back."""
    actions = settings.playbook[:-1]
    cost = np.array([a.cost for a in actions])
    capacity = np.array([np.inf if a.capacity is None else a.capacity for a in actions])
    cand, benefit, worth = options.rows, options.benefit, options.worth
    n, treat = len(options.open), options.treat

    choice = np.full(n, NONE)
    choice[cand] = choose_actions(benefit, worth, cost, capacity, settings.budget)
    held_out = np.where(~treat & (choice != NONE), choice, NONE)
    choice = np.where(treat, choice, NONE)

    # The given action's net benefit, and what priced it: the uplift model or a success rate.
    net, rate, lifted = np.zeros(n), np.full(n, np.nan), np.full(n, np.nan)
    given = choice[cand]
    acted, planned, at = given != NONE, np.maximum(given, 0), np.arange(len(cand))
    by_uplift = acted & options.modelled[at, planned]
    net[cand] = np.where(acted, benefit[at, planned], 0.0)
    rate[cand] = np.where(~acted | by_uplift, np.nan, options.success[at, planned])
    lifted[cand] = np.where(by_uplift, options.lift[at, planned], np.nan)
    # Copies of what `reprice` changes in place: a plan keeps the options it was made from.
    open_, best = options.open.copy(), options.best.copy()
    return Choice(
        choice,
        held_out,
        net,
        rate,
        lifted,
        open_,
        best,
        options.contacted,
        options.known,
        treat,
        options.group,
    )


def _price(
    frame: pd.DataFrame,
    settings: ActionSettings,
    cost: np.ndarray,
    contacted: np.ndarray,
    pending: np.ndarray | None,
    rates: LearnedRates | None,
    uplift: np.ndarray | None,
) -> tuple[np.ndarray, ...]:
    """(customers, actions) net benefit, eligibility, success rate, whether the uplift
    model priced it, and its uplift (NaN where it did not) of `frame`'s rows."""
    actions = settings.playbook[:-1]
    p = frame["churn_probability"].to_numpy(dtype=float)
    p = np.where(frame["status"].to_numpy() == "lapsed", 1.0, p)
    value = np.nan_to_num(p * frame["model_clv"].to_numpy(dtype=float), nan=0.0)
    success, harmful = success_rates(frame, actions, rates)
    benefit = value[:, None] * success - cost[None, :]
    if uplift is None:
        uplift = np.full(benefit.shape, np.nan)
    modelled = ~np.isnan(uplift)
    if modelled.any():
        clv = np.nan_to_num(frame["model_clv"].to_numpy(dtype=float))
        benefit = np.where(modelled, np.nan_to_num(uplift) * clv[:, None] - cost[None, :], benefit)
        harmful = harmful | (modelled & ~(np.nan_to_num(uplift) > 0))
    eligible = eligibility(frame, settings, contacted, pending) & ~harmful
    return benefit, eligible, success, modelled, uplift


def describe(frame: pd.DataFrame, settings: ActionSettings, plan: Choice) -> pd.DataFrame:
    """The action columns of plan_actions from the chosen arrays; the reason text is built
    for the rows it differs on only (a million customers, a few thousand actions)."""
    actions = settings.playbook[:-1]
    fallback = settings.playbook[-1]
    choice, held_out, net, known, treat = plan.action, plan.held_out, plan.net, plan.known, plan.treat
    names = np.array([a.name for a in actions] + [fallback.name], dtype=object)
    chosen = np.where(choice == NONE, len(actions), choice)
    acted = choice != NONE

    shown = held_out != NONE
    # Most reasons are one of a few texts, by code (a Python string per customer was a
    # 190 MB peak at a million); those given an action or held back from one get their own.
    common = [
        "unknown customer: no transaction history as of this date",
        f"control group of campaign '{settings.campaign}': held out to measure the effect",
        f"contacted within the last {settings.min_days_between_contacts} days",
        fallback.description,
        "no action pays for itself: expected value saved is below its cost",
        "budget or capacity used up by customers where an action pays more",
    ]
    conditions = [~known, ~treat, ~plan.open & plan.contacted, ~plan.open, plan.best <= 0]
    code = np.select(conditions, list(range(len(conditions))), default=len(conditions))

    acted_rows = np.flatnonzero(acted)  # a few thousand
    descriptions = np.array([a.description for a in actions], dtype=object)
    own = np.where(known[acted_rows], descriptions[choice[acted_rows]], common[0])
    if "reason_1" in frame.columns:
        first = frame["reason_1"].iloc[acted_rows].astype("string").fillna("").to_numpy()
        own[first != ""] = own[first != ""] + " (" + first[first != ""] + ")"
    shown_rows = np.flatnonzero(shown)
    held_back = (
        f"control group of campaign '{settings.campaign}': held out from "
        + names[held_out[shown_rows]].astype(str)
        + " to measure its effect"
    ).tolist()
    code[acted_rows] = len(common) + np.arange(len(acted_rows))
    code[shown_rows] = len(common) + len(acted_rows) + np.arange(len(shown_rows))
    reason = _texts([*common, *own.tolist(), *held_back], code)

    priority = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    order = acted_rows[np.lexsort((frame["customer_id"].iloc[acted_rows].to_numpy(), -net[acted_rows]))]
    priority.iloc[order] = np.arange(1, len(order) + 1)
    return pd.DataFrame(
        {
            "recommended_action": pd.Series(_texts(list(names), chosen), index=frame.index),
            "action_reason": pd.Series(reason, index=frame.index),
            "expected_net_benefit": np.round(net, 2),
            "success_rate": np.round(plan.rate, 4),
            "expected_uplift": np.round(plan.lift, 4),
            "priority": priority,
            "group": plan.group,
            "held_out_action": pd.Series(np.where(shown, names[held_out], None), index=frame.index, dtype="string"),
        },
        index=frame.index,
    )


def _texts(texts: list[str], codes: np.ndarray) -> pd.arrays.ArrowStringArray:
    """texts[code] per row as pandas text, built by Arrow without a Python string per row."""
    return pd.array(pa.array(texts, pa.large_string()).take(pa.array(codes)), dtype="string")


def success_rates(frame: pd.DataFrame, actions: list, rates: LearnedRates | None) -> tuple[np.ndarray, np.ndarray]:
    """(customers, actions) success rates and where an action is known to harm: the learned
    rates by segment when given, else the playbook's guess for everyone."""
    guess = np.array([a.success_rate for a in actions], dtype=float)
    if rates is None:
        return np.broadcast_to(guess, (len(frame), len(actions))), np.zeros((len(frame), len(actions)), bool)
    segments = frame[rates.segment_by] if rates.segment_by in frame.columns else pd.Series(pd.NA, index=frame.index)
    # A handful of segment values among a million customers: look each action up per value, then spread.
    codes, values = pd.factorize(segment_values(segments))
    distinct = pd.Series([*values, pd.NA], dtype="string")
    codes = np.where(codes < 0, len(values), codes)
    success = np.column_stack(
        [
            rates.rates_for(a.name, distinct)[codes] if a.name in rates.overall else np.full(len(frame), g)
            for a, g in zip(actions, guess)
        ]
    )
    harmful = np.column_stack([rates.harmful_for(a.name, distinct)[codes] for a in actions])
    return success, harmful
