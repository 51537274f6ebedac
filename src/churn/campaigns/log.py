"""Contact-log rows from an executed scores file: what a campaign did, in the contacts table's
own columns, so its effect can be measured once its outcome window has closed."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from churn.config import ActionSettings
from churn.errors import InputError

CONTACT_LOG_COLUMNS = ["customer_id", "timestamp", "channel", "action", "campaign", "group"]


def contact_log(scores: pd.DataFrame, day: dt.date, settings: ActionSettings, source: str) -> pd.DataFrame:
    """One row per customer the campaign contacted (group treatment: recommended_action and its
    channel) or held back (group control: held_out_action, no channel), at midnight of `day`,
    named actions.campaign. Customers with neither are not part of the campaign."""
    missing = [c for c in ("customer_id", "recommended_action", "group", "held_out_action") if c not in scores.columns]
    if missing:
        raise InputError(source, f"not a scores file of churn score: missing column(s) {', '.join(missing)}", row=1)
    channels = {a.name: a.channel for a in settings.playbook}
    fallback = settings.playbook[-1].name
    treated = (scores["group"] == "treatment") & scores["recommended_action"].notna()
    treated &= scores["recommended_action"] != fallback
    control = (scores["group"] == "control") & scores["held_out_action"].notna()
    unknown = sorted(set(scores.loc[treated, "recommended_action"]) - set(channels))
    if unknown:
        raise InputError(source, f"actions not in actions.playbook: {', '.join(unknown)}", column="recommended_action")
    rows = scores[treated | control]
    is_treated = treated[treated | control]
    action = rows["recommended_action"].where(is_treated, rows["held_out_action"]).astype("string")
    out = pd.DataFrame(
        {
            "customer_id": rows["customer_id"].astype("string"),
            "timestamp": pd.Timestamp(day),
            "channel": action.map(channels).where(is_treated, None).astype("string"),
            "action": action,
            "campaign": settings.campaign,
            "group": pd.Series(is_treated.map({True: "treatment", False: "control"}), dtype="string"),
        }
    )
    return out.sort_values(["group", "customer_id"], ascending=[False, True], kind="stable", ignore_index=True)
