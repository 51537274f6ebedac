"""Who may be contacted: the randomised control group and contact fatigue."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd


def control_group(customer_ids: pd.Series, campaign: str, share: float) -> pd.Series:
    """"control" or "treatment" per customer, from a stable hash of campaign and id.

    The same customer lands in the same group on every run of a campaign, whatever else
    is in the list; a new campaign name draws a fresh group.
    """
    def unit(cid: str) -> float:
        digest = hashlib.sha256(f"{campaign}\x1f{cid}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    draws = np.fromiter((unit(c) for c in customer_ids.astype(str)), dtype=float, count=len(customer_ids))
    return pd.Series(np.where(draws < share, "control", "treatment"), index=customer_ids.index, dtype="string")


def recently_contacted(contacts: pd.DataFrame, cutoff: pd.Timestamp, min_days_between_contacts: int) -> pd.Index:
    """Customers contacted in [cutoff - min_days_between_contacts, cutoff): too soon to contact again."""
    since = cutoff - pd.Timedelta(days=min_days_between_contacts)
    recent = contacts[(contacts["timestamp"] >= since) & (contacts["timestamp"] < cutoff)]
    return pd.Index(recent["customer_id"].unique())
