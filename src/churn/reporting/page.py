"""The report as one self-contained HTML page (pure: values in, text out).

Images are embedded as base64 data URIs and the style sheet is inline, so the page needs
no network, no JavaScript and no other file; it holds no timestamp, so the same inputs
give the same bytes.
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from churn.reporting.kpis import PERIOD_COLUMNS


@dataclass(frozen=True)
class PageFigure:
    name: str
    caption: str
    png: bytes


@dataclass(frozen=True)
class ReportContent:
    """Everything the page shows; built by stages/report.py from the pipeline's outputs."""

    kpis: dict
    periods: pd.DataFrame
    risk: pd.DataFrame
    segment_label: str
    actions: pd.DataFrame
    metrics: dict | None
    report_figures: tuple[PageFigure, ...]
    evaluation_figures: tuple[PageFigure, ...]
    table_links: tuple[tuple[str, str], ...]  # (label, relative path)
    campaigns: dict | None = None  # reports/campaigns.json, when campaigns were measured
    uplift: dict | None = None  # reports/uplift.json, when an uplift model was evaluated
    currency: str | None = None  # value.currency, said after every amount


PAGE_HIDDEN_COLUMNS = {"start", "end", "buyers", "orders", "revenue", "expected_lifetime_periods"}

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;color:#1d2733;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{margin:0 0 4px}h2{margin-top:36px;border-bottom:2px solid #d8dde3;padding-bottom:4px}
.lead{color:#4a5866;margin-top:0}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:12px;margin:0}
.kpi{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:10px 12px}
.kpi dt{font-size:13px;color:#4a5866}.kpi dd{margin:4px 0 0;font-size:24px;font-weight:600}
.kpi .note{display:block;font-size:12px;font-weight:400;color:#6b7885}
table{border-collapse:collapse;font-size:13px;margin:8px 0;display:block;overflow-x:auto;max-width:100%}
th,td{border:1px solid #d8dde3;padding:4px 8px;text-align:right;white-space:nowrap;background:#fff}
th{background:#eef1f4;white-space:normal;vertical-align:bottom}td:first-child,th:first-child{text-align:left}
figure{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:8px;margin:12px 0;display:inline-block;max-width:100%}
figure img{max-width:100%;height:auto;display:block}figcaption{font-size:13px;color:#4a5866;margin-top:4px}
.note-box{background:#fff8e1;border:1px solid #f0d98a;border-radius:6px;padding:8px 12px;font-size:14px}
dl.defs dt{font-weight:600;margin-top:8px}dl.defs dd{margin-left:16px}
footer{margin-top:36px;font-size:13px;color:#6b7885}
"""

DEFINITIONS = (
    ("Active customer at an instant t", "a transaction (refunds included) in [t - active_days, t)."),
    ("Customers at start / end", "customers active at the first instant of the period / of the next period."),
    ("New", "customers whose first transaction in the data falls in the period."),
    ("Lost", "active at the start, not active at the end: no transaction for active_days."),
    ("Reactivated", "lapsed customers (not active at the start, not new) who are active again at the end."),
    (
        "Retention rate",
        "(customers at end - new) / customers at start. With reactivations it and the lapse "
        "rate add up to more than 100%.",
    ),
    (
        "Lapse rate",
        "lost / customers at start: the business churn rate, customers lapsing by the churn.active_days "
        "rule. The model's churn rate (no transaction within churn.horizon_days) is a different, earlier signal.",
    ),
    ("Repeat-purchase rate", "share of the period's buyers with two or more orders in the period."),
    (
        "Average order value (AOV)",
        "net revenue (refunds subtract) / orders; an order is a purchase (amount > 0), "
        "counted by order id when the data has one.",
    ),
    ("Purchase frequency", "orders / customers at end: orders per active customer per period."),
    ("Expected lifetime", "1 / lapse rate, in periods (the mean of a geometric lifetime)."),
    (
        "Period CLV",
        "AOV x purchase frequency x expected lifetime x value.margin, pooled over the last year of "
        "periods with full history. The model CLV (BG/NBD x Gamma-Gamma per customer) comes from the scoring "
        "stage and is shown beside it when the scores carry it.",
    ),
    (
        "Full history",
        "the data reaches active_days back from the period's start; earlier periods undercount "
        "customers at start, so their churn looks too low. They are shaded grey in the charts.",
    ),
)


def _is_missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, (float, np.floating)) and math.isnan(value))


def fmt_rate(value) -> str:
    return "n/a" if _is_missing(value) else f"{float(value):.1%}"


def fmt_money(value, currency: str | None = None) -> str:
    if _is_missing(value):
        return "n/a"
    return f"{float(value):,.2f}" + (f" {currency}" if currency else "")


def fmt_number(value, digits: int = 2) -> str:
    return "n/a" if _is_missing(value) else f"{float(value):,.{digits}f}"


def fmt_count(value) -> str:
    return "n/a" if _is_missing(value) else f"{int(value):,}"


COUNT_COLUMNS = {"customers_start", "new", "reactivated", "lost", "customers_end", "buyers", "orders", "customers"}


def _format_cell(column: str, value, currency: str | None = None) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if column.endswith("_rate") or column.startswith("share_") or column.endswith("_probability"):
        return fmt_rate(value)
    if column in {"revenue", "average_order_value", "period_clv", "model_clv", "expected_net_benefit", "value_at_risk"}:
        return fmt_money(value, currency)
    if column in COUNT_COLUMNS or column.startswith("n_") or column in {"high", "medium", "low", "lapsed"}:
        return fmt_count(value)  # whole customers, however the table stored them
    if column in {"purchase_frequency", "expected_lifetime_periods"}:
        return fmt_number(value)
    if isinstance(value, (int, np.integer)):
        return fmt_count(value)
    if isinstance(value, (float, np.floating)):
        return fmt_number(value)
    return "n/a" if _is_missing(value) else str(value)


def table_html(
    frame: pd.DataFrame, columns: list[str] | None = None, table_id: str = "", currency: str | None = None
) -> str:
    columns = columns or list(frame.columns)
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in columns)
    body = []
    for row in frame[columns].itertuples(index=False):
        cells = "".join(f"<td>{html.escape(_format_cell(c, v, currency))}</td>" for c, v in zip(columns, row))
        body.append(f"<tr>{cells}</tr>")
    ident = f' id="{html.escape(table_id)}"' if table_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def figure_html(fig: PageFigure) -> str:
    data = base64.b64encode(fig.png).decode("ascii")
    alt = html.escape(fig.caption)
    return (
        f'<figure id="fig-{html.escape(fig.name)}"><img src="data:image/png;base64,{data}" alt="{alt}">'
        f"<figcaption>{alt}</figcaption></figure>"
    )


def _kpi(key: str, label: str, value: str, note: str = "") -> str:
    note_html = f'<span class="note">{html.escape(note)}</span>' if note else ""
    return (
        f'<div class="kpi"><dt>{html.escape(label)}</dt>'
        f'<dd data-kpi="{html.escape(key)}">{html.escape(value)}{note_html}</dd></div>'
    )


def _headline(kpis: dict, currency: str | None = None) -> str:
    latest = kpis["latest_period"]
    trailing = kpis.get("trailing_year")
    scoring = kpis.get("scoring") or {}
    period = f"{kpis['period']} {latest['period']}"
    year = f"{trailing['first_period']} to {trailing['last_period']}" if trailing else "needs full history"
    cards = [
        _kpi("retention_rate", "Customer retention rate", fmt_rate(latest["retention_rate"]), period),
        _kpi("lapse_rate", "Lapse rate", fmt_rate(latest["lapse_rate"]), period),
        _kpi(
            "customers_end", "Active customers", fmt_count(latest["customers_end"]), f"at the end of {latest['period']}"
        ),
        _kpi("new", "New customers", fmt_count(latest["new"]), period),
        _kpi("lost", "Lost customers", fmt_count(latest["lost"]), period),
        _kpi("repeat_purchase_rate", "Repeat-purchase rate", fmt_rate(latest["repeat_purchase_rate"]), period),
        _kpi("average_order_value", "Average order value", fmt_money(latest["average_order_value"], currency), period),
        _kpi(
            "purchase_frequency",
            "Purchase frequency",
            fmt_number(latest["purchase_frequency"]),
            f"orders per active customer per {kpis['period']}",
        ),
        _kpi(
            "trailing_retention_rate",
            "Retention rate, last year",
            fmt_rate(trailing and trailing["retention_rate"]),
            f"pooled, {year}",
        ),
        _kpi(
            "trailing_lapse_rate",
            "Lapse rate, last year",
            fmt_rate(trailing and trailing["lapse_rate"]),
            f"pooled, {year}",
        ),
        _kpi(
            "expected_lifetime_periods",
            "Expected lifetime",
            fmt_number(trailing and trailing["expected_lifetime_periods"], 1),
            f"{kpis['period']}s, 1 / lapse rate",
        ),
        _kpi(
            "period_clv",
            "Period CLV",
            fmt_money(trailing and trailing["period_clv"], currency),
            f"AOV x frequency x lifetime x margin {kpis['margin']}",
        ),
        _kpi(
            "model_clv_mean",
            "Model CLV",
            fmt_money(scoring.get("model_clv_mean"), currency),
            "mean over scored customers"
            if scoring.get("model_clv_mean") is not None
            else "the scores carry no model_clv column",
        ),
    ]
    return f'<dl class="kpis">{"".join(cards)}</dl>'


def _metrics(metrics: dict | None) -> str:
    if not metrics:
        return '<p class="note-box">No evaluation metrics found (reports/metrics.json).</p>'
    rows = []
    model = metrics.get("model", {})
    rows.append(("model", model))
    for name, values in sorted((metrics.get("baselines") or {}).items()):
        rows.append((f"baseline: {name}", values))
    keys = sorted({k for _, values in rows for k in values})
    head = "".join(f"<th>{html.escape(k.replace('_', ' '))}</th>" for k in keys)
    body = "".join(
        "<tr><td>"
        + html.escape(name)
        + "</td>"
        + "".join(f"<td>{html.escape(fmt_number(values.get(k), 3))}</td>" for k in keys)
        + "</tr>"
        for name, values in rows
    )
    lead = (
        f"<p>Out-of-time test at cutoff {html.escape(str(metrics.get('test_cutoff', 'n/a')))}: "
        f"{fmt_count(metrics.get('test_customers'))} customers, "
        f"churn rate {fmt_rate(metrics.get('test_churn_rate'))}.</p>"
    )
    return lead + f'<table id="metrics"><thead><tr><th>scorer</th>{head}</tr></thead><tbody>{body}</tbody></table>'


def _campaigns(summary: dict | None, forest: PageFigure | None, currency: str | None = None) -> str:
    """What past campaigns achieved: the last closed campaign per action, and the forest plot."""
    if not summary or not summary.get("last_closed", {}).get("campaign"):
        return ""
    last = summary["last_closed"]
    rows = []
    for action, cell in sorted(last["actions"].items()):
        interval = f"{fmt_signed(cell['ci_low'])} to {fmt_signed(cell['ci_high'])}"
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{html.escape(v)}</td>"
                for v in (
                    action.replace("_", " "),
                    fmt_count(cell["n_treatment"]),
                    fmt_count(cell["n_control"]),
                    f"{fmt_signed(cell['incremental_retention'])} ({interval})",
                    f"{cell['incremental_customers']:+,.0f}",
                    fmt_money(cell["cost"], currency),
                    fmt_rate(cell["roi"]),
                    cell["verdict"],
                )
            )
            + "</tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "action",
            "treated",
            "control",
            "incremental retention (95%)",
            "customers kept",
            "cost",
            "ROI",
            "verdict",
        )
    )
    harmful = summary.get("harmful") or []
    harm_note = (
        "<p>Measured as harmful (never offered there by the plan): " + html.escape("; ".join(harmful)) + ".</p>"
        if harmful
        else ""
    )
    return "".join(
        [
            '<section id="campaigns"><h2>What past campaigns achieved</h2>',
            f"<p>Campaign <strong>{html.escape(last['campaign'])}</strong>, the newest whose outcome window has "
            "closed: each action against the customers held back from it (control group). Customers kept = "
            "incremental retention x customers treated; ROI = (incremental margin - cost) / cost.</p>",
            f'<table id="campaign-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>',
            harm_note,
            figure_html(forest) if forest else "",
            "</section>",
        ]
    )


POLICY_LABELS = {
    "uplift": "uplift targeting (the plan)",
    "risk": "risk targeting: risk x value x guessed rate",
    "measured_rate": "risk x value x measured rate",
    "reference": "reference learner",
    "random": "random",
    "ceiling": "ceiling: a learner given the older campaigns' true effects",
    "oracle": "oracle (true effects)",
}


def _uplift(summary: dict | None, qini: PageFigure | None, currency: str | None = None) -> str:
    """Every targeting rule replayed on the newest closed campaign (reports/uplift.json)."""
    evaluation = (summary or {}).get("evaluation")
    if not evaluation:
        return ""
    truth = "oracle" in evaluation["policies"]
    head = ["rule", "contacted", "spent", "customers kept (95%)", "kept per 1,000 spent", "revenue kept", "mean Qini"]
    head += ["truly kept", "sleeping dogs contacted"] if truth else []
    rows = []
    for name, label in POLICY_LABELS.items():
        r = evaluation["policies"].get(name)
        if r is None:
            continue
        cells = [
            label if name != "reference" else f"{label} ({evaluation['reference_learner']})",
            fmt_count(r["contacted"]),
            fmt_money(r["cost"], currency),
            f"{r['incremental_customers']:+,.1f}"
            + ("" if r["ci_low"] is None else f" ({r['ci_low']:+,.0f} to {r['ci_high']:+,.0f})"),
            fmt_number(r["per_1000_spent"], 1),
            fmt_money(r.get("incremental_revenue"), currency),
            fmt_number(r["qini_mean"], 3),
        ]
        if truth:
            cells += [f"{r['true_incremental_customers']:+,.1f}", fmt_count(r.get("sleeping_dogs_contacted"))]
        rows.append(cells)
    verdict = evaluation["verdict"]
    share = verdict.get("share_of_oracle")
    oracle_note = (
        f" Uplift targeting captured <strong>{share:.0%}</strong> of the oracle's true gain."
        if share is not None
        else ""
    )
    reach = verdict.get("ceiling_share_of_oracle")
    if reach is not None:
        # The oracle knows what happens after the campaign day; the ceiling shows how much of
        # that the features reveal, so the reader can tell the learner's shortfall from theirs.
        oracle_note += (
            f" Even a learner given the true effects of the older campaigns captured {reach:.0%} of it: "
            "the rest depends on what happens after the campaign day, which no feature shows."
        )
    return "".join(
        [
            '<section id="uplift"><h2>Whom the actions really help: targeting rules replayed</h2>',
            f"<p>Each rule chooses, within the budget of {fmt_money(evaluation['budget'], currency)}, whom to "
            f"contact in campaign <strong>{html.escape(evaluation['evaluated_on'])}</strong> "
            f"({fmt_count(evaluation['contacts'])} customers, each with the action they got or were held back "
            "from); the uplift model learnt only from older campaigns. Customers kept are estimated from the "
            "treated and control customers among those chosen (inverse propensity weighting): the intervals "
            "are wide, so read them before the point estimates."
            + (" On the built-in world the true effects are known too." if truth else "")
            + oracle_note
            + "</p>",
            _text_table("uplift-table", head, rows),
            _backtest(evaluation.get("backtest")),
            figure_html(qini) if qini else "",
            "</section>",
        ]
    )


def _backtest(backtest: dict | None) -> str:
    """The rules replayed on each of the last closed campaigns, and added up."""
    if not backtest:
        return ""
    campaigns = backtest["replayed"]
    truth = all("true_incremental_customers" in r for r in backtest["policies"].values())
    head = ["rule", *campaigns, "summed (95%)"] + (["truly kept, summed"] if truth else [])
    rows = []
    for name, label in POLICY_LABELS.items():
        r = backtest["policies"].get(name)
        if r is None:
            continue
        cells = [label, *(f"{r['by_campaign'][c]:+,.1f}" for c in campaigns)]
        cells.append(f"{r['incremental_customers']:+,.1f} ({r['ci_low']:+,.0f} to {r['ci_high']:+,.0f})")
        if truth:
            cells.append(f"{r['true_incremental_customers']:+,.1f}")
        rows.append(cells)
    return (
        f"<p>One campaign is a small sample, so the rules were also replayed on each of the last "
        f"{len(campaigns)} closed campaigns, each with what the campaigns before it taught, and added up "
        "(customers kept):</p>" + _text_table("uplift-backtest", head, rows)
    )


def _text_table(table_id: str, head: list[str], rows: list[list]) -> str:
    """A table of cells already written as text (table_html formats a frame's values itself)."""
    header = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>" for cells in rows)
    return f'<table id="{table_id}"><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>'


def fmt_signed(value) -> str:
    return "n/a" if _is_missing(value) else f"{float(value):+.1%}"


def render_page(content: ReportContent) -> str:
    """The whole page as text."""
    kpis = content.kpis
    figs = {f.name: f for f in content.report_figures}
    currency = content.currency
    scoring = kpis.get("scoring") or {}
    # The page keeps the columns a reader compares; periods.csv has them all.
    period_cols = [c for c in PERIOD_COLUMNS if c not in PAGE_HIDDEN_COLUMNS]
    if scoring.get("expected_net_benefit_total") is None:
        benefit = (
            '<p class="note-box">The scores carry no <code>expected_net_benefit</code> column, so only the '
            "number of customers per action is shown; its expected value appears here once the scoring "
            "stage writes it.</p>"
        )
    else:
        total = fmt_money(scoring["expected_net_benefit_total"], currency)
        benefit = (
            "<p>Expected net benefit of all recommended actions: "
            f'<strong data-kpi="expected_net_benefit_total">{total}</strong>.</p>'
        )
    segment_note = (
        ""
        if content.segment_label == "RFM segment"
        else '<p class="note-box">The scores carry no <code>rfm_segment</code> column, '
        "so risk is shown by risk tier.</p>"
    )
    links = " · ".join(f'<a href="{html.escape(path)}">{html.escape(label)}</a>' for label, path in content.table_links)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Retention report as of {html.escape(str(kpis['as_of']))}</title>",
        f"<style>{_STYLE}</style></head><body><main>",
        "<h1>Retention report</h1>",
        f'<p class="lead">History up to and including {html.escape(str(kpis["as_of"]))}; '
        f"periods are calendar {html.escape(kpis['period'])}s (UTC); a customer is active with a transaction in "
        f"the previous {kpis['active_days']} days. Latest complete {html.escape(kpis['period'])}: "
        f"{html.escape(kpis['latest_period']['period'])}.</p>",
        '<p class="note-box"><strong>Which number to read.</strong> The <em>lapse rate</em> is the business '
        "churn rate: customers lost in a period (no purchase for a year) over customers at its start. A "
        "customer's <em>churn probability</em> (scores, model evaluation) is the chance of no purchase in the "
        "next 90 days, an earlier signal, so it runs much higher. The <em>period CLV</em> is the simple "
        "formula per period; the <em>model CLV</em> is each customer's expected profit from the scoring stage. "
        'What actions achieved is measured against control groups (<a href="#campaigns">past campaigns</a>).</p>',
        '<section id="headline"><h2>Headline KPIs</h2>',
        _headline(kpis, currency),
        "</section>",
        f'<section id="periods"><h2>Customers per {html.escape(kpis["period"])}</h2>',
        table_html(content.periods, period_cols, "period-table", currency),
        "<p>Buyers, orders, revenue and expected lifetime per period are in periods.csv.</p>",
        figure_html(figs["retention"]),
        figure_html(figs["flow"]),
        "</section>",
        '<section id="cohorts"><h2>Acquisition cohorts</h2>',
        "<p>Each row is the month of customers' first transaction; each column the months since. "
        "The first cohort also holds every customer who was already there when the data begins.</p>",
        figure_html(figs["cohorts"]),
        "</section>",
        f'<section id="risk"><h2>Churn risk by {html.escape(content.segment_label)}</h2>',
        f"<p>Latest scoring as of {html.escape(str(scoring.get('as_of')))}: "
        f"{fmt_count(scoring.get('customers'))} customers.</p>",
        segment_note,
        table_html(content.risk, table_id="risk-table", currency=currency),
        figure_html(figs["risk_by_segment"]),
        "</section>",
        '<section id="actions"><h2>Recommended actions</h2>',
        benefit,
        table_html(content.actions, table_id="action-table", currency=currency),
        figure_html(figs["actions"]),
        "</section>",
        _campaigns(content.campaigns, figs.get("campaign_effects"), currency),
        _uplift(content.uplift, figs.get("uplift_qini"), currency),
        '<section id="model"><h2>Model evaluation</h2>',
        _metrics(content.metrics),
        *(figure_html(f) for f in content.evaluation_figures),
        "</section>",
        '<section id="definitions"><h2>Definitions</h2><dl class="defs">',
        *(f"<dt>{html.escape(t)}</dt><dd>{html.escape(d)}</dd>" for t, d in DEFINITIONS),
        "</dl></section>",
        f"<footer>Tables as CSV: {links}. Written by <code>churn report</code>.</footer>",
        "</main></body></html>",
        "",
    ]
    return "\n".join(p for p in parts if p)
