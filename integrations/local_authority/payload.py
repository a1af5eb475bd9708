"""The canonical referral content the referral workflow hands to the local-authority adapter.

One `ReferralPayload` is one referral of one child to one local authority. It is complete by
construction: what a multi-agency safeguarding hub (MASH) needs is required here, so an
incomplete referral fails validation before anything leaves the trust. README.md in this folder
documents every field and where it goes in the FHIR Bundle.

The payload holds patient identifiers: its repr shows ids only, so a stray log line or traceback
does not leak them.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from ed_alerts.domain import Address, SourceType

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
NhsNumber = Annotated[str, StringConstraints(pattern=r"^\d{10}$")]


class _Frozen(BaseModel):
    # hide_input_in_errors: a validation error must not quote a name or an NHS number into a log.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


class ChildDetails(_Frozen):
    family_name: Text
    given_names: list[Text] = Field(min_length=1)
    birth_date: date | None = None  # unknown for some unidentified children; the MASH still needs the referral
    nhs_number: NhsNumber | None = None  # only a Modulus 11 valid one; many ED registrations have none
    sex: Literal["male", "female", "other", "unknown"] = "unknown"
    address: Address | None = None

    def __repr_args__(self) -> list[tuple[str | None, Any]]:  # type: ignore[override]
        return []  # all of it identifies the child


class AttendanceDetails(_Frozen):
    site_code: Code  # as the feed knows the site (MSH-4, FHIR source)
    site_name: str | None = None
    source_type: SourceType
    arrival_time: AwareDatetime | None = None
    visit_number: str | None = None  # PV1-19 or the Encounter identifier: lets the LA quote it back


class Referrer(_Frozen):
    name: Text
    role: Text  # e.g. "ED staff nurse", "Named nurse for safeguarding children"
    contact: Text  # a phone number or an email address the MASH can call back on
    organisation: str | None = None  # the trust; defaults to the site in the Bundle


class FlagSummary(_Frozen):
    """A flag raised by a safeguarding rule: the LA sees why ed-alerts raised it."""

    rule_id: Code
    rule_version: Code
    reason: Text  # the matched fields or words, as the nurse saw them
    title: str | None = None


class ReferralPayload(_Frozen):
    referral_id: Code  # ours: stable for the life of the referral
    idempotency_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:\-]{8,128}$")]
    local_authority_code: Code
    authored_at: AwareDatetime  # when the referral was completed for sending; Bundle.timestamp
    child: ChildDetails
    attendance: AttendanceDetails
    what_happened: Text
    child_words: Text  # the child's own words, verbatim
    risk_factors: list[Text] = Field(min_length=1)  # including each flag's title or reason
    injuries: Text
    others_involved: Text  # others involved or at risk (siblings, other children, alleged perpetrators)
    parents_aware: bool
    parents_not_aware_reason: str | None = None
    referrer: Referrer
    decision_rationale: Text
    flags: list[FlagSummary] = Field(default_factory=list)

    @model_validator(mode="after")
    def _why_parents_do_not_know(self) -> ReferralPayload:
        # Not telling parents is a safeguarding decision in itself; the MASH must know why.
        if not self.parents_aware and not (self.parents_not_aware_reason or "").strip():
            raise ValueError("parents_not_aware_reason is required when parents_aware is false")
        return self

    def __repr_args__(self) -> list[tuple[str | None, Any]]:  # type: ignore[override]
        # Ids only: the rest is patient-identifiable or clinical content.
        return [("referral_id", self.referral_id), ("local_authority_code", self.local_authority_code)]


def to_fhir_bundle(payload: ReferralPayload) -> dict[str, Any]:
    """The FHIR R4 transaction Bundle for `payload` (see fhir_bundle.py and README.md)."""
    from .fhir_bundle import build_bundle  # the builder imports these models

    return build_bundle(payload)
