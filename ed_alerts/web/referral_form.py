"""The referral form: reading it, what changed, and what a MASH would still miss if it were saved.

The checklist beside the form is computed by the server from the values in the form, saved or not
(`missing_with`), with the same rules as sending (ed_alerts/referrals/completeness.py). Scripts
refresh it as the nurse types; without scripts, saving the draft shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ed_alerts.patients.models import Patient
from ed_alerts.referrals.completeness import MissingField, missing_fields
from ed_alerts.referrals.context import ReferralContext
from ed_alerts.referrals.models import Referral
from ed_alerts.referrals.payload import child_is_named
from ed_alerts.referrals.schemas import ReferralUpdate, ReferralView

TEXT_FIELDS = ("local_authority_code", "what_happened", "child_words", "injuries", "others_involved",
               "parents_not_aware_reason", "referrer_name", "referrer_role", "referrer_contact",
               "decision_rationale")
FIELDS = (*TEXT_FIELDS, "risk_factors", "parents_aware")
PARENTS = {"yes": True, "no": False}


@dataclass
class FormValues:
    """The form's values as the model holds them (risk factors a list, parents_aware a bool or None)."""

    values: dict[str, Any]

    def text(self, name: str) -> str:
        value = self.values.get(name)
        if name == "risk_factors":
            return "\n".join(value or [])
        return "" if value is None else str(value)

    @property
    def parents(self) -> str:
        aware = self.values.get("parents_aware")
        return "yes" if aware is True else "no" if aware is False else ""


def values_of(referral: ReferralView | Referral) -> FormValues:
    return FormValues({name: getattr(referral, name) for name in FIELDS})


def parse(form: FormData) -> FormValues:
    values: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        raw = form.get(name)
        values[name] = raw.strip() if isinstance(raw, str) and raw.strip() else None
    risks = form.get("risk_factors")
    values["risk_factors"] = [line.strip() for line in risks.splitlines() if line.strip()] \
        if isinstance(risks, str) else []
    parents = form.get("parents_aware")
    values["parents_aware"] = PARENTS.get(parents) if isinstance(parents, str) else None
    return FormValues(values)


def changes(referral: Referral, submitted: FormValues) -> dict[str, Any]:
    return {name: value for name, value in submitted.values.items() if getattr(referral, name) != value}


class InvalidForm(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def update_of(changed: dict[str, Any]) -> ReferralUpdate:
    try:
        return ReferralUpdate(**changed)
    except ValidationError as exc:
        raise InvalidForm([f"{e['loc'][0] if e['loc'] else 'form'}: {e['msg']}" for e in exc.errors()]) from exc


def missing_with(session: Session, ctx: ReferralContext, referral: Referral, submitted: FormValues
                 ) -> list[MissingField]:
    """What would be missing if the form were saved as it is; nothing is written."""
    draft = Referral(**{name: getattr(referral, name) for name in FIELDS})  # transient, never added
    for name, value in submitted.values.items():
        setattr(draft, name, value)
    patient = session.get_one(Patient, referral.patient_id)
    return missing_fields(draft, authority_known=ctx.authorities.knows, child_named=child_is_named(patient))
