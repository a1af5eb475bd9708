"""Which attendances are assault attendances, and the little the export reads of each.

An assault attendance, for this export:
- has an active (not withdrawn) flag of the `assault` rule. The `group_violence` and `weapon` flags
  do not make one on their own: `assault` already fires on every assault code and on the words
  group_violence looks for ("jumped by", "attacked", "beaten up"...), so a group_violence flag alone
  means notes such as "chased by a gang of lads" that do not say the child was assaulted; and the
  weapon rule also fires on accidental and undetermined-intent injuries (ICD-10 W32-W34, Y22-Y28).
- is not cancelled, and arrived within the period (an attendance without an arrival time cannot
  be placed in one and is left out).
- is at an emergency department or minor injury unit: ISB 1594 is an A&E data set. Ambulance
  incidents are left out (a conveyed child's ED attendance is already counted; a non-conveyed
  child did not attend an ED), and so are sexual health services.

Only children are evaluated by this service's rules, so every row is a child's (adults who reach
the mapping, after a corrected birth date, are dropped there). The query selects the site, arrival
time, coded clinical content, birth date and sex: never a name, identifier, address or note.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Exists, Row, select
from sqlalchemy.orm import Session

from ed_alerts.attendances.models import Attendance, AttendanceStatus
from ed_alerts.domain import Coding, Observation, SourceType
from ed_alerts.flags.models import Flag, FlagStatus
from ed_alerts.patients.models import Patient

ASSAULT_RULE_IDS: tuple[str, ...] = ("assault",)
WEAPON_RULE_ID = "weapon"
EXPORTED_SOURCE_TYPES: tuple[str, ...] = (SourceType.HOSPITAL_ED.value, SourceType.MINOR_INJURY_UNIT.value)


@dataclass(frozen=True)
class AssaultAttendance:
    """What the export may read of one assault attendance. The birth date is read only to compute
    the age band; free-text notes are dropped here, before any mapping sees the attendance."""

    site_code: str
    arrival_time: datetime
    birth_date: date | None
    sex: str | None
    diagnoses: tuple[Coding, ...]
    reason_code: Coding | None
    observations: tuple[Observation, ...]
    weapon_flag: bool


def _active_flag(rule_ids: tuple[str, ...]) -> Exists:
    return (select(Flag.id)
            .where(Flag.attendance_id == Attendance.id, Flag.rule_id.in_(rule_ids),
                   Flag.status == FlagStatus.ACTIVE)
            .exists())


def assault_attendances(session: Session, start: datetime, end: datetime) -> list[AssaultAttendance]:
    """Assault attendances arriving in [start, end), oldest first."""
    rows = session.execute(
        select(Attendance.site_code, Attendance.arrival_time, Attendance.clinical, Patient.birth_date,
               Patient.sex, _active_flag((WEAPON_RULE_ID,)).label("weapon_flag"))
        .join(Patient, Patient.id == Attendance.patient_id)
        .where(Attendance.arrival_time >= start, Attendance.arrival_time < end,
               Attendance.status != AttendanceStatus.CANCELLED,
               Attendance.source_type.in_(EXPORTED_SOURCE_TYPES),
               _active_flag(ASSAULT_RULE_IDS))
        .order_by(Attendance.arrival_time, Attendance.site_code, Attendance.id)
    ).all()
    return [_facts(row) for row in rows]


def _facts(row: Row[Any]) -> AssaultAttendance:
    clinical: dict[str, Any] = row.clinical or {}
    reason = clinical.get("reason_code")
    return AssaultAttendance(
        site_code=row.site_code,
        arrival_time=row.arrival_time,
        birth_date=row.birth_date,
        sex=row.sex,
        diagnoses=tuple(Coding.model_validate(d) for d in clinical.get("diagnoses", [])),
        reason_code=Coding.model_validate(reason) if reason else None,
        observations=tuple(Observation.model_validate(o) for o in clinical.get("observations", [])),
        weapon_flag=bool(row.weapon_flag),
    )
