"""Static attributes from the optional customers table.

Taken as they are in the table: the pipeline assumes they did not change over time (a
membership that started after a cutoff would leak into that cutoff's snapshot).
Attributes missing from the table simply give fewer features.
"""

from __future__ import annotations

import ibis

from churn.features.phrases import Phrase
from churn.features.rfm import days_before

FEATURES = {
    "loyalty_member": "1 for a loyalty-programme member, 0 otherwise",
    "tier": "the customer's tier as text (a categorical model input)",
    "signup_age_days": "days from the signup date to the cutoff",
}

PHRASES = {
    "loyalty_member": Phrase("a loyalty member", "flag", "relationship", negative="not a loyalty member"),
    "tier": Phrase("tier {v}", "text", "relationship", unknown="no tier"),
    "signup_age_days": Phrase("signed up {v} day[s] ago", "days", "relationship", unknown="no signup date"),
}
CATEGORICAL = ("tier",)


def attribute_columns(snap: ibis.Table, customers: ibis.Table) -> ibis.Table:
    """`snap` (customer_id, cutoff, ...) with the attributes the customers table has."""
    cols = {"customer_id": customers.customer_id}
    if "loyalty_member" in customers.columns:
        cols["loyalty_member"] = customers.loyalty_member.cast("float64")
    if "tier" in customers.columns:
        cols["tier"] = customers.tier.cast("string")
    if "signup_date" in customers.columns:
        cols["_signup"] = customers.signup_date.cast("timestamp")
    joined = snap.left_join(customers.select(**cols), "customer_id").drop("customer_id_right")
    if "_signup" in joined.columns:
        joined = joined.mutate(signup_age_days=days_before(joined.cutoff, joined._signup)).drop("_signup")
    return joined
