"""Rule-based retention actions from the playbook in params.yaml.

Conditions are data ({field, op, value}), evaluated column-wise with plain comparisons;
no text is ever evaluated as code.
"""

from __future__ import annotations

import operator

import pandas as pd

from churn.config import Action, Condition
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
    return pd.Series(mask, index=frame.index).fillna(False).astype(bool)


def recommend(frame: pd.DataFrame, playbook: list[Action]) -> pd.DataFrame:
    """recommended_action and action_reason per row: the first action whose conditions all hold."""
    chosen = pd.Series(pd.NA, index=frame.index, dtype="string")
    reason = pd.Series(pd.NA, index=frame.index, dtype="string")
    for action in playbook:
        mask = pd.Series(True, index=frame.index)
        for cond in action.when:
            mask &= condition_mask(frame, cond)
        new = mask & chosen.isna()
        chosen[new] = action.name
        reason[new] = action.description
    if chosen.isna().any():
        raise ChurnError("actions.playbook: some customers match no action; end the playbook with a fallback")
    return pd.DataFrame({"recommended_action": chosen, "action_reason": reason}, index=frame.index)


def describe(frame: pd.DataFrame) -> dict[str, int]:
    """Count of customers per recommended action, in a stable order."""
    counts = frame["recommended_action"].value_counts()
    return {str(k): int(v) for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))}

