"""The uplift model (models/uplift.json), written by the uplift stage."""

from __future__ import annotations

from pathlib import Path

from churn import io, layout
from churn.campaigns.rates import LearnedRates
from churn.errors import ChurnError
from churn.uplift.learner import UpliftModel


def uplift_model(root: Path) -> tuple[UpliftModel | None, str]:
    """The model, or None, and why: what the summary says about the policy that ran."""
    path = root / layout.UPLIFT_MODEL
    if not path.exists():
        return (
            None,
            f"no uplift model ({layout.UPLIFT_MODEL}); run `dvc repro uplift` after campaigns with control groups",
        )
    data = io.read_json(path)
    if not isinstance(data, dict) or "model" not in data:
        raise ChurnError(f"{path}: not an uplift model of this pipeline; run `dvc repro uplift`")
    if data["model"] is None:
        return None, str(data.get("why") or "the uplift stage had no campaigns to learn from")
    try:
        return UpliftModel.from_parts(data["booster"], data["model"]), "learnt from past campaigns"
    except (KeyError, TypeError, ValueError) as exc:
        raise ChurnError(f"{path}: unreadable uplift model ({exc}); run `dvc repro uplift`") from None


def planning_policy(root: Path, policy: str, learned: LearnedRates | None) -> tuple[UpliftModel | None, dict]:
    """The uplift model the plan uses (None: plan by risk) and what the summary says:
    {"by": "uplift" | "risk", "why", "actions" planned by uplift}. `policy` is score.policy;
    `learned`: the success rates `churn campaigns` measured, which the risk rule uses."""
    measured = learned is not None and any(r["source"] != "guess (params.yaml)" for r in learned.sources)
    rates = "success rates measured by past campaigns" if measured else "the playbook's guessed success rates"
    if policy == "risk":
        return None, {"by": "risk", "why": f"score.policy: risk; churn risk x value x {rates}", "actions": []}
    model, why = uplift_model(root)
    if model is None:
        return None, {"by": "risk", "why": f"{why}; planned by churn risk x value x {rates}", "actions": []}
    campaigns = model.card.get("campaigns", [])
    return model, {
        "by": "uplift",
        "why": f"uplift model learnt from {len(campaigns)} campaign(s); out-of-time evaluation in {layout.UPLIFT}; "
        f"other actions by churn risk x value x {rates}",
        "actions": list(model.actions),
    }
