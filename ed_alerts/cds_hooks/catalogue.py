"""The CDS services this server offers, as the discovery endpoint lists them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Both hooks ask the EHR for the Patient, so that we can match the child by NHS number rather than by
# the EHR's own patient id, which means nothing to us.
PREFETCH = {"patient": "Patient/{{context.patientId}}"}


@dataclass(frozen=True)
class CdsService:
    id: str
    hook: str
    title: str
    description: str

    def discovery(self) -> dict[str, Any]:
        return {"hook": self.hook, "id": self.id, "title": self.title, "description": self.description,
                "prefetch": dict(PREFETCH)}


SERVICES: dict[str, CdsService] = {s.id: s for s in (
    CdsService(
        id="ed-alerts-patient-view", hook="patient-view", title="ED safeguarding flags",
        description="Active safeguarding flags raised on the child's emergency department and ambulance "
                    "attendances, with the reasons and the words or codes that raised them."),
    CdsService(
        id="ed-alerts-encounter-start", hook="encounter-start",
        title="ED safeguarding flags at the start of an encounter",
        description="When an encounter starts, the child's active safeguarding flags from emergency "
                    "department and ambulance attendances, with the reasons."),
)}


def discovery() -> dict[str, Any]:
    return {"services": [s.discovery() for s in SERVICES.values()]}
