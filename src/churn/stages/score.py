"""Stage `score` and `churn score`: per customer the risk, the reasons, the value and the
retention action that pays best under the budget (data/scores/churn_scores.csv, .parquet and
.summary.json). `churn score` can score another transactions file, a customer list, an
earlier as-of day or a model from MLflow instead."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from churn import io, layout, memory
from churn.config import Params
from churn.inputs.scoring import ScoringInputs, scoring_inputs
from churn.scoring.ranking import Ranking, choose_ranking, model_facts, model_label, without_actions
from churn.scoring.scores import Scored, score_summary
from churn.scoring.table import score_table
from churn.timeline import as_of_warnings


def run(
    root: Path,
    params: Params,
    *,
    transactions: str | None = None,
    customers: Path | None = None,
    as_of: dt.date | None = None,
    model_uri: str | None = None,
    output: Path | None = None,
    progress: bool = True,
) -> dict:
    got = scoring_inputs(root, params, transactions=transactions, customers=customers, as_of=as_of, model_uri=model_uri)
    memory.give_back_freed()  # the snapshot's ranges, sorted and spilled
    try:
        scored, ranking = _scored(got, params, progress)
    finally:
        if got.spill is not None:
            got.spill.close()
    # The table holds what is written: free the snapshot first, and give its pages back
    # before the writes add their own.
    got = dataclasses.replace(got, snapshot=None, spill=None)
    memory.give_back_freed()
    targets = [output] if output else [root / layout.SCORES_CSV, root / layout.SCORES_PARQUET]
    summary = score_summary(
        scored,
        params,
        cutoff=got.cutoff,
        duplicate_ids_in_list=got.duplicate_ids,
        rejected_transaction_rows=got.rejected_rows,
        outputs=io.project_relative(targets, root),
        success_rates=got.rates.sources if got.rates else None,
        model=model_facts(got.identity, got.model),
        ranking={"by": ranking.by, "planned": ranking.plan, "why": ranking.why},
        policy=got.policy,
    )
    io.write_with_summary(scored.table, targets, summary)
    return {**summary, "warnings": as_of_warnings(got.cutoff, got.newest)}  # said, not stored in the files


def _scored(got: ScoringInputs, params: Params, progress: bool) -> tuple[Scored, Ranking]:
    """The scores table, and what ranked the customers."""
    ranking = choose_ranking(
        got.model, got.identity["skill"], params.score.without_skill, got.snapshot, params.churn.horizon_days
    )
    by_model = ranking.by == "model"
    scored = score_table(
        got.snapshot,
        ranking.scorer,
        params if ranking.plan else without_actions(params),
        cutoff=got.cutoff,
        requested=got.requested,
        contacts=got.contacts,
        probability=got.probability if by_model else None,
        rates=got.rates,
        uplift_model=got.uplift_model,
        progress=progress,
        rows_of=got.spill.rows if got.spill is not None else None,
        ranked_by=model_label(got.identity, got.model) if by_model else "bgnbd",
    )
    return scored, ranking
