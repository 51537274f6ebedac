"""Evaluation figures drawn from curve tables (the DVC plots in reports/plots/): pure,
frames in, matplotlib figures out.

Figures are built with matplotlib's object API (Figure, not pyplot): no global state and
no GUI backend, so nothing needs a display and nothing leaks between figures.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure


def line_figure(curves: dict[str, pd.DataFrame], x: str, y: str, title: str, diagonal: bool = False) -> Figure:
    """One line per named curve, e.g. the model and its baselines on one ROC plot."""
    fig = Figure(figsize=(5, 4), dpi=100)
    ax = fig.subplots()
    for name, frame in curves.items():
        ax.plot(frame[x], frame[y], label=name, marker="o" if len(frame) <= 12 else None, markersize=3)
    if diagonal:
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title)
    ax.legend(loc="best")
    fig.tight_layout()
    return fig


def save_png(fig: Figure, path) -> None:
    # No metadata: a timestamp or version string would change the bytes on every run.
    fig.savefig(path, format="png", metadata={"Software": None})


def importance_figure(importance: pd.DataFrame, top: int = 20) -> Figure:
    """Horizontal bars: each feature's share of the total split gain, largest on top."""
    table = importance.head(top).iloc[::-1]
    fig = Figure(figsize=(5, max(2.5, 0.25 * len(table) + 1)), dpi=100)
    ax = fig.subplots()
    ax.barh(table["feature"], table["gain_share"], color="tab:blue")
    ax.set_xlabel("share of total gain")
    ax.set_title("Feature importance (LightGBM gain)")
    fig.tight_layout()
    return fig
