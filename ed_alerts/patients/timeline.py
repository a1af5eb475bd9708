"""A child's timeline: attendances, flags, decisions, referrals and audit entries, in time order.

For the safeguarding nurse: the whole trail of one child across every site and source, with who did
what and when. Each record appears at the time it began; the audit entries show every change since.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ed_alerts.attendances.models import Attendance
from ed_alerts.audit.models import AuditEntry
from ed_alerts.errors import NotFound
from ed_alerts.flags.models import Decision, Flag
from ed_alerts.patients.models import Patient
from ed_alerts.patients.schemas import Timeline, TimelineEntry
from ed_alerts.referrals.models import Referral

_KIND_ORDER = {"attendance": 0, "flag": 1, "decision": 2, "referral": 3, "audit": 4}


def patient_timeline(session: Session, patient_id: int, *, audit_limit: int = 2000) -> Timeline:
    if session.get(Patient, patient_id) is None:
        raise NotFound(f"patient {patient_id} does not exist")
    entries: list[TimelineEntry] = []
    for att in session.scalars(select(Attendance).where(Attendance.patient_id == patient_id)):
        entries.append(TimelineEntry(
            at=att.arrival_time or att.created_at, kind="attendance", id=att.id,
            summary=f"attendance at {att.site_code} ({att.status})",
            data={"site_code": att.site_code, "visit_number": att.visit_number, "status": att.status,
                  "reason": att.reason, "source_type": att.source_type}))
    for flag in session.scalars(select(Flag).where(Flag.patient_id == patient_id)):
        entries.append(TimelineEntry(
            at=flag.raised_at, kind="flag", id=flag.id, summary=f"flag {flag.title} ({flag.severity})",
            data={"rule_id": flag.rule_id, "rule_version": flag.rule_version, "status": flag.status,
                  "reason": flag.reason, "attendance_id": flag.attendance_id}))
    for decision in session.scalars(
            select(Decision).join(Flag, Flag.id == Decision.flag_id).where(Flag.patient_id == patient_id)):
        entries.append(TimelineEntry(
            at=decision.created_at, kind="decision", id=decision.id,
            summary=f"referral decision: {decision.status}",
            data={"flag_id": decision.flag_id, "status": decision.status, "decided_by": decision.decided_by,
                  "decided_at": decision.decided_at, "rationale": decision.rationale,
                  "child_words": decision.child_words, "referral_id": decision.referral_id,
                  "reviewed_by": decision.reviewed_by}))
    for referral in session.scalars(select(Referral).where(Referral.patient_id == patient_id)):
        entries.append(TimelineEntry(
            at=referral.created_at, kind="referral", id=referral.id, summary=f"referral: {referral.state}",
            data={"state": referral.state, "attendance_id": referral.attendance_id,
                  "local_authority": referral.local_authority_code,
                  "delivery_status": referral.delivery_status,
                  "delivery_reference": referral.delivery_reference, "audited_by": referral.audited_by}))
    for entry in session.scalars(select(AuditEntry).where(AuditEntry.patient_id == patient_id)
                                 .order_by(AuditEntry.id).limit(audit_limit)):
        entries.append(TimelineEntry(
            at=entry.at, kind="audit", id=entry.id, summary=f"{entry.action} by {entry.actor} ({entry.role})",
            data={"action": entry.action, "actor": entry.actor, "role": entry.role,
                  "entity_type": entry.entity_type, "entity_id": entry.entity_id, "reason": entry.reason,
                  "details": entry.details}))
    entries.sort(key=lambda e: (e.at, _KIND_ORDER[e.kind], e.id))
    return Timeline(patient_id=patient_id, entries=entries)
