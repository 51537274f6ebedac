"""From a scoring snapshot to the scores table: status, risk, value, reasons and action.

Pure: frames, the model and typed settings in, a new frame out; nothing is read or written.
stages/score.py loads the inputs, calls `score_table` and writes what it returns.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from tqdm import tqdm

from churn import memory
from churn.actions.control import recently_contacted
from churn.actions.plan import (
    Choice,
    Options,
    assign_groups,
    decide,
    describe,
    price_options,
    reprice,
    unavailable_actions,
)
from churn.campaigns.rates import LearnedRates
from churn.config import Params
from churn.errors import ChurnError
from churn.features.segments import RFM_COLUMNS
from churn.modeling.model import ChurnModel
from churn.scoring.reasons import explain_rows
from churn.scoring.scores import REASON_COLUMNS, SCORES_TABLE_COLUMNS, Scored, risk_columns, with_status
from churn.scoring.value import VALUE_INPUTS, customer_value
from churn.timeline import as_of_day
from churn.uplift.explain import uplift_reasons
from churn.uplift.learner import UpliftModel

CHUNK_ROWS = 200_000  # rows per prediction batch: memory stays flat as the list grows
MAX_PLAN_ROUNDS = 3  # optimistic rounds; most customers settle in the first two
EXPLAINED = [*REASON_COLUMNS, "protective_factor", "top_driver"]

Inputs = Callable[[np.ndarray], pd.DataFrame]  # rows of the scoring frame -> every snapshot column, same index


def columns_read(params: Params, rates: LearnedRates | None) -> set[str]:
    """The snapshot columns score_table reads itself (those written, those CLV and BG/NBD
    read, the playbook's condition fields, the learned rates' segments); the model's
    inputs it reads through `rows_of`."""
    fields = {cond.field for action in params.actions.playbook for cond in action.when}
    segments = {rates.segment_by} if rates is not None else set()
    written = {"recency_days", "frequency", "monetary_total", *RFM_COLUMNS}
    return {"cutoff", "customer_id", "is_active", *VALUE_INPUTS, *written, *fields, *segments}


def _inputs(
    snapshot: pd.DataFrame, frame: pd.DataFrame, reordered: bool, rows_of: Callable[[np.ndarray], pd.DataFrame] | None
) -> Inputs:
    """Rows of `frame` -> every column of their snapshot rows, indexed as `frame` (only rows
    with history are asked for). Frame rows follow the snapshot's unless a list `reordered` them."""
    at = pd.Index(snapshot["customer_id"]).get_indexer(frame["customer_id"]) if reordered else np.arange(len(frame))
    take = rows_of or (lambda positions: snapshot.iloc[positions])

    def inputs(rows: np.ndarray) -> pd.DataFrame:
        part = take(at[rows])
        part.index = frame.index[rows]
        return part

    return inputs


