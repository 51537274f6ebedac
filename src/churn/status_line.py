"""One line per stage run: what it did, how long it took, where it wrote.

`churn <stage>` prints this line instead of its result (`--json` prints the result), so
`make run` reads as seven lines and the summary. Results are read with .get(): a line
says less rather than failing when a stage reports fewer facts.
"""

from __future__ import annotations


def _n(value) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _generate(r: dict) -> str:
    files = r.get("files") or {}
    if not files:
        return "your own data is in use (data.source: file): nothing generated"
    return f"wrote a synthetic world of {_n(r.get('n_customers'))} customers: " + ", ".join(
        f"{_n(n)} {name.removesuffix('.csv')} rows" for name, n in files.items()
    )


def _ingest(r: dict) -> str:
    tx = r.get("transactions") or {}
    dropped = ", ".join(
        f"{_n(tx[k])} {label}"
        for k, label in (
            ("rows_filtered_status", "filtered by status"),
            ("rows_duplicate_dropped", "duplicates dropped"),
            ("rows_rejected", "rejected"),
            ("possible_repeats", "exact repeats kept: no order id"),
        )
        if tx.get(k)
    )
    tables = ", ".join(
        f"{name} {_n(c.get('rows_kept'))}" for name, c in r.items() if name != "transactions" and isinstance(c, dict)
    )
    line = f"kept {_n(tx.get('rows_kept'))} of {_n(tx.get('rows_read'))} transaction rows"
    line += f" ({dropped})" if dropped else ""
    line += f" of {_n(tx.get('customers'))} customers" if tx.get("customers") is not None else ""
    return line + (f"; {tables}" if tables else "")


def _features(r: dict) -> str:
    rows = r.get("rows") or {}
    parts = ", ".join(f"{_n(n)} {split}" for split, n in rows.items())
    skipped = r.get("skipped_train_cutoffs") or []
    line = f"snapshot rows: {parts}"
    if r.get("train_cutoffs"):
        line += f" at {len(r['train_cutoffs'])} training cutoffs, test cutoff {r.get('test_cutoff')}"
    if skipped:
        kept = len(r.get("train_cutoffs") or [])
        line += (
            f" (only {kept} of {kept + len(skipped)} planned training cutoffs fit the data: "
            f"{len(skipped)} skipped, with less than features.min_history_days of data before them)"
        )
    return line


def _train(r: dict) -> str:
    return (
        f"trained model version {r.get('model_version')} ({r.get('best_iteration')} trees, "
        f"prior {r.get('prior')}, calibration {r.get('calibration')})"
    )


def _evaluate(r: dict) -> str:
    auc = dict(r.get("roc_auc") or {})
    model = auc.pop("model", None)
    best = max(auc.items(), key=lambda kv: kv[1]) if auc else None
    line = f"out-of-time ROC-AUC {model:.3f}" if isinstance(model, float) else "evaluated"
    if best:
        line += f" (best baseline {best[0]} {best[1]:.3f}"
        versus = (r.get("versus_best_baseline") or {}).get("roc_auc")
        if versus:
            line += f", difference {versus['difference']:+.3f} [{versus['ci_low']:+.3f}, {versus['ci_high']:+.3f}]"
        line += ")"
    skill = r.get("skill") or {}
    if skill and not skill.get("has_skill"):
        line += f"; NO SKILL: {skill['reason']}"
    if r.get("champion"):
        line += f"; {r['champion']}"
    return line


def _campaigns(r: dict) -> str:
    campaigns = r.get("campaigns") or {}
    measured = sum(1 for c in campaigns.values() if c.get("status") == "measured")
    pooled = r.get("pooled") or {}
    verdicts = [cell.get("verdict") for cell in pooled.values()]
    return (
        f"measured {measured} of {len(campaigns)} campaigns: {verdicts.count('helps')} actions help, "
        f"{verdicts.count('harms')} harm, {verdicts.count('unclear')} unclear"
    )


def _uplift(r: dict) -> str:
    line = f"learnt from {len(r.get('campaigns') or [])} campaigns ({_n(r.get('rows', 0))} contacts)"
    evaluation = r.get("evaluation")
    if not evaluation:
        return f"{line}; {r.get('note')}"
    up, risk = evaluation["policies"]["uplift"], evaluation["policies"]["risk"]
    return (
        f"{line}; replayed on {evaluation['evaluated_on']}: uplift targeting kept "
        f"{up['incremental_customers']:+,.0f} customers, risk targeting {risk['incremental_customers']:+,.0f}"
    )


def _score(r: dict) -> str:
    status = r.get("by_status") or {}
    actions = sum(n for a, n in (r.get("actions") or {}).items() if a != "no_action")
    line = (
        f"scored {_n(r.get('customers'))} customers as of {r.get('as_of')} "
        f"({_n(status.get('active', 0))} active, {_n(status.get('lapsed', 0))} lapsed, "
        f"{_n(status.get('unknown', 0))} unknown): {_n(actions)} actions"
    )
    if r.get("budget") is not None:
        line += f", spend {r.get('spend', 0):,.0f} of {r['budget']:,.0f}"
    ranking = r.get("ranking") or {}
    if ranking.get("by") not in (None, "model") or ranking.get("planned") is False:
        line += f"; {ranking['why']}"
    return line


def _report(r: dict) -> str:
    rate = r.get("retention_rate")
    lapse = r.get("lapse_rate")
    line = f"KPIs as of {r.get('as_of')}, latest period {r.get('latest_period')}"
    if isinstance(rate, float) and isinstance(lapse, float):
        line += f": retention {rate:.1%}, lapse {lapse:.1%}"
    return line


LINES = {
    "generate": _generate,
    "ingest": _ingest,
    "features": _features,
    "train": _train,
    "evaluate": _evaluate,
    "campaigns": _campaigns,
    "uplift": _uplift,
    "score": _score,
    "report": _report,
}


def status_line(command: str, result: dict, seconds: float) -> str:
    """`churn <command>: <what it did> (<seconds> s)`, plus where it wrote when it says so."""
    what = LINES[command](result) if command in LINES else "done"
    outputs = result.get("outputs") or ([result["output"]] if result.get("output") else [])
    where = f" -> {', '.join(map(str, outputs))}" if outputs else ""
    return f"churn {command}: {what} ({seconds:.1f} s){where}"
