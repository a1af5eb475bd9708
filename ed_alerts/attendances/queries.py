"""Read-side queries for attendances and the child's history across every site and source."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ed_alerts.attendances.models import Attendance
from ed_alerts.attendances.schemas import AttendanceDetail, AttendanceView, FlagView, PatientView
from ed_alerts.flags.models import Decision, Flag
from ed_alerts.patients.models import Patient, PatientIdentifier


def attendance_detail(session: Session, attendance_id: int) -> AttendanceDetail | None:
    att = session.get(Attendance, attendance_id)
    if att is None:
        return None
    patient = session.get_one(Patient, att.patient_id)
    idents = session.scalars(select(PatientIdentifier).where(PatientIdentifier.patient_id == patient.id))
    others = session.scalars(
        select(Attendance).where(Attendance.patient_id == patient.id, Attendance.id != att.id)
        .order_by(Attendance.arrival_time.desc())
    )
    return AttendanceDetail(
        attendance=AttendanceView.model_validate(att, from_attributes=True),
        patient=PatientView(
            id=patient.id, family_name=patient.family_name, given_names=patient.given_names,
            birth_date=patient.birth_date, sex=patient.sex, postcode=patient.postcode,
            identifiers=[{"system": i.system, "value": i.value} for i in idents],
        ),
        flags=flags_for(session, att.id),
        other_attendances=[AttendanceView.model_validate(o, from_attributes=True) for o in others],
    )


_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def flags_for(session: Session, attendance_id: int) -> list[FlagView]:
    rows = session.execute(
        select(Flag, Decision).outerjoin(Decision, Decision.flag_id == Flag.id)
        .where(Flag.attendance_id == attendance_id)
    ).all()
    views = [
        FlagView(
            id=f.id, rule_id=f.rule_id, rule_version=f.rule_version, title=f.title, severity=f.severity,
            status=f.status, uncertain=f.uncertain, reason=f.reason, evidence=f.evidence,
            requires_decision=f.requires_decision, decision_status=d.status if d else None,
            decision_due_at=d.due_at if d else None, raised_at=f.raised_at, nurse_note=f.nurse_note,
        )
        for f, d in rows
    ]
    return sorted(views, key=lambda v: (_SEVERITY_ORDER.get(v.severity, 9), v.rule_id))