def score_table(
    snapshot: pd.DataFrame,
    model: ChurnModel,
    params: Params,
    *,
    cutoff: pd.Timestamp,
    requested: pd.Series | None = None,
    contacts: pd.DataFrame | None = None,
    probability: pd.Series | None = None,
    rates: LearnedRates | None = None,
    uplift_model: UpliftModel | None = None,
    progress: bool = False,
    ranked_by: str = "model",
    rows_of: Callable[[np.ndarray], pd.DataFrame] | None = None,
) -> Scored:
    """Score every customer in `snapshot` (or just the `requested` ids, unknown ones included).

    `probability` (per customer_id) skips prediction when the engine already applied the
    model; `contacts` (the contact log) decides who was contacted too recently to contact again;
    `rates` (learned from past campaigns) replace the playbook's guessed success rates;
    `uplift_model` (learned from them too) replaces p x rate for the actions it knows.
    `model` is whatever ranks (scoring/ranking.py: the model or BG/NBD), named in `ranked_by`.
    `rows_of` gives every column of the snapshot rows at these positions when `snapshot`
    holds only the columns scoring reads itself (`columns_read`); the model's inputs are
    fetched with it for the rows it predicts or explains.
    """
    if not snapshot["is_active"].any():
        raise ChurnError(
            f"nobody is active as of {as_of_day(cutoff)}: no customer has a transaction in the "
            f"{params.churn.active_days} days before it (churn.active_days); choose a later --as-of"
        )
    frame = with_status(snapshot, requested, cutoff)
    inputs = _inputs(snapshot, frame, requested is not None, rows_of)
    for col in ("r_score", "f_score", "m_score"):  # stay whole numbers when unknown customers leave gaps
        frame[col] = frame[col].astype("Int8")

    active = np.flatnonzero((frame["status"] == "active").to_numpy())
    p = pd.Series(np.nan, index=frame.index)
    if probability is None:
        p.iloc[active] = _predict(model, inputs, active, progress)
    else:
        p.iloc[active] = probability.reindex(frame["customer_id"].iloc[active]).to_numpy()
    frame = frame.join(risk_columns(p, params.score.risk_tiers))

    known = np.flatnonzero((frame["status"] != "unknown").to_numpy())
    # Only the columns it reads: a copy of every column of a million rows would be 300 MB.
    value = customer_value(frame[VALUE_INPUTS].iloc[known], params.value.clv_horizon_days, params.value.margin)
    frame = frame.join(value[["model_clv"]])
    del value  # its other columns are not written: free them now, not when scoring ends
    frame["value_at_risk"] = (frame["churn_probability"] * frame["model_clv"]).round(2)

    frame = frame.join(lapsed_reasons(frame))
    contacted = pd.Index([])
    if contacts is not None:
        contacted = recently_contacted(contacts, cutoff, params.actions.min_days_between_contacts)
    uplift = None if uplift_model is None else uplift_matrix(uplift_model, inputs, len(frame), active, params)
    plan, reasons = plan_with_reasons(model, frame, inputs, params, contacted, rates, uplift)
    frame.loc[reasons.index, EXPLAINED] = reasons[EXPLAINED]
    frame = frame.join(plan)
    del plan, reasons, uplift  # the frame holds what is written: free the rest before the table is built
    memory.give_back_freed()
    if uplift_model is not None:
        frame["action_reason"] = why_uplift(uplift_model, frame, inputs, params)

    for col in ("recency_days", "monetary_total"):
        frame[col] = frame[col].round(2)
    frame["ranked_by"] = pd.Series(ranked_by, index=frame.index, dtype="string")
    unavailable = unavailable_actions(frame, params.actions)  # first: the table takes its columns out of the frame
    return Scored(_in_table_order(frame), unavailable)


def _in_table_order(frame: pd.DataFrame) -> pd.DataFrame:
    """The scores table: SCORES_TABLE_COLUMNS of `frame`, by priority, then risk, then id.

    Built a column at a time, each taken out of `frame` as it is copied in order, so the
    sorted table never sits beside a whole second copy (the final sort was the peak of
    scoring a million customers). `frame` loses those columns."""
    order = table_order(frame["priority"], frame["churn_probability"], frame["customer_id"])
    columns = {col: frame.pop(col).take(order).reset_index(drop=True) for col in SCORES_TABLE_COLUMNS}
    return pd.DataFrame(columns, copy=False)


def table_order(priority: pd.Series, risk: pd.Series, ids: pd.Series) -> np.ndarray:
    """Positions by priority (missing last), then risk (highest first, missing last), then id,
    as a stable pandas sort by the three orders them: one NumPy sort of numbers, the ids
    ranked once (pandas' sort took 1.2-1.7 s for a million scores)."""
    first = priority.to_numpy(dtype=float, na_value=np.inf)
    p = risk.to_numpy(dtype=float, na_value=np.nan)
    second = np.where(np.isnan(p), np.inf, -p)
    third = pd.factorize(ids, sort=True, use_na_sentinel=False)[0]
    return np.lexsort((third, second, first))


def uplift_matrix(model: UpliftModel, inputs: Inputs, customers: int, active: np.ndarray, params: Params) -> np.ndarray:
    """(customers, playbook actions): predicted incremental retention for active customers
    and the actions the uplift model learnt; NaN elsewhere (planned by success rates)."""
    actions = [a.name for a in params.actions.playbook[:-1]]
    out = np.full((customers, len(actions)), np.nan)
    known = [j for j, name in enumerate(actions) if name in model.actions]
    for start in range(0, len(active) if known else 0, CHUNK_ROWS):  # chunks: memory stays flat
        rows = active[start : start + CHUNK_ROWS]
        predicted = model.predict_all(inputs(rows))
        for j in known:
            out[rows, j] = predicted[:, model.actions.index(actions[j])]
    return out


