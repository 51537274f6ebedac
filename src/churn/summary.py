"""The headline numbers and output locations, printed after `make run`."""

from __future__ import annotations

from pathlib import Path

from churn import io, layout
from churn.inputs import scores as scores_input


def headline(root: Path) -> str:
    metrics = io.read_json(root / layout.METRICS)
    scores, summary = scores_input.load(root)
    tiers = scores["risk_tier"].value_counts()
    status = summary["by_status"]
    lines = [
        f"Out-of-time test (cutoff {metrics['test_cutoff']}, {metrics['test_customers']} customers, "
        f"churn rate {metrics['test_churn_rate']:.1%}):",
        *_metric_lines(metrics),
        *_comparison_lines(metrics),
        *_ranking_lines(summary),
        f"Scored {status.get('active', 0)} active customers as of {scores['as_of'].iloc[0]} "
        f"({status.get('lapsed', 0)} lapsed flagged): "
        + ", ".join(f"{t} risk {int(tiers.get(t, 0))}" for t in ("high", "medium", "low")),
        "  actions: " + ", ".join(f"{a} {n}" for a, n in summary["actions"].items() if a != "no_action"),
        f"  spend {summary['spend']:,.0f} of {summary['budget']:,.0f}; expected customers retained "
        f"{summary['expected_customers_retained']:,.0f}, revenue kept {summary['expected_revenue_kept']:,.0f} "
        "(predictions; what past campaigns show is below)",
        *_policy_lines(summary),
        *_campaign_lines(root),
        *_uplift_lines(root),
        "Outputs:",
        f"  scores   {layout.SCORES_CSV} (and .parquet, .summary.json)",
        f"  metrics  {layout.METRICS}, plots {layout.PLOTS}/, figures {layout.FIGURES}/",
        f"  report   {layout.REPORT_PAGE} (open in a browser), KPIs {layout.KPIS}",
        f"  campaigns {layout.CAMPAIGNS}, every action x segment in {layout.CAMPAIGN_EFFECTS}",
        f"  uplift   {layout.UPLIFT} (replay of every targeting rule), Qini curves in {layout.UPLIFT_CURVES}/",
        f"  model    {layout.MODEL}; MLflow runs in mlflow.db (make ui)",
    ]
    return "\n".join(lines)


def _metric_lines(metrics: dict) -> list[str]:
    """One line per scorer: ranking metrics for all, probability metrics where they apply."""
    rows = [("model", metrics["model"])] + sorted((metrics.get("baselines") or {}).items())
    out = []
    for name, m in rows:
        line = f"  {name:<9} ROC-AUC {m['roc_auc']:.3f}  PR-AUC {m['pr_auc']:.3f}" + (
            f"  top-decile lift {m['top_decile_lift']:.2f}" if "top_decile_lift" in m else ""
        )
        if "brier" in m:
            line += f"  Brier {m['brier']:.3f}" + (f"  ECE {m['ece']:.3f}" if "ece" in m else "")
        out.append(line)
    return out


def _comparison_lines(metrics: dict) -> list[str]:
    """Model minus the best baseline, with the bootstrap interval, and the skill verdict."""
    skill = metrics.get("skill")
    if not skill:
        return []
    best = skill["best_baseline"]
    cells = metrics["comparison"]["versus"][best]
    parts = [
        f"{label} {c['difference']:+.3f} [{c['ci_low']:+.3f}, {c['ci_high']:+.3f}]"
        for label, c in (
            ("ROC-AUC", cells["roc_auc"]),
            ("PR-AUC", cells["pr_auc"]),
            ("lift", cells["top_decile_lift"]),
        )
    ]
    lines = [f"  model minus best baseline ({best}), 95% interval: " + ", ".join(parts)]
    if not skill["has_skill"]:
        lines.append(f"  WARNING: the model has no skill: {skill['reason']}")
    note = (metrics.get("calibration") or {}).get("note")
    if note and "refused" in note:  # a choice made by `auto` is not news
        lines.append(f"  calibration: {note}")
    return lines


def _ranking_lines(summary: dict) -> list[str]:
    ranking = summary.get("ranking")
    model = summary.get("model") or {}
    if not ranking:
        return []
    return [f"Ranked by {ranking['by']} ({model.get('uri')}): {ranking['why']}"]


def _policy_lines(summary: dict) -> list[str]:
    policy = summary.get("policy")
    return [f"  targeted by {policy['by']}: {policy['why']}"] if policy else []


def _uplift_lines(root: Path) -> list[str]:
    """Uplift targeting against risk targeting (and the oracle, or the reference learner),
    replayed on the newest closed campaign; every rule is in reports/uplift.json."""
    path = root / layout.UPLIFT
    evaluation = io.read_json(path).get("evaluation") if path.is_file() else None
    if not evaluation:
        return []
    policies = evaluation["policies"]
    lines = [
        f"Targeting rules replayed on {evaluation['evaluated_on']} (budget {evaluation['budget']:,.0f}; "
        f"customers kept, 95% interval; all rules in {layout.UPLIFT}):"
    ]
    for name in ("uplift", "risk", "oracle" if "oracle" in policies else "reference"):
        r = policies[name]
        interval = "" if r["ci_low"] is None else f" [{r['ci_low']:+,.0f}, {r['ci_high']:+,.0f}]"
        line = f"  {name:<9} contacted {r['contacted']:>5,}, spent {r['cost']:>7,.0f}, kept {r['incremental_customers']:+,.1f}{interval}"
        if "true_incremental_customers" in r:
            line += f", truly {r['true_incremental_customers']:+.1f}"
        lines.append(line)
    verdict = evaluation["verdict"]
    if verdict.get("share_of_oracle") is not None:
        lines[-1] += f" (uplift targeting captured {verdict['share_of_oracle']:.0%} of it"
        reach = verdict.get("ceiling_share_of_oracle")
        # One line, not a row of its own: the ceiling says how much of the oracle is reachable.
        lines[-1] += ")" if reach is None else f"; the features' ceiling {reach:.0%})"
    return lines


def _campaign_lines(root: Path) -> list[str]:
    """The newest closed campaign: per action, incremental customers kept and ROI, measured
    against its control group."""
    path = root / layout.CAMPAIGNS
    last = io.read_json(path).get("last_closed", {}) if path.is_file() else {}
    if not last.get("campaign"):
        return ["Past campaigns: none measured yet (no contacts with a campaign and a control group)"]
    lines = [f"Last closed campaign {last['campaign']}, against its control group:"]
    for action, cell in sorted(last["actions"].items()):
        roi = "n/a" if cell["roi"] is None else f"{cell['roi']:+.0%}"
        lines.append(
            f"  {action:<19} kept {cell['incremental_customers']:+,.0f} customers "
            f"({cell['incremental_retention']:+.1%}, 95% {cell['ci_low']:+.1%} to {cell['ci_high']:+.1%}), "
            f"ROI {roi}, {cell['verdict']}"
        )
    return lines
