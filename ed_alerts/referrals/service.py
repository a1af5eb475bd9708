"""Referral operations: create or join, draft, close as not required, review, send, audit.

Functions take the caller's session and flush, never commit: the route (or the scheduler job) owns
the transaction, so a state change, its outbox row and its audit entries commit together.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ed_alerts.actors import Role, require_named, require_role
from ed_alerts.attendances.models import Attendance
from ed_alerts.audit.service import Actor, record
from ed_alerts.db.base import utcnow
from ed_alerts.errors import Conflict, NotFound
from ed_alerts.flags.models import Decision, Flag
from ed_alerts.patients.models import Patient
from ed_alerts.referrals import due
from ed_alerts.referrals.completeness import IncompleteReferral, MissingField, MissingInput, missing_fields
from ed_alerts.referrals.context import ReferralContext
from ed_alerts.referrals.models import DeliveryStatus, Referral
from ed_alerts.referrals.outbox import enqueue
from ed_alerts.referrals.payload import build_payload, child_is_named
from ed_alerts.referrals.schemas import ReferralUpdate
from ed_alerts.referrals.transitions import ReferralState, check_transition, transition

S = ReferralState
EDITABLE = {S.REQUIRED, S.DRAFTED, S.FAILED}


def new_idempotency_key(referral_id: int) -> str:
    return f"edalerts-referral-{referral_id}-{uuid.uuid4().hex}"


def get_referral(session: Session, referral_id: int, *, for_update: bool = False) -> Referral:
    referral = session.get(Referral, referral_id, with_for_update=for_update)
    if referral is None:
        raise NotFound(f"referral {referral_id} does not exist")
    return referral


def risk_factor(flag: Flag) -> str:
    return f"{flag.title}: {flag.reason}"


def _append_text(current: str | None, addition: str | None) -> str | None:
    addition = (addition or "").strip()
    if not addition:
        return current
    if not current or not current.strip():
        return addition
    return current if addition in current else f"{current}\n{addition}"


def join_referral(session: Session, ctx: ReferralContext, decision: Decision, flag: Flag, actor: Actor,
                  now: datetime, *, rationale: str | None) -> Referral:
    """The attendance's referral, created by its first "refer" decision and joined by later ones.

    One referral per attendance covers all its flags: the MASH gets one account of one event, and
    a second flag on the same visit adds its risk factor rather than a second referral to reconcile.
    """
    # Locking the attendance serialises two "refer" decisions on it: one creates, the other joins.
    att = session.get_one(Attendance, decision.attendance_id, with_for_update=True)
    referral = session.scalar(select(Referral).where(Referral.attendance_id == att.id).with_for_update())
    if referral is None:
        referral = _create(session, ctx, att, flag, actor, now)
    elif referral.state == S.NOT_REQUIRED:
        transition(session, referral, S.REQUIRED, actor, details={"decision_id": decision.id},
                   reason="a later decision on this attendance is to refer")
    decision.referral_id = referral.id
    if referral.state in (S.REQUIRED, S.DRAFTED):
        # Pre-fill what the decision brings; the nurse edits it before sending.
        factor = risk_factor(flag)
        if factor not in referral.risk_factors:
            referral.risk_factors = [*referral.risk_factors, factor]
        referral.child_words = _append_text(referral.child_words, decision.child_words)
        referral.decision_rationale = _append_text(referral.decision_rationale, rationale)
        referral.severity = due.most_severe([referral.severity, flag.severity])
        sooner = due.referral_due(ctx.settings, flag.severity, now)
        if referral.due_at is None or sooner < referral.due_at:
            referral.due_at = sooner
    session.flush()
    return referral


def _create(session: Session, ctx: ReferralContext, att: Attendance, flag: Flag, actor: Actor,
            now: datetime) -> Referral:
    patient = session.get_one(Patient, att.patient_id)
    site = ctx.sites.lookup(att.site_code)
    referral = Referral(
        attendance_id=att.id, patient_id=att.patient_id, site_code=att.site_code, trust=att.trust,
        state=S.REQUIRED.value, severity=flag.severity,
        due_at=due.referral_due(ctx.settings, flag.severity, now),
        created_at=now, created_by=actor.name, idempotency_key=f"unset-{uuid.uuid4().hex}", risk_factors=[],
        local_authority_code=ctx.authorities.route(patient.postcode, site,
                                                   ctx.settings.default_local_authority),
        referrer_name=actor.name, referrer_role=actor.role, delivery_attempts=0,
    )
    session.add(referral)
    session.flush()
    referral.idempotency_key = new_idempotency_key(referral.id)  # generated once, never changed
    session.flush()
    record(session, actor, "referral.created", "referral", referral.id, patient_id=referral.patient_id,
           details={"to": S.REQUIRED.value, "attendance_id": att.id,
                    "local_authority": referral.local_authority_code})
    return referral


def missing_for(session: Session, ctx: ReferralContext, referral: Referral) -> list[MissingField]:
    patient = session.get_one(Patient, referral.patient_id)
    return missing_fields(referral, authority_known=ctx.authorities.knows,
                          child_named=child_is_named(patient))


def update_draft(session: Session, ctx: ReferralContext, referral_id: int, actor: Actor,
                 changes: ReferralUpdate) -> Referral:
    require_named(actor, "Drafting a referral")
    referral = get_referral(session, referral_id, for_update=True)
    if referral.state not in EDITABLE:
        raise Conflict(f"referral {referral.id} is {referral.state}; only a referral that is required, "
                       "drafted or failed can be edited")
    fields = changes.model_dump(exclude_unset=True)
    if referral.state != S.DRAFTED:
        transition(session, referral, S.DRAFTED, actor, details={"fields": sorted(fields)})
    if "risk_factors" in fields:
        fields["risk_factors"] = [r.strip() for r in fields["risk_factors"] or [] if r.strip()]
    for name, value in fields.items():
        setattr(referral, name, value.strip() if isinstance(value, str) else value)
    if referral.local_authority_code:
        known = ctx.authorities.endpoint(referral.local_authority_code)
        referral.local_authority_code = known.code if known else referral.local_authority_code.strip()
    session.flush()
    # Field names only: the content is in the record, and the audit log is not a second copy of it.
    record(session, actor, "referral.updated", "referral", referral.id, patient_id=referral.patient_id,
           details={"fields": sorted(fields)})
    return referral


def close_not_required(session: Session, referral_id: int, actor: Actor, rationale: str) -> Referral:
    require_named(actor, "Closing a referral as not required")
    referral = get_referral(session, referral_id, for_update=True)
    check_transition(referral, S.NOT_REQUIRED)
    if not rationale.strip():
        raise MissingInput("rationale", "Why a referral is not required",
                           "a referral can only be closed as not required with a rationale")
    referral.not_required_rationale = rationale.strip()
    referral.not_required_by = actor.name
    referral.not_required_at = utcnow()
    referral.reviewed_by = referral.reviewed_at = referral.review_comment = None
    transition(session, referral, S.NOT_REQUIRED, actor, reason=referral.not_required_rationale)
    return referral


def review_not_required(session: Session, referral_id: int, actor: Actor, comment: str | None) -> Referral:
    require_role(actor, Role.SAFEGUARDING_NURSE, "Reviewing a referral closed as not required")
    referral = get_referral(session, referral_id, for_update=True)
    if referral.state != S.NOT_REQUIRED:
        raise Conflict(f"referral {referral.id} is {referral.state}; "
                       "only a not_required referral is reviewed")
    if referral.reviewed_at is not None:
        raise Conflict(f"referral {referral.id} was already reviewed by {referral.reviewed_by}")
    referral.reviewed_by = actor.name
    referral.reviewed_at = utcnow()
    referral.review_comment = (comment or "").strip() or None
    session.flush()
    record(session, actor, "referral.reviewed", "referral", referral.id, patient_id=referral.patient_id,
           reason=referral.review_comment)
    return referral


def send(session: Session, ctx: ReferralContext, referral_id: int, actor: Actor, *,
         now: datetime | None = None) -> Referral:
    """A named user sends a complete referral: state `sent` and its outbox row, in one transaction.

    Delivery happens later, in the scheduler; the request never waits for the authority.
    """
    require_named(actor, "Sending a referral")
    now = now or utcnow()
    referral = get_referral(session, referral_id, for_update=True)
    check_transition(referral, S.SENT)  # 409 before 422: a sent referral is not "incomplete"
    missing = missing_for(session, ctx, referral)
    if missing:
        raise IncompleteReferral(referral.id, missing)
    payload = build_payload(session, referral, ctx.sites, authored_at=now)
    row = enqueue(session, referral, payload, now)
    referral.sent_by = actor.name
    referral.sent_at = now
    referral.delivery_status = DeliveryStatus.PENDING.value
    referral.last_delivery_error = None
    transition(session, referral, S.SENT, actor, details={
        "outbox_id": row.id, "local_authority": referral.local_authority_code})
    return referral


def confirm_audited(session: Session, referral_id: int, actor: Actor, comment: str | None) -> Referral:
    """A named safeguarding nurse confirms a referral the authority acknowledged."""
    require_role(actor, Role.SAFEGUARDING_NURSE, "Auditing a referral as sent")
    referral = get_referral(session, referral_id, for_update=True)
    check_transition(referral, S.AUDITED)
    if referral.delivery_status != DeliveryStatus.DELIVERED:
        raise NotDelivered(referral)
    referral.audited_by = actor.name
    referral.audited_at = utcnow()
    referral.audit_comment = (comment or "").strip() or None
    transition(session, referral, S.AUDITED, actor, reason=referral.audit_comment,
               details={"reference": referral.delivery_reference})
    return referral


class NotDelivered(Conflict):
    def __init__(self, referral: Referral) -> None:
        status = referral.delivery_status or "not started"
        super().__init__(f"referral {referral.id} has not been acknowledged by the local authority yet "
                         f"(delivery {status}); it cannot be audited as sent")