def why_uplift(model: UpliftModel, frame: pd.DataFrame, inputs: Inputs, params: Params) -> pd.Series:
    """The action reason of customers planned by uplift: the action, its expected gain for
    them and what drives it (control-group rows keep theirs)."""
    reason = frame["action_reason"].copy()
    acted = (frame["priority"].notna() & frame["expected_uplift"].notna()).to_numpy()
    if acted.any():
        rows = frame[acted]
        describe = {a.name: a.description for a in params.actions.playbook}
        action, uplift = rows["recommended_action"], rows["expected_uplift"]
        why = uplift_reasons(model, inputs(np.flatnonzero(acted)), action, uplift, params.value.currency)
        reason[acted] = rows["recommended_action"].map(describe).astype("string") + " (" + why + ")"
    return reason


def lapsed_reasons(frame: pd.DataFrame) -> pd.DataFrame:
    """The reason columns, filled for lapsed customers only ("no purchase for N days"); the
    model explains the active ones."""
    out = pd.DataFrame({col: pd.Series(pd.NA, index=frame.index, dtype="string") for col in EXPLAINED})
    lapsed = frame["status"] == "lapsed"
    days = frame.loc[lapsed, "recency_days"].round().astype("Int64").astype("string")
    out.loc[lapsed, "reason_1"] = "no purchase for " + days + " days (lapsed)"
    out.loc[lapsed, "top_driver"] = "lapsed"
    return out


def plan_with_reasons(
    model: ChurnModel,
    frame: pd.DataFrame,
    inputs: Inputs,
    params: Params,
    contacted: pd.Index,
    rates: LearnedRates | None = None,
    uplift: np.ndarray | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The action columns, and the reasons of the customers who get an action.

    Reasons (SHAP) cost far more than a prediction, and they can decide eligibility
    (`top_driver`), so plan optimistically first (a condition on a reason not computed yet
    counts as met), explain those chosen, and plan again until everyone chosen has real
    reasons. The chosen are few (budget and capacities bound them).

    Everyone's options are priced once; after each round only the rows just explained are
    priced again, and the optimiser runs again only if their options moved (pricing a
    million customers again each round cost about 1 s a round).
    """
    frame = frame.copy(deep=False)  # copy on write: only the reason columns explain() fills are copied
    pending = (frame["status"] == "active").to_numpy().copy()
    group = assign_groups(frame, params.actions)
    explained = []

    def price(optimistic: bool) -> Options:
        return price_options(frame, params.actions, contacted, pending if optimistic else None, group, rates, uplift)

    def explained_and_planned(choice: Choice, options: Options, optimistic: bool) -> tuple[Choice, bool]:
        """Explain the chosen rows still pending; the plan again (the same unless their
        options moved, when only their rows are priced again) and whether anyone was explained."""
        need = np.flatnonzero(pending & choice.chosen())
        if len(need) == 0:
            return choice, False
        with memory.around_threads():  # LightGBM's threads compute the contributions
            reasons = explain_rows(model, inputs(need), params.value.currency)
        frame.loc[reasons.index, EXPLAINED] = reasons[EXPLAINED]
        explained.append(reasons)
        pending[need] = False
        moved = reprice(options, frame, params.actions, need, pending if optimistic else None, rates, uplift)
        return (decide(options, params.actions) if moved else choice), True

    options = price(optimistic=True)
    choice = decide(options, params.actions)
    for _ in range(MAX_PLAN_ROUNDS):
        choice, explaining = explained_and_planned(choice, options, optimistic=True)
        if not explaining:
            return describe(frame, params.actions, choice), _stack(explained)
    # Still moving: plan without optimism, then explain whoever was chosen (the same plan:
    # those rows' reasons gate nothing they could get; the reason text gains the first reason).
    options = price(optimistic=False)
    choice, _ = explained_and_planned(decide(options, params.actions), options, optimistic=False)
    return describe(frame, params.actions, choice), _stack(explained)


def _stack(parts: list[pd.DataFrame]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame({col: pd.Series(dtype="string") for col in EXPLAINED})
    return pd.concat(parts)


def _predict(model: ChurnModel, inputs: Inputs, rows: np.ndarray, progress: bool) -> np.ndarray:
    """Probabilities of frame's `rows`, a chunk of rows at a time (never a copy of them all)."""
    out = np.empty(len(rows))
    starts = range(0, len(rows), CHUNK_ROWS)
    for start in tqdm(starts, desc="scoring", unit="chunk", disable=not progress or len(starts) < 3):
        out[start : start + CHUNK_ROWS] = model.predict_proba(inputs(rows[start : start + CHUNK_ROWS]))
    return out
