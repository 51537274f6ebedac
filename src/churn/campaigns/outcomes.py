"""Each campaign contact with what the customer looked like on the campaign day and what
they did in the outcome window after it.

Point in time: a campaign's features and segments come from the snapshot at its cutoff
(midnight starting its first contact day); its outcome is a purchase in
[cutoff, cutoff + churn.horizon_days). A campaign is measured once that window has closed
in the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import pandas as pd

from churn.timeline import as_of_day

GROUPS = ("treatment", "control")


@dataclass(frozen=True)
class CampaignRows:
    """The contacts of campaigns (rows naming a campaign and a group), each customer once
    per campaign, and what was set aside, counted."""

    rows: pd.DataFrame  # customer_id, timestamp, action, channel, campaign, group, cutoff
    campaigns: pd.DataFrame  # campaign, cutoff, as_of, n_treatment, n_control, closed, status
    duplicates_dropped: int
    without_campaign: int


def campaign_rows(contacts: pd.DataFrame | None, data_end: pd.Timestamp, horizon_days: int) -> CampaignRows:
    """Campaign contacts from the contact log, and one line per campaign saying whether its
    effect can be measured: its window must have closed (cutoff + horizon <= the scoring
    cutoff `data_end`), and it needs both a treatment and a control group."""
    empty = pd.DataFrame(columns=["customer_id", "timestamp", "action", "channel", "campaign", "group", "cutoff"])
    if contacts is None or "campaign" not in contacts.columns or "group" not in contacts.columns:
        return CampaignRows(
            empty, _campaigns(empty, data_end, horizon_days), 0, 0 if contacts is None else len(contacts)
        )
    tagged = contacts[contacts["campaign"].notna() & contacts["group"].notna()]
    ordered = tagged.sort_values(["campaign", "customer_id", "timestamp"], kind="stable")
    rows = ordered.drop_duplicates(["campaign", "customer_id"], keep="first").copy()
    rows["cutoff"] = rows.groupby("campaign")["timestamp"].transform("min").dt.floor("D")
    return CampaignRows(
        rows.reset_index(drop=True),
        _campaigns(rows, data_end, horizon_days),
        duplicates_dropped=int(len(tagged) - len(rows)),
        without_campaign=int(len(contacts) - len(tagged)),
    )


def _campaigns(rows: pd.DataFrame, data_end: pd.Timestamp, horizon_days: int) -> pd.DataFrame:
    if rows.empty:
        return pd.DataFrame(columns=["campaign", "cutoff", "as_of", "n_treatment", "n_control", "closed", "status"])
    per = rows.groupby("campaign").agg(
        cutoff=("cutoff", "min"),
        n_treatment=("group", lambda g: int((g == "treatment").sum())),
        n_control=("group", lambda g: int((g == "control").sum())),
    )
    per = per.reset_index().sort_values(["cutoff", "campaign"], kind="stable", ignore_index=True)
    closes = per["cutoff"] + pd.Timedelta(days=horizon_days)
    per["as_of"] = per["cutoff"].map(lambda c: str(as_of_day(c)))
    per["closed"] = closes <= data_end
    per["status"] = [
        "measured"
        if closed and t and c
        else f"window open until {as_of_day(close)}"
        if not closed
        else "no control group: effect not measurable"
        if not c
        else "no treatment group: effect not measurable"
        for closed, t, c, close in zip(per["closed"], per["n_treatment"], per["n_control"], closes)
    ]
    return per


def window_revenue(tx: ibis.Table, cutoffs: list[pd.Timestamp], horizon_days: int) -> ibis.Table:
    """customer_id, cutoff and revenue (net amount) in [cutoff, cutoff + horizon) per customer
    with a transaction there, for each cutoff."""
    parts = []
    for cutoff in cutoffs:
        start, end = (
            ibis.timestamp(cutoff.to_pydatetime()),
            ibis.timestamp((cutoff + pd.Timedelta(days=horizon_days)).to_pydatetime()),
        )
        window = tx.filter((tx.timestamp >= start) & (tx.timestamp < end))
        parts.append(window.group_by("customer_id").aggregate(revenue=window.amount.sum()).mutate(cutoff=start))
    return ibis.union(*parts, distinct=False)


def outcome_frame(rows: pd.DataFrame, snapshot: pd.DataFrame, revenue: pd.DataFrame) -> pd.DataFrame:
    """One row per measured contact: the contact, the customer's snapshot at the campaign's
    cutoff, `retained` (1 = a purchase in the window) and `revenue` in it. Contacts of
    customers with no history by the cutoff are left out (the caller counts them)."""
    snap = snapshot.drop(columns=["split"], errors="ignore")
    out = rows.merge(snap, on=["customer_id", "cutoff"], how="inner")
    out = out.merge(revenue, on=["customer_id", "cutoff"], how="left")
    out["revenue"] = out["revenue"].astype("float64").fillna(0.0).round(2)
    out["retained"] = (1 - out["churned"]).astype("int8")
    return out.drop(columns=["churned"])
