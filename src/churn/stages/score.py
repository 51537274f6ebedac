"""Stage `score` and `churn score`: for every customer the risk, the reasons, the value and
the retention action that pays best under the budget.

Default (the DVC stage): every customer with history in the ingested data, as of its
newest day, with the local model; writes data/scores/churn_scores.csv and .parquet and
data/scores/churn_scores.summary.json. `churn score` can instead score another
transactions file, a customer list, an earlier as-of day, or a model from MLflow.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from churn import io, layout
from churn.config import Params
from churn.inputs import campaigns as campaign_inputs
from churn.inputs import model as model_input
from churn.inputs import tables as inputs
from churn.inputs.scoring import customer_list, scoring_snapshot
from churn.inputs.uplift import planning_policy
from churn.scoring.predict import check_horizon
from churn.scoring.ranking import choose_ranking, model_facts, model_label, without_actions
from churn.scoring.scores import score_summary
from churn.scoring.table import score_table
from churn.timeline import as_of_warnings, cutoff_for_as_of, scoring_cutoff


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
    model, identity = model_input.load(root, model_uri)
    check_horizon(model, params.churn.horizon_days, model_uri or str(layout.MODEL))
    con, tx, events, customer_table, counts = inputs.tables(root, params, transactions)
    newest = inputs.time_span(con, tx)[1]
    cutoff = cutoff_for_as_of(as_of) if as_of else scoring_cutoff(newest)
    snapshot, probability = scoring_snapshot(root, params, con, (tx, events, customer_table), cutoff, model, model_uri)
    requested, duplicates = customer_list(customers) if customers is not None else (None, 0)

    ranking = choose_ranking(model, identity["skill"], params.score.without_skill, snapshot, params.churn.horizon_days)
    rates = campaign_inputs.rates(root, params)
    uplift_model, policy = planning_policy(root, params.score.policy, rates)
    scored = score_table(
        snapshot,
        ranking.scorer,
        params if ranking.plan else without_actions(params),
        cutoff=cutoff,
        requested=requested,
        contacts=inputs.contacts(root),
        probability=probability if ranking.by == "model" else None,
        rates=rates,
        uplift_model=uplift_model,
        progress=progress,
        ranked_by=model_label(identity, model) if ranking.by == "model" else "bgnbd",
    )

    targets = [output] if output else [root / layout.SCORES_CSV, root / layout.SCORES_PARQUET]
    for target in targets:
        io.write_table(scored.table, target)
    summary = score_summary(
        scored,
        params,
        cutoff=cutoff,
        duplicate_ids_in_list=duplicates,
        rejected_transaction_rows=counts["rows_rejected"] if counts else 0,
        outputs=io.project_relative(targets, root),
        success_rates=rates.sources if rates else None,
        model=model_facts(identity, model),
        ranking={"by": ranking.by, "planned": ranking.plan, "why": ranking.why},
        policy=policy,
    )
    # Written last, with each file's digest: a run killed between its renames is detected on read.
    summary["sha256"] = {str(rel): io.file_sha256(t) for rel, t in zip(summary["outputs"], targets)}
    io.write_json(summary, targets[0].with_suffix(".summary.json"))
    return {**summary, "warnings": as_of_warnings(cutoff, newest)}  # said, not stored in the files
