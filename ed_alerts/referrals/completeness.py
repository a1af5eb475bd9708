"""What a MASH needs before a referral may be sent, and which of it a referral still lacks.

The list follows DESIGN.md section 7 and the local-authority payload (integrations/local_authority):
what happened, the child's own words, risk factors, injuries, others involved or at risk, whether
parents or carers know (or why not), the referrer's contact, why the referral is made, and which
authority it goes to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from ed_alerts.errors import DomainError
from ed_alerts.referrals.models import Referral


class MissingField(BaseModel):
    field: str
    label: str


LABELS: dict[str, str] = {
    "what_happened": "What happened",
    "child_words": "The child's own words",
    "risk_factors": "Risk factors",
    "injuries": "Injuries",
    "others_involved": "Others involved or at risk",
    "parents_aware": "Whether parents or carers know",
    "parents_not_aware_reason": "Why parents or carers do not know",
    "referrer_name": "Referrer's name",
    "referrer_role": "Referrer's role",
    "referrer_contact": "Referrer's phone number or email",
    "decision_rationale": "Why a referral is being made",
    "local_authority_code": "Local authority to send to",
    "child_name": "The child's name (from the registration)",
}


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list):
        return not any(isinstance(v, str) and v.strip() for v in value)
    return False


_TEXT_FIELDS = ("what_happened", "child_words", "risk_factors", "injuries", "others_involved")
_REFERRER_FIELDS = ("referrer_name", "referrer_role", "referrer_contact", "decision_rationale")


def missing_fields(referral: Referral, *, authority_known: Callable[[str], bool],
                   child_named: bool = True) -> list[MissingField]:
    """Every field still needed, in the order a form shows them; empty when it may be sent."""
    missing = [name for name in _TEXT_FIELDS if _blank(getattr(referral, name))]
    if referral.parents_aware is None:
        missing.append("parents_aware")
    elif referral.parents_aware is False and _blank(referral.parents_not_aware_reason):
        missing.append("parents_not_aware_reason")
    missing.extend(name for name in _REFERRER_FIELDS if _blank(getattr(referral, name)))
    code = referral.local_authority_code
    if _blank(code) or not authority_known(str(code)):
        missing.append("local_authority_code")
    if not child_named:
        missing.append("child_name")
    return [MissingField(field=name, label=LABELS[name]) for name in missing]


class IncompleteReferral(DomainError):
    """422 with the exact fields a MASH still needs."""

    status_code = 422

    def __init__(self, referral_id: int, missing: list[MissingField]) -> None:
        super().__init__(f"referral {referral_id} is not complete: "
                         + ", ".join(m.label.lower() for m in missing) + " missing")
        self.missing = missing

    def body(self) -> dict[str, Any]:
        return {**super().body(), "missing": [m.model_dump() for m in self.missing]}


class MissingInput(DomainError):
    """A request lacks a field the rules make mandatory (e.g. the rationale for not referring)."""

    status_code = 422

    def __init__(self, field: str, label: str, why: str) -> None:
        super().__init__(why)
        self.missing = [MissingField(field=field, label=label)]

    def body(self) -> dict[str, Any]:
        return {**super().body(), "missing": [m.model_dump() for m in self.missing]}
