"""The report's figures (pure: tables in, matplotlib figures or PNG bytes out), drawn with
matplotlib's object API as in curve_figures.py."""

from __future__ import annotations

import io
import textwrap

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from churn.curve_figures import save_png

TIER_COLOURS = {"high": "#c0392b", "medium": "#e67e22", "low": "#27ae60"}


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes without metadata (byte-reproducible)."""
    buffer = io.BytesIO()
    save_png(fig, buffer)
    return buffer.getvalue()


def _tick_every(n: int, most: int = 12) -> int:
    return max(1, int(np.ceil(n / most)))


def rates_figure(periods: pd.DataFrame) -> Figure:
    """Retention and lapse rate per period; periods without full history are hatched."""
    fig = Figure(figsize=(8, 3.6), dpi=100)
    ax = fig.subplots()
    x = np.arange(len(periods))
    ax.plot(x, periods["retention_rate"], marker="o", label="retention rate (left axis)")
    # The lapse rate is a few percent: on the retention rate's 0-100% axis its trend would be flat.
    lapse = ax.twinx()
    lapse.plot(x, periods["lapse_rate"], marker="s", color="#c0392b", label="lapse rate (right axis)")
    lapse.set_ylim(0, max(float(np.nanmax(periods["lapse_rate"].to_numpy(dtype=float), initial=0.0)) * 1.3, 0.01))
    lapse.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    lapse.set_ylabel("lapse rate")
    for i in np.flatnonzero(~periods["full_history"].to_numpy(dtype=bool)):
        ax.axvspan(i - 0.5, i + 0.5, color="grey", alpha=0.15, linewidth=0)
    step = _tick_every(len(periods))
    ax.set_xticks(x[::step], periods["period"].iloc[::step], rotation=45, ha="right")
    ax.set_ylim(0, 1.05)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_ylabel("retention rate")
    ax.set_title("Retention and lapse rate per period (grey: too little history before it)")
    handles = ax.get_legend_handles_labels()[0] + lapse.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="lower left", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def flow_figure(periods: pd.DataFrame) -> Figure:
    """New and reactivated customers (up), lost customers (down), and customers at the end."""
    fig = Figure(figsize=(8, 4), dpi=100)
    ax = fig.subplots()
    x = np.arange(len(periods))
    ax.bar(x, periods["new"], color="#2980b9", label="new")
    ax.bar(x, periods["reactivated"], bottom=periods["new"], color="#8e44ad", label="reactivated")
    ax.bar(x, -periods["lost"], color="#c0392b", label="lost")
    ax.axhline(0, color="black", linewidth=0.8)
    gained, lost = (periods["new"] + periods["reactivated"]).max(), periods["lost"].max()
    ax.set_ylim(-1.1 * max(lost, 1), 1.1 * max(gained, 1))
    ax.set_ylabel("customers gained / lost")
    line = ax.twinx()
    line.plot(x, periods["customers_end"], color="black", marker=".", label="customers at end")
    line.set_ylabel("customers at end")
    line.set_ylim(bottom=0)
    step = _tick_every(len(periods))
    ax.set_xticks(x[::step], periods["period"].iloc[::step], rotation=45, ha="right")
    handles = ax.get_legend_handles_labels()[0] + line.get_legend_handles_labels()[0]
    # Below the axes: inside, it would hide the first period's bars.
    ax.legend(
        handles,
        [h.get_label() for h in handles],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.3),
        ncol=4,
        fontsize=8,
        frameon=False,
    )
    ax.set_title("Customer flow per period")
    fig.tight_layout()
    return fig


def cohort_heatmap(cohorts: pd.DataFrame) -> Figure:
    """Share of each acquisition cohort active k months later, as a heatmap with values."""
    shares = cohorts[[c for c in cohorts.columns if c.startswith("m")]].to_numpy(dtype="float64")
    n_rows, n_cols = shares.shape
    fig = Figure(figsize=(max(7, 0.55 * n_cols + 3), max(3.5, 0.38 * n_rows + 1.8)), dpi=100)
    ax = fig.subplots()
    image = ax.imshow(np.ma.masked_invalid(shares), cmap="Blues", vmin=0, vmax=1, aspect="auto")
    if n_rows * n_cols <= 900:  # beyond that the numbers are unreadable anyway
        for (i, j), value in np.ndenumerate(shares):
            if not np.isnan(value):
                ax.text(
                    j,
                    i,
                    f"{value:.0%}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if value > 0.6 else "black",
                )
    ax.set_xticks(np.arange(n_cols), [str(k) for k in range(n_cols)], fontsize=9)
    labels = [f"{c} ({n})" for c, n in zip(cohorts["cohort"], cohorts["customers"])]
    ax.set_yticks(np.arange(n_rows), labels, fontsize=9)
    ax.set_xlabel("months since first transaction")
    ax.set_ylabel("acquisition month (customers)")
    ax.set_title("Monthly acquisition cohorts: share with a transaction")
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02)
    fig.tight_layout()
    return fig


def risk_figure(risk: pd.DataFrame, segment_label: str) -> Figure:
    """Customers per segment, stacked by risk tier."""
    tiers = [c for c in risk.columns if c not in {"segment", "customers", "mean_churn_probability", "share_high"}]
    fig = Figure(figsize=(7, max(2.5, 0.4 * len(risk) + 1.2)), dpi=100)
    ax = fig.subplots()
    y = np.arange(len(risk))
    left = np.zeros(len(risk))
    for tier in tiers:
        values = risk[tier].to_numpy(dtype="float64")
        ax.barh(y, values, left=left, color=TIER_COLOURS.get(tier), label=tier)
        left += values
    ax.set_yticks(y, risk["segment"])
    ax.invert_yaxis()  # riskiest segment on top
    ax.set_xlabel("customers")
    ax.set_title(f"Churn risk tier by {segment_label}")
    ax.legend(title="risk tier", loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.tight_layout()
    return fig


def actions_figure(actions: pd.DataFrame) -> Figure:
    """Customers per recommended action."""
    fig = Figure(figsize=(7, max(2.5, 0.45 * len(actions) + 1.2)), dpi=100)
    ax = fig.subplots()
    y = np.arange(len(actions))
    ax.barh(y, actions["customers"], color="#2c3e50")
    for i, n in enumerate(actions["customers"]):
        ax.text(n, i, f" {n}", va="center", fontsize=8)
    names = actions["description"] if "description" in actions.columns else actions["action"]
    ax.set_yticks(y, [textwrap.shorten(str(n), 60, placeholder="...") for n in names], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("customers")
    ax.set_title("Recommended actions (latest scoring)")
    ax.margins(x=0.12)
    fig.tight_layout()
    return fig


VERDICT_COLOURS = {"helps": "#27ae60", "harms": "#c0392b"}


def forest_figure(cells: pd.DataFrame) -> Figure:
    """Incremental retention with its 95% interval per (action, segment) cell, one row each,
    the zero line marked: green where an action helps, red where it harms, grey unclear."""
    cells = cells.iloc[::-1]
    fig = Figure(figsize=(8, max(2.5, 0.28 * len(cells) + 1.2)), dpi=100)
    ax = fig.subplots()
    y = np.arange(len(cells))
    colours = [VERDICT_COLOURS.get(v, "#7f8c8d") for v in cells["verdict"]]
    ax.hlines(y, cells["ci_low"], cells["ci_high"], colors=colours, linewidth=2)
    ax.scatter(cells["incremental_retention"], y, color=colours, zorder=3, s=18)
    ax.axvline(0, color="black", linewidth=0.8)
    labels = [
        action.replace("_", " ") + ("" if by == "all" else f" | {by.replace('_', ' ')}: {seg}")
        for action, by, seg in zip(cells["action"], cells["segment_by"], cells["segment"])
    ]
    ax.set_yticks(y, labels, fontsize=8)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:+.0%}")
    ax.set_xlabel("incremental retention: treatment minus control (95% interval)")
    ax.set_title("What each action did, against its control group")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig
