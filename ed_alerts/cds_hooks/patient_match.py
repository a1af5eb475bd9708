"""Which of our children a hook request is about.

The NHS number is the only identifier shared with an EHR, so it is trusted first: from the prefetched
Patient when the EHR sent one, and then used alone (if we do not know that NHS number, we do not know
the child, whatever its patientId says). Otherwise context.patientId is read as an NHS number when it
is a valid one, else as our own patient id (for apps that launch with ed-alerts' ids).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ed_alerts.db.ids import row_id
from ed_alerts.patients.lookup import patient_id_by_nhs_number, survivor_id, valid_nhs_number
from integrations.fhir_r4.codes import NHS_NUMBER_SYSTEMS


def prefetched_nhs_number(prefetch: dict[str, Any] | None) -> str | None:
    patient = (prefetch or {}).get("patient")
    if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
        return None
    for ident in patient.get("identifier") or []:
        if isinstance(ident, dict) and ident.get("system") in NHS_NUMBER_SYSTEMS:
            number = valid_nhs_number(ident.get("value"))
            if number:
                return number
    return None


def find_patient_id(session: Session, patient_id: str, prefetch: dict[str, Any] | None) -> int | None:
    number = prefetched_nhs_number(prefetch)
    if number is not None:
        return patient_id_by_nhs_number(session, number)
    candidate = patient_id.strip()
    number = valid_nhs_number(candidate)
    if number is not None:
        return patient_id_by_nhs_number(session, number)
    ours = row_id(candidate)
    return survivor_id(session, ours) if ours is not None else None
