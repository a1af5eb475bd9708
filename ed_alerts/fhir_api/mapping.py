"""A stored flag as an R4 Flag resource: what a flag means, for systems that do not know our tables."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from ed_alerts.domain import NHS_NUMBER_SYSTEM
from ed_alerts.fhir_api import codes
from ed_alerts.fhir_api.queries import FlagRow
from ed_alerts.flags.models import FlagStatus


def instant(value: datetime) -> str:
    return value.isoformat()  # stored times are timezone-aware UTC, so this is a valid FHIR instant


def fhir_status(stored: str) -> str:
    # A withdrawn flag (its attendance was cancelled) is kept: FHIR calls that inactive.
    return "active" if stored == FlagStatus.ACTIVE else "inactive"


def _narrative(row: FlagRow) -> dict[str, str]:
    flag = row.flag
    text = (f"<p><b>{escape(flag.title)}</b> ({escape(flag.severity)}, {fhir_status(flag.status)})</p>"
            f"<p>{escape(flag.reason)}</p>")
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{text}</div>'}


def subject_reference(patient_id: int, nhs_number: str | None) -> dict[str, Any]:
    ref: dict[str, Any] = {"reference": f"Patient/{patient_id}", "type": "Patient"}
    if nhs_number:
        ref["identifier"] = {"system": NHS_NUMBER_SYSTEM, "value": nhs_number}
    return ref


def flag_resource(row: FlagRow) -> dict[str, Any]:
    flag = row.flag
    return {
        "resourceType": "Flag",
        "id": str(flag.id),
        "meta": {"lastUpdated": instant(flag.updated_at)},
        "text": _narrative(row),
        "extension": [
            {"url": codes.EXT_RULE_VERSION, "valueString": flag.rule_version},
            {"url": codes.EXT_SEVERITY, "valueCode": flag.severity},
            # Only hedged evidence ("may have said they do not feel safe"): a reader should know.
            {"url": codes.EXT_UNCERTAIN, "valueBoolean": bool(flag.uncertain)},
        ],
        "status": fhir_status(flag.status),
        "category": [
            {"coding": [{"system": system, "code": code, "display": display}], "text": display}
            for system, code, display in codes.CATEGORY_CODINGS
        ],
        "code": {
            "coding": [{"system": codes.RULE_SYSTEM, "code": flag.rule_id, "display": flag.title}],
            "text": flag.reason,
        },
        "subject": subject_reference(row.patient_id, row.nhs_number),
        "period": {"start": instant(flag.raised_at)},
        "encounter": {"reference": f"Encounter/{flag.attendance_id}", "type": "Encounter"},
        "author": {"display": codes.AUTHOR_DISPLAY},
    }
