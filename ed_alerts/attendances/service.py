"""Applies a canonical event to the stored attendance: register, update, discharge, cancel.

Messages can arrive out of order (an A08 sent before the A04 is delivered, a resend after an
outage). Each attendance remembers the time of the newest event applied; an older event only fills
gaps and never overwrites newer facts or status. Clinical content accumulates: a later message never
erases a diagnosis, observation or note an earlier one carried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ed_alerts import domain
from ed_alerts.attendances.models import Attendance, AttendanceStatus
from ed_alerts.db.session import transaction_state
from ed_alerts.errors import MessageRejected


@dataclass(frozen=True)
class SiteContext:
    site_code: str
    trust: str
    source_type: domain.SourceType
    registered: bool


_STATUS_FOR_EVENT = {
    domain.EventKind.REGISTER: AttendanceStatus.ACTIVE,
    domain.EventKind.UPDATE: None,
    domain.EventKind.DISCHARGE: AttendanceStatus.DISCHARGED,
    domain.EventKind.CANCEL: AttendanceStatus.CANCELLED,
}


def _is_newer(event_time: datetime | None, last: datetime | None) -> bool:
    if event_time is None or last is None:
        return True  # without times, arrival order is the only order we have
    return event_time >= last


def _merge_unique(existing: list[dict[str, Any]], incoming: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged = list(existing)
    for item in incoming:
        if item not in merged:
            merged.append(item)
    return merged


def _merge_clinical(current: dict[str, Any], incoming: domain.Attendance) -> dict[str, Any]:
    data = incoming.model_dump(mode="json", include={"diagnoses", "observations", "notes", "reason_code"})
    merged = dict(current)
    for key in ("diagnoses", "observations", "notes"):
        merged[key] = _merge_unique(current.get(key, []), data.get(key, []))
    if data.get("reason_code") is not None:
        merged["reason_code"] = data["reason_code"]
    return merged


def visit_key(event: domain.InboundEvent) -> str:
    if event.attendance.visit_number:
        return event.attendance.visit_number
    if event.kind is domain.EventKind.REGISTER:
        # Some feeds register without a visit number; the message itself then names the visit.
        return f"msg:{event.control_id}"
    raise MessageRejected(
        f"{event.message_type} has no visit number (PV1-19 or Encounter identifier), "
        "so it cannot be matched to the attendance it amends",
        ack_code="AE", hl7_error_code="101", location="PV1-19",
    )


# Built once: the worker runs it for every message, and building it cost as much as running it.
_BY_VISIT = select(Attendance).where(Attendance.site_code == bindparam("site_code"),
                                     Attendance.visit_number == bindparam("visit_number"))

_CREATED = "ed_alerts.attendances.created"  # transaction state: ids of the attendances it inserted


def created_in_this_transaction(session: Session, att: Attendance) -> bool:
    """Whether `att` was inserted by the session's current transaction (so nothing can refer to it
    yet: no flags, no decisions). Lets rule evaluation skip looking for what cannot exist."""
    return att.id in transaction_state(session, _CREATED, set[int])


def apply_event(session: Session, event: domain.InboundEvent, patient_id: int, site: SiteContext) -> Attendance:
    key = visit_key(event)
    row = session.scalar(_BY_VISIT, {"site_code": site.site_code, "visit_number": key})
    incoming = event.attendance
    if row is None:
        row = Attendance(
            patient_id=patient_id, site_code=site.site_code, trust=site.trust,
            source_type=site.source_type.value, registered_site=site.registered, visit_number=key,
            status=AttendanceStatus.ACTIVE, clinical={},
        )
        session.add(row)
        created = newer = True
    else:
        created, newer = False, _is_newer(event.event_time, row.last_event_time)
        # A message may correct which child the visit belongs to (e.g. after a wrong registration).
        if newer:
            row.patient_id = patient_id

    def put(attr: str, value: object) -> None:
        if value is None or value == "":
            return
        if newer or getattr(row, attr) is None:
            setattr(row, attr, value)

    put("arrival_time", incoming.arrival_time)
    put("discharge_time", incoming.discharge_time)
    put("patient_class", incoming.patient_class)
    put("reason", incoming.reason)
    put("conveyed_to_hospital", incoming.conveyed_to_hospital)
    if row.arrival_time is None and event.kind is domain.EventKind.REGISTER:
        row.arrival_time = event.event_time
    row.clinical = _merge_clinical(row.clinical or {}, incoming)

    status = _STATUS_FOR_EVENT.get(event.kind)
    if status is not None and newer:
        row.status = status
    elif status is AttendanceStatus.DISCHARGED and row.status == AttendanceStatus.ACTIVE:
        # A late discharge still means the child has left, unless a newer event cancelled the visit.
        row.status = status
    if newer and event.event_time is not None:
        row.last_event_time = event.event_time
    session.flush()
    if created:
        transaction_state(session, _CREATED, set[int]).add(row.id)
    return row
