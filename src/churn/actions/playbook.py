"""Eligibility conditions of the playbook in params.yaml.

Conditions are data ({field, op, value}), evaluated column-wise with plain comparisons;
no text is ever evaluated as code.
"""

from __future__ import annotations

import operator

import pandas as pd

from churn.config import Condition
from churn.errors import ChurnError

_OPS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def condition_mask(frame: pd.DataFrame, cond: Condition) -> pd.Series:
    """Rows where the condition holds; a missing value never satisfies a condition."""
    if cond.field not in frame.columns:
        raise ChurnError(
            f"actions.playbook: condition on unknown field '{cond.field}'; "
            f"known fields: {', '.join(sorted(frame.columns))}"
        )
    col = frame[cond.field]
    if cond.op == "in":
        values = cond.value if isinstance(cond.value, list) else [cond.value]
        mask = col.isin(values)
    else:
        mask = _OPS[cond.op](col, cond.value)
    return pd.Series(mask, index=frame.index).fillna(False).astype(bool) & col.notna()
