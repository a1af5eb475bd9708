"""Builds the local-authority payload (integrations/local_authority.ReferralPayload) from a referral.

The payload is built once, when a named user sends the referral, and stored on the outbox row: what
the authority receives is exactly what was complete and sent at that moment.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ed_alerts.attendances.models import Attendance
from ed_alerts.domain import NHS_NUMBER_SYSTEM, Address, SourceType
from ed_alerts.flags.models import Decision, Flag
from ed_alerts.patients.models import Patient, PatientIdentifier
from ed_alerts.referrals.completeness import LABELS, IncompleteReferral, MissingField
from ed_alerts.referrals.models import Referral
from ed_alerts.sites.registry import SiteRegistry
from integrations.local_authority import (
    AttendanceDetails,
    ChildDetails,
    FlagSummary,
    ReferralPayload,
    Referrer,
)

Sex = Literal["male", "female", "other", "unknown"]
_SEXES: dict[str, Sex] = {"male": "male", "female": "female", "other": "other", "unknown": "unknown"}


def referral_flags(session: Session, referral_id: int) -> list[Flag]:
    """The flags a referral covers: those whose decision was "refer" and joined it."""
    return list(session.scalars(
        select(Flag).join(Decision, Decision.flag_id == Flag.id)
        .where(Decision.referral_id == referral_id).order_by(Flag.id)
    ))


def child_is_named(patient: Patient) -> bool:
    return bool((patient.family_name or "").strip() and (patient.given_names or "").split())


def build_payload(session: Session, referral: Referral, sites: SiteRegistry, authored_at: datetime
                  ) -> ReferralPayload:
    patient = session.get_one(Patient, referral.patient_id)
    att = session.get_one(Attendance, referral.attendance_id)
    nhs = session.scalar(select(PatientIdentifier.value).where(
        PatientIdentifier.patient_id == patient.id, PatientIdentifier.system == NHS_NUMBER_SYSTEM).limit(1))
    site = sites.lookup(att.site_code)
    try:
        return ReferralPayload(
            referral_id=str(referral.id),
            idempotency_key=referral.idempotency_key,
            local_authority_code=referral.local_authority_code or "",
            authored_at=authored_at,
            child=ChildDetails(
                family_name=patient.family_name or "", given_names=(patient.given_names or "").split(),
                birth_date=patient.birth_date, nhs_number=nhs, sex=_SEXES.get((patient.sex or "").lower(), "unknown"),
                address=Address(lines=patient.address_lines or [], city=patient.city,
                                postcode=patient.postcode),
            ),
            attendance=AttendanceDetails(
                site_code=att.site_code, site_name=site.name if site else None,
                source_type=SourceType(att.source_type), arrival_time=att.arrival_time,
                visit_number=att.visit_number,
            ),
            what_happened=referral.what_happened or "",
            child_words=referral.child_words or "",
            risk_factors=[r for r in referral.risk_factors if r.strip()],
            injuries=referral.injuries or "",
            others_involved=referral.others_involved or "",
            parents_aware=bool(referral.parents_aware),
            parents_not_aware_reason=referral.parents_not_aware_reason,
            referrer=Referrer(name=referral.referrer_name or "", role=referral.referrer_role or "",
                              contact=referral.referrer_contact or "", organisation=referral.trust),
            decision_rationale=referral.decision_rationale or "",
            flags=[FlagSummary(rule_id=f.rule_id, rule_version=f.rule_version, reason=f.reason, title=f.title)
                   for f in referral_flags(session, referral.id)],
        )
    except ValidationError as exc:
        # The completeness check runs first, so this is a value the check does not know about; the
        # error names locations only (the payload model hides input), never the child's details.
        missing = []
        for error in exc.errors():
            loc = [str(p) for p in error["loc"]]
            name = "child_name" if loc[:1] == ["child"] and loc[1:2] in (["family_name"], ["given_names"]) \
                else loc[-1] if loc[-1] in LABELS else ".".join(loc)
            missing.append(MissingField(field=name, label=LABELS.get(name, f"{name}: {error['msg']}")))
        raise IncompleteReferral(referral.id, missing) from exc
