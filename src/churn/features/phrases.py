"""How a feature reads in a reason, and which kind of problem it points to.

Every feature module declares a `PHRASES` table beside its `FEATURES`: one `Phrase` per
feature. Reasons (scoring/reasons.py) say a customer's value in these words; the playbook
routes on the `driver` of the strongest risk-raising reason (`top_driver`).
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass

DRIVERS = ("service", "engagement", "frequency", "value", "relationship", "season")
KINDS = ("count", "days", "money", "share", "ratio", "trend", "flag", "month", "text", "probability")
_PLURAL = re.compile(r"\[([^\]|]*)(?:\|([^\]]*))?\]")  # "ticket[s]", "categor[y|ies]"


@dataclass(frozen=True)
class Phrase:
    """`text` with {v} for the value as `kind` formats it; plural endings in brackets
    ("ticket[s]", "categor[y|ies]") follow the value. `unknown` is said when the value is
    missing; `negative` when a flag is 0."""

    text: str
    kind: str
    driver: str
    unknown: str = "not known yet"
    negative: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS or self.driver not in DRIVERS:
            raise ValueError(f"phrase {self.text!r}: kind {self.kind!r} or driver {self.driver!r} unknown")


def _plural(text: str, one: bool) -> str:
    def pick(m: re.Match) -> str:
        single, many = (m.group(1), m.group(2)) if m.group(2) is not None else ("", m.group(1))
        return single if one else many

    return _PLURAL.sub(pick, text)


def _money(value: float, currency: str | None) -> str:
    amount = f"{value:,.0f}"
    return f"{amount} {currency}" if currency else amount


def say(phrase: Phrase, value, currency: str | None = None) -> str:
    """The phrase for this value, in plain words."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return phrase.unknown
    if phrase.kind == "text":
        return phrase.text.format(v=value)
    v = float(value)
    if phrase.kind == "flag":
        return phrase.text if v >= 0.5 else phrase.negative
    if phrase.kind in ("count", "days"):
        n = round(v)
        return _plural(phrase.text, n == 1).format(v=f"{n:,}")
    formatted = {
        "money": lambda: _money(v, currency),
        "share": lambda: f"{v:.0%}",
        "probability": lambda: f"{v:.0%}",
        "ratio": lambda: f"{v:.1f}",
        "trend": lambda: "down" if v < -0.05 else "up" if v > 0.05 else "flat",
        "month": lambda: calendar.month_name[int(round(v))] if 1 <= round(v) <= 12 else phrase.unknown,
    }[phrase.kind]()
    return phrase.text.format(v=formatted)
