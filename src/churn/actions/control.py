"""Who may be contacted: the randomised control group and contact fatigue."""

from __future__ import annotations

import numpy as np
import pandas as pd

_HASH_KEY = "churn-ctrl-group"  # 16 bytes: SipHash key, fixed so groups never move
_HASH_ROWS = 100_000


def control_group(customer_ids: pd.Series, campaign: str, share: float) -> pd.Series:
    """ "control" or "treatment" per customer, from a stable hash of campaign and id.

    The same customer lands in the same group on every run of a campaign, whatever else
    is in the list; a new campaign name draws a fresh group. The hash is pandas' SipHash
    with a fixed key (vectorised: a million ids in well under a second).
    """
    ids = customer_ids.astype("string").fillna("")
    hashed = np.empty(len(ids), dtype=np.uint64)
    for start in range(0, len(ids), _HASH_ROWS):  # a batch of Python strings at a time, not a million
        keys = (campaign + "\x1f" + ids.iloc[start : start + _HASH_ROWS]).astype(object)
        hashed[start : start + len(keys)] = pd.util.hash_pandas_object(keys, index=False, hash_key=_HASH_KEY)
    draws = hashed / float(2**64)
    return pd.Series(np.where(draws < share, "control", "treatment"), index=customer_ids.index, dtype="string")


def recently_contacted(contacts: pd.DataFrame, cutoff: pd.Timestamp, min_days_between_contacts: int) -> pd.Index:
    """Customers contacted in [cutoff - min_days_between_contacts, cutoff): too soon to contact again."""
    since = cutoff - pd.Timedelta(days=min_days_between_contacts)
    recent = contacts[(contacts["timestamp"] >= since) & (contacts["timestamp"] < cutoff)]
    return pd.Index(recent["customer_id"].unique())
