"""The safeguarding nurse's queue: decisions and referrals by state, overdue first.

Open items by default: decisions pending or awaiting review ("not refer" not yet reviewed), and
referrals not yet audited (a not_required referral stays until reviewed). A `state` filter shows
exactly that state, closed ones included. Items carry ids, site, severity, rules and times, not
the child's identity.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from ed_alerts.attendances.models import Attendance
from ed_alerts.flags.models import Decision, DecisionStatus, Flag
from ed_alerts.patients.models import Patient
from ed_alerts.referrals.due import SEVERITY_ORDER, decision_due
from ed_alerts.referrals.models import Escalation, Referral
from ed_alerts.referrals.schemas import EscalationView, QueueItem, QueueView
from ed_alerts.referrals.transitions import ReferralState
from ed_alerts.settings import Settings

AWAITING_REVIEW = "awaiting_review"  # a "not refer" decision the safeguarding nurse has not reviewed
DECISION_STATES = {DecisionStatus.PENDING.value, AWAITING_REVIEW, DecisionStatus.NOT_REFER.value,
                   DecisionStatus.REFER.value}
REFERRAL_STATES = {s.value for s in ReferralState}
# Referrals still needing someone: everything but audited, and not_required once reviewed.
_OPEN_REFERRAL_STATES = [ReferralState.REQUIRED, ReferralState.DRAFTED, ReferralState.SENT,
                         ReferralState.FAILED]


@dataclass(frozen=True)
class QueueFilter:
    site: str | None = None
    state: str | None = None
    rule: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 500
    # The caller's scope as a condition on Attendance and Patient (auth.scopes.visible_attendances).
    visible: ColumnElement[bool] | None = None


def _decision_items(session: Session, settings: Settings, f: QueueFilter, now: datetime) -> list[QueueItem]:
    stmt = (select(Decision, Flag, Attendance).join(Flag, Flag.id == Decision.flag_id)
            .join(Attendance, Attendance.id == Decision.attendance_id)
            .join(Patient, Patient.id == Attendance.patient_id))
    if f.visible is not None:
        stmt = stmt.where(f.visible)
    if f.state is None:
        unreviewed = and_(Decision.status == DecisionStatus.NOT_REFER, Decision.reviewed_at.is_(None))
        stmt = stmt.where(or_(Decision.status == DecisionStatus.PENDING, unreviewed))
    elif f.state == AWAITING_REVIEW:
        stmt = stmt.where(Decision.status == DecisionStatus.NOT_REFER, Decision.reviewed_at.is_(None))
    else:
        stmt = stmt.where(Decision.status == f.state)
    if f.site:
        stmt = stmt.where(Attendance.site_code == f.site)
    if f.rule:
        stmt = stmt.where(Flag.rule_id == f.rule)
    if f.since:
        stmt = stmt.where(Decision.created_at >= f.since)
    if f.until:
        stmt = stmt.where(Decision.created_at < f.until)
    rows = session.execute(stmt.order_by(Decision.id).limit(f.limit)).all()
    escalated = set(session.scalars(select(Escalation.decision_id).where(
        Escalation.decision_id.in_([d.id for d, _, _ in rows]))))
    items = []
    for d, flag, att in rows:
        pending = d.status == DecisionStatus.PENDING
        due_at = decision_due(settings, flag.severity, flag.raised_at, d.due_at) if pending else None
        awaiting = d.status == DecisionStatus.NOT_REFER and d.reviewed_at is None
        state = AWAITING_REVIEW if awaiting else d.status
        items.append(QueueItem(
            kind="decision", id=d.id, state=state, attendance_id=att.id, patient_id=att.patient_id,
            site_code=att.site_code, severity=flag.severity, rule_ids=[flag.rule_id], created_at=d.created_at,
            due_at=due_at, overdue=due_at is not None and due_at <= now, escalated=d.id in escalated))
    return items


def _referral_items(session: Session, f: QueueFilter, now: datetime) -> list[QueueItem]:
    stmt = select(Referral)
    if f.visible is not None:
        stmt = (stmt.join(Attendance, Attendance.id == Referral.attendance_id)
                .join(Patient, Patient.id == Attendance.patient_id).where(f.visible))
    if f.state is None:
        unreviewed = and_(Referral.state == ReferralState.NOT_REQUIRED, Referral.reviewed_at.is_(None))
        stmt = stmt.where(or_(Referral.state.in_(_OPEN_REFERRAL_STATES), unreviewed))
    else:
        stmt = stmt.where(Referral.state == f.state)
    if f.site:
        stmt = stmt.where(Referral.site_code == f.site)
    if f.rule:
        stmt = stmt.where(Referral.id.in_(select(Decision.referral_id).join(Flag, Flag.id == Decision.flag_id)
                                          .where(Flag.rule_id == f.rule)))
    if f.since:
        stmt = stmt.where(Referral.created_at >= f.since)
    if f.until:
        stmt = stmt.where(Referral.created_at < f.until)
    referrals = session.scalars(stmt.order_by(Referral.id).limit(f.limit)).all()
    ids = [r.id for r in referrals]
    rules: dict[int | None, list[str]] = defaultdict(list)
    for referral_id, rule_id in session.execute(
            select(Decision.referral_id, Flag.rule_id).join(Flag, Flag.id == Decision.flag_id)
            .where(Decision.referral_id.in_(ids)).order_by(Flag.rule_id)):
        rules[referral_id].append(rule_id)
    escalated = set(session.scalars(select(Escalation.referral_id).where(Escalation.referral_id.in_(ids))))
    items = []
    for r in referrals:
        # Only a referral still to be sent has a due time that can pass; a failed one is always overdue.
        waiting = r.state in (ReferralState.REQUIRED, ReferralState.DRAFTED)
        overdue = (waiting and r.due_at is not None and r.due_at <= now) or r.state == ReferralState.FAILED
        items.append(QueueItem(
            kind="referral", id=r.id, state=r.state, attendance_id=r.attendance_id, patient_id=r.patient_id,
            site_code=r.site_code, severity=r.severity, rule_ids=rules[r.id], created_at=r.created_at,
            due_at=r.due_at if waiting else None, overdue=overdue, escalated=r.id in escalated,
            delivery_status=r.delivery_status))
    return items


def _order(item: QueueItem) -> tuple[object, ...]:
    far = datetime.max.replace(tzinfo=item.created_at.tzinfo)
    return (not item.overdue, item.due_at or far, SEVERITY_ORDER.get(item.severity, 9), item.created_at)


def safeguarding_queue(session: Session, settings: Settings, f: QueueFilter, now: datetime) -> QueueView:
    items: list[QueueItem] = []
    if f.state is None or f.state in DECISION_STATES:
        items += _decision_items(session, settings, f, now)
    if f.state is None or f.state in REFERRAL_STATES:
        items += _referral_items(session, f, now)
    items.sort(key=_order)
    counts: dict[str, dict[str, int]] = {"decision": defaultdict(int), "referral": defaultdict(int)}
    for item in items:
        counts[item.kind][item.state] += 1
    return QueueView(generated_at=now, counts={k: dict(v) for k, v in counts.items()}, items=items,
                     escalations=list_escalations(session, site=f.site, limit=50, visible=f.visible))


def list_escalations(session: Session, *, site: str | None = None, kind: str | None = None,
                     limit: int = 200, visible: ColumnElement[bool] | None = None) -> list[EscalationView]:
    stmt = select(Escalation)
    if visible is not None:
        stmt = (stmt.join(Attendance, Attendance.id == Escalation.attendance_id)
                .join(Patient, Patient.id == Attendance.patient_id).where(visible))
    if site:
        stmt = stmt.where(Escalation.site_code == site)
    if kind:
        stmt = stmt.where(Escalation.kind == kind)
    rows = session.scalars(stmt.order_by(Escalation.escalated_at.desc(), Escalation.id.desc()).limit(limit))
    return [EscalationView.model_validate(e) for e in rows]
