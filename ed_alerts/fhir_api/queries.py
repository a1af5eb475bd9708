"""Runs a `FlagSearch` or a read against the database: the rows a Flag resource is built from.

The child a flag is about is taken from its attendance, not from `flag.patient_id`: an A40 merge moves
attendances (and identifiers) to the surviving patient, so the attendance always names the current
child, and the search by patient uses the (patient_id, arrival_time) index on attendances.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, true
from sqlalchemy.orm import Session

from ed_alerts.attendances.models import Attendance
from ed_alerts.domain import NHS_NUMBER_SYSTEM
from ed_alerts.fhir_api.dates import DateCriterion
from ed_alerts.fhir_api.search import (
    Category,
    Criterion,
    Dates,
    Encounters,
    FlagIds,
    FlagSearch,
    PatientIdentifiers,
    PatientIds,
    Statuses,
)
from ed_alerts.flags.models import Flag
from ed_alerts.patients.lookup import survivor_id
from ed_alerts.patients.models import Patient, PatientIdentifier


@dataclass(frozen=True)
class FlagRow:
    flag: Flag
    patient_id: int
    nhs_number: str | None


@dataclass(frozen=True)
class FlagPage:
    rows: list[FlagRow]
    total: int


def _date_condition(criterion: DateCriterion) -> ColumnElement[bool]:
    at, lo, hi = Flag.raised_at, criterion.range.start, criterion.range.end
    return {
        "eq": and_(at >= lo, at < hi),
        "ne": or_(at < lo, at >= hi),
        "gt": at >= hi,
        "lt": at < lo,
        "ge": at >= lo,
        "le": at < hi,
    }[criterion.prefix]


def _condition(session: Session, criterion: Criterion) -> ColumnElement[bool]:
    match criterion:
        case PatientIds(ids=ids):
            survivors = {s for s in (survivor_id(session, pid) for pid in ids) if s is not None}
            return Attendance.patient_id.in_(survivors) if survivors else false()
        case PatientIdentifiers(identifiers=identifiers):
            if not identifiers:
                return false()
            pairs = [PatientIdentifier.value == value if system is None else
                     and_(PatientIdentifier.system == system, PatientIdentifier.value == value)
                     for system, value in identifiers]
            return Attendance.patient_id.in_(select(PatientIdentifier.patient_id).where(or_(*pairs)))
        case Statuses(stored=stored):
            return Flag.status.in_(stored) if stored else false()
        case Category(matches=matches):
            return true() if matches else false()
        case Dates(any_of=any_of):
            return or_(*(_date_condition(c) for c in any_of)) if any_of else false()
        case Encounters(attendance_ids=ids):
            return Flag.attendance_id.in_(ids) if ids else false()
        case FlagIds(ids=ids):
            return Flag.id.in_(ids) if ids else false()
    raise TypeError(f"unknown search criterion {criterion!r}")


def _nhs_numbers(session: Session, patient_ids: Sequence[int]) -> dict[int, str]:
    """One NHS number per patient (the first recorded, if a merge left a child with two)."""
    if not patient_ids:
        return {}
    rows = session.execute(
        select(PatientIdentifier.patient_id, PatientIdentifier.value)
        .where(PatientIdentifier.system == NHS_NUMBER_SYSTEM, PatientIdentifier.patient_id.in_(patient_ids))
        .order_by(PatientIdentifier.id.desc())
    )
    return {pid: value for pid, value in rows}  # later rows (lower ids) win


def _rows(session: Session, results: Sequence[Any]) -> list[FlagRow]:
    numbers = _nhs_numbers(session, sorted({pid for _, pid in results}))
    return [FlagRow(flag=flag, patient_id=pid, nhs_number=numbers.get(pid)) for flag, pid in results]


def _base() -> Select:  # type: ignore[type-arg]  # its parameters differ between SQLAlchemy 2.0 and 2.1
    return select(Flag, Attendance.patient_id).join(Attendance, Attendance.id == Flag.attendance_id)


def search_flags(session: Session, search: FlagSearch,
                 visible: ColumnElement[bool] | None = None) -> FlagPage:
    """`visible` limits the search to the attendances the caller may see (it may refer to Patient)."""
    conditions = [_condition(session, c) for c in search.criteria]
    if visible is not None:
        conditions.append(visible)
    total = session.scalar(
        select(func.count(Flag.id)).join(Attendance, Attendance.id == Flag.attendance_id)
        .join(Patient, Patient.id == Attendance.patient_id).where(*conditions)
    ) or 0
    if search.count == 0 or search.offset >= total:
        return FlagPage(rows=[], total=total)
    results = session.execute(
        _base().join(Patient, Patient.id == Attendance.patient_id).where(*conditions)
        .order_by(Flag.raised_at.desc(), Flag.id.desc())
        .offset(search.offset).limit(search.count)
    ).all()
    return FlagPage(rows=_rows(session, results), total=total)


def read_flag(session: Session, flag_id: int) -> FlagRow | None:
    result = session.execute(_base().where(Flag.id == flag_id)).first()
    return _rows(session, [result])[0] if result is not None else None
