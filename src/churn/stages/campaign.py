"""`churn campaign log SCORES --date D --output FILE`: contact-log rows from an executed scores
file (not a DVC stage: run it after a campaign went out, then append the rows to the
contacts table and rerun the pipeline)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from churn import io
from churn.campaigns.log import contact_log
from churn.config import Params


def run(root: Path, params: Params, *, scores: Path, date: dt.date, output: Path) -> dict:
    table = io.read_table(scores, ("customer_id",))
    rows = contact_log(table, date, params.actions, str(scores))
    io.write_table(rows, output)
    return {
        "campaign": params.actions.campaign,
        "rows": int(len(rows)),
        "by_group": {str(k): int(v) for k, v in rows["group"].value_counts().sort_index().items()},
        "outputs": [str(output)],
    }
