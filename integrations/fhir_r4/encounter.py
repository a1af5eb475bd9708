"""Decide whether an Encounter is an ED or ambulance attendance, and map its own fields to the domain."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ed_alerts.domain import Attendance, EventKind, FreeText, SourceType

from .codes import (
    CONVEYANCE_CODES,
    CONVEYANCE_SYSTEM,
    ENCOUNTER_STATUS_KIND,
    best_coding,
    concept_text,
    is_emergency_class,
)


def is_attendance(encounter: Any, source_type: SourceType | None) -> bool:
    """An ED or ambulance attendance.

    Yes when the class is EMER now, or was EMER earlier (classHistory): an ED visit that was later
    reclassified, say admitted (IMP) or moved to ambulatory care (AMB), still happened in the ED,
    and its later messages must not be lost. Yes when the message declares an ambulance source
    (see codes.SOURCE_TYPE_SYSTEM): ambulance systems use class FLD or others, and a child who is
    not conveyed is still an attendance. Anything else (inpatient, outpatient) is not ours.
    """
    if is_emergency_class(encounter.class_fhir):
        return True
    if any(is_emergency_class(h.class_fhir) for h in encounter.classHistory or []):
        return True
    return source_type == SourceType.AMBULANCE


def event_kind(encounter: Any) -> EventKind:
    return ENCOUNTER_STATUS_KIND[encounter.status]  # the status was checked when validated


def map_attendance(encounter: Any) -> tuple[Attendance, list[str]]:
    """The attendance as the Encounter alone describes it; diagnoses and observations come later."""
    warnings: list[str] = []
    period = encounter.period
    arrival = _moment(period.start if period else None, "Encounter.period.start", warnings)
    discharge = _moment(period.end if period else None, "Encounter.period.end", warnings)
    reason_concept = (encounter.reasonCode or [None])[0]
    notes = [FreeText(source="Encounter.reasonCode.text", text=r.text.strip())
             for r in encounter.reasonCode or [] if r.text and r.text.strip()]
    attendance = Attendance(
        visit_number=visit_number(encounter),
        patient_class=encounter.class_fhir.code if encounter.class_fhir else None,
        arrival_time=arrival,
        discharge_time=discharge,
        reason=concept_text(reason_concept),
        reason_code=best_coding(reason_concept),
        notes=notes,
        conveyed_to_hospital=conveyed_to_hospital(encounter),
    )
    return attendance, warnings


def visit_number(encounter: Any) -> str | None:
    for identifier in encounter.identifier or []:
        if identifier.value and identifier.value.strip():
            return identifier.value.strip()
    return encounter.id


def conveyed_to_hospital(encounter: Any) -> bool | None:
    """From hospitalization.dischargeDisposition coded in our conveyance system; None when not said."""
    disposition = encounter.hospitalization.dischargeDisposition if encounter.hospitalization else None
    for coding in (disposition.coding or []) if disposition else []:
        if coding.system == CONVEYANCE_SYSTEM and coding.code in CONVEYANCE_CODES:
            return CONVEYANCE_CODES[coding.code]
    return None


def _moment(value: datetime | date | str | None, element: str, warnings: list[str]) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    # A date alone (or a year) is not a time of arrival; inventing midnight would misorder visits.
    warnings.append(f"{element} has no time of day: left empty")
    return None
