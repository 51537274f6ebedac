"""Stage `score` and `churn score`: for every customer the risk, the reasons, the value and
the retention action that pays best under the budget.

Default (the DVC stage): every customer with history in the ingested data, as of its
newest day, with the local model; writes data/scores/churn_scores.csv and .parquet and
data/scores/churn_scores.summary.json. `churn score` can instead score another
transactions file, a customer list, an earlier as-of day, or a model from MLflow.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from churn import io, layout
from churn.config import Params
from churn.inputs.scoring import scoring_inputs
from churn.scoring.ranking import choose_ranking, model_facts, model_label, without_actions
from churn.scoring.scores import score_summary
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
    model, horizon = got.model, params.churn.horizon_days
    ranking = choose_ranking(model, got.identity["skill"], params.score.without_skill, got.snapshot, horizon)
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
        ranked_by=model_label(got.identity, model) if by_model else "bgnbd",
    )

    got = dataclasses.replace(got, snapshot=None)  # the table holds what is written: free the snapshot first
    targets = [output] if output else [root / layout.SCORES_CSV, root / layout.SCORES_PARQUET]
    for target in targets:
        io.write_table(scored.table, target)
    summary = score_summary(
        scored,
        params,
        cutoff=got.cutoff,
        duplicate_ids_in_list=got.duplicate_ids,
        rejected_transaction_rows=got.rejected_rows,
        outputs=io.project_relative(targets, root),
        success_rates=got.rates.sources if got.rates else None,
        model=model_facts(got.identity, model),
        ranking={"by": ranking.by, "planned": ranking.plan, "why": ranking.why},
        policy=got.policy,
    )
    # Written last, with each file's digest: a run killed between its renames is detected on read.
    summary["sha256"] = {str(rel): io.file_sha256(t) for rel, t in zip(summary["outputs"], targets)}
    io.write_json(summary, targets[0].with_suffix(".summary.json"))
    return {**summary, "warnings": as_of_warnings(got.cutoff, got.newest)}  # said, not stored in the files
