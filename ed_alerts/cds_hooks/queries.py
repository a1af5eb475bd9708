"""The child's active flags with their attendances: one query on indexed columns.

Through the attendance (patient_id, arrival_time index), not flag.patient_id, so that flags follow
the child through an A40 merge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ed_alerts.attendances.models import Attendance
from ed_alerts.flags.models import Flag, FlagStatus


@dataclass
class FlaggedAttendance:
    attendance: Attendance
    flags: list[Flag] = field(default_factory=list)


def active_flags_by_attendance(session: Session, patient_id: int) -> list[FlaggedAttendance]:
    """Newest attendance first; each with its active flags."""
    rows = session.execute(
        select(Attendance, Flag).join(Flag, Flag.attendance_id == Attendance.id)
        .where(Attendance.patient_id == patient_id, Flag.status == FlagStatus.ACTIVE)
        .order_by(Attendance.arrival_time.desc().nulls_last(), Attendance.id.desc(), Flag.id)
    ).all()
    grouped: dict[int, FlaggedAttendance] = {}
    for attendance, flag in rows:
        grouped.setdefault(attendance.id, FlaggedAttendance(attendance)).flags.append(flag)
    return list(grouped.values())
