"""Escalations: decisions and referrals past their due time, and failed deliveries, recorded once each.

"Once" is the unique key (kind, entity_type, entity_id): the scheduler may look at an overdue item
every minute, from any process, and it is still recorded (and audited, and posted) once. The
webhook gets a summary without identifiers: what kind, which site, how severe, when it was due.
"""

from __future__ import annotations

import logging
from datetime import datetime

import httpx
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from ed_alerts.attendances.models import Attendance
from ed_alerts.audit.service import Actor, record
from ed_alerts.flags.models import Decision, DecisionStatus, Flag, FlagStatus
from ed_alerts.referrals.context import ReferralContext
from ed_alerts.referrals.due import decision_due
from ed_alerts.referrals.models import Escalation, EscalationKind, Referral
from ed_alerts.referrals.transitions import ReferralState

log = logging.getLogger(__name__)

SCHEDULER = Actor.system("scheduler")


def record_escalation(session: Session, kind: EscalationKind, *, entity_type: str, entity_id: int,
                      attendance_id: int, patient_id: int, site_code: str, severity: str,
                      due_at: datetime | None, detail: str, now: datetime, referral_id: int | None = None,
                      decision_id: int | None = None) -> Escalation | None:
    """Record it unless it already is; the unique key stops a concurrent second one at commit."""
    already = session.scalar(select(Escalation.id).where(
        Escalation.kind == kind, Escalation.entity_type == entity_type, Escalation.entity_id == entity_id))
    if already is not None:
        return None
    escalation = Escalation(
        kind=kind.value, entity_type=entity_type, entity_id=entity_id, referral_id=referral_id,
        decision_id=decision_id, attendance_id=attendance_id, patient_id=patient_id, site_code=site_code,
        severity=severity, due_at=due_at, escalated_at=now, detail=detail, notify_attempts=0,
    )
    session.add(escalation)
    session.flush()
    record(session, SCHEDULER, "escalation.recorded", "escalation", escalation.id, patient_id=patient_id,
           reason=detail, details={"kind": kind.value, "entity_type": entity_type, "entity_id": entity_id,
                                   "due_at": due_at})
    log.warning("escalation %s: %s %s %s at site %s", escalation.id, kind.value, entity_type, entity_id,
                site_code)
    return escalation


def _not_escalated(kind: EscalationKind, entity_type: str, entity_id):  # type: ignore[no-untyped-def]
    return ~exists().where(Escalation.kind == kind, Escalation.entity_type == entity_type,
                           Escalation.entity_id == entity_id)


def escalate_overdue(ctx: ReferralContext, now: datetime) -> list[int]:
    """One pass: record every newly overdue decision and referral. Returns the new escalation ids."""
    created: list[Escalation | None] = []
    with ctx.db.session() as session:
        rows = session.execute(
            select(Decision, Flag, Attendance)
            .join(Flag, Flag.id == Decision.flag_id).join(Attendance, Attendance.id == Decision.attendance_id)
            .where(Decision.status == DecisionStatus.PENDING, Flag.status == FlagStatus.ACTIVE,
                   # Rules give a due time; only decisions without one need the settings to say.
                   or_(Decision.due_at <= now, Decision.due_at.is_(None)),
                   _not_escalated(EscalationKind.DECISION_OVERDUE, "decision", Decision.id))
            .order_by(Decision.id)
        ).all()
        for decision, flag, att in rows:
            due_at = decision_due(ctx.settings, flag.severity, flag.raised_at, decision.due_at)
            if due_at > now:
                continue
            created.append(record_escalation(
                session, EscalationKind.DECISION_OVERDUE, entity_type="decision", entity_id=decision.id,
                decision_id=decision.id, attendance_id=att.id, patient_id=att.patient_id,
                site_code=att.site_code, severity=flag.severity, due_at=due_at, now=now,
                detail=f"referral decision for a {flag.severity} flag ({flag.rule_id}) "
                       "not recorded by its due time"))
        referrals = session.scalars(
            select(Referral).where(
                Referral.state.in_([ReferralState.REQUIRED, ReferralState.DRAFTED]),
                and_(Referral.due_at.is_not(None), Referral.due_at <= now),
                _not_escalated(EscalationKind.REFERRAL_OVERDUE, "referral", Referral.id))
            .order_by(Referral.id)
        ).all()
        for referral in referrals:
            created.append(record_escalation(
                session, EscalationKind.REFERRAL_OVERDUE, entity_type="referral", entity_id=referral.id,
                referral_id=referral.id, attendance_id=referral.attendance_id, patient_id=referral.patient_id,
                site_code=referral.site_code, severity=referral.severity, due_at=referral.due_at, now=now,
                detail=f"{referral.severity} referral not sent by its due time (it is {referral.state})"))
        return [e.id for e in created if e is not None]


def webhook_body(escalation: Escalation) -> dict[str, object]:
    """What leaves the service: no names, numbers, record ids or free text about the child."""
    return {
        "escalation_id": escalation.id,
        "kind": escalation.kind,
        "site": escalation.site_code,
        "severity": escalation.severity,
        "due_at": escalation.due_at.isoformat() if escalation.due_at else None,
        "escalated_at": escalation.escalated_at.isoformat(),
        "queue": "/api/queue",
    }


def notify_escalations(ctx: ReferralContext, now: datetime, *, limit: int = 100) -> int:
    """Post escalations not yet posted to the webhook. Returns how many were accepted.

    Each post carries an Idempotency-Key, so a receiver can drop the rare repeat (the process died
    between the post and recording it).
    """
    url = ctx.settings.escalation_webhook_url
    if not url:
        return 0
    with ctx.db.session() as session:
        pending = list(session.scalars(
            select(Escalation).where(Escalation.notified_at.is_(None)).order_by(Escalation.id).limit(limit)))
        session.expunge_all()
    posted = 0
    with httpx.Client(timeout=ctx.settings.escalation_webhook_timeout_s) as client:
        for escalation in pending:
            try:
                response = client.post(url, json=webhook_body(escalation),
                                       headers={"Idempotency-Key": f"edalerts-escalation-{escalation.id}"})
                ok = response.is_success
            except httpx.HTTPError as exc:
                log.warning("escalation webhook unreachable (%s); will retry", type(exc).__name__)
                ok = False
            with ctx.db.session() as session:
                row = session.get_one(Escalation, escalation.id, with_for_update=True)
                row.notify_attempts += 1
                if ok and row.notified_at is None:
                    row.notified_at = now
                    posted += 1
            if not ok:
                break  # the receiver is down: try the rest on the next run, in order
    return posted
