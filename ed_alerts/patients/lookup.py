"""Read-side look-ups of a child by our id or NHS number, following A40 merges to the survivor.

Used by the read APIs (FHIR, CDS Hooks); identity linking for ingest is in service.py.
"""

from __future__ import annotations

import nhs_number
from sqlalchemy import select
from sqlalchemy.orm import Session

from ed_alerts.domain import NHS_NUMBER_SYSTEM
from ed_alerts.patients.models import Patient, PatientIdentifier

_MAX_MERGE_HOPS = 20  # merges chain one hop each and never cycle; the cap only guards bad data


def valid_nhs_number(value: object) -> str | None:
    """The NHS number as 10 digits if `value` is one (spaces allowed) with a valid check digit."""
    if not isinstance(value, str):
        return None
    digits = value.replace(" ", "")
    return digits if len(digits) == 10 and digits.isdigit() and nhs_number.is_valid(digits) else None


def survivor_id(session: Session, patient_id: int) -> int | None:
    """The patient now holding this id's history (itself unless merged away); None if unknown."""
    patient = session.get(Patient, patient_id)
    hops = 0
    while patient is not None and patient.merged_into_id is not None and hops < _MAX_MERGE_HOPS:
        patient = session.get(Patient, patient.merged_into_id)
        hops += 1
    return patient.id if patient is not None else None


def patient_id_by_nhs_number(session: Session, number: str) -> int | None:
    # A merge moves identifiers to the survivor, so the holder is already the current child.
    return session.scalar(select(PatientIdentifier.patient_id).where(
        PatientIdentifier.system == NHS_NUMBER_SYSTEM, PatientIdentifier.value == number))
