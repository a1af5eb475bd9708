"""Read-side queries for attendances and the child's history across every site and source."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ed_alerts.attendances.models import Attendance
from ed_alerts.attendances.schemas import AttendanceDetail, AttendanceView, PatientView
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
        other_attendances=[AttendanceView.model_validate(o, from_attributes=True) for o in others],
    )
