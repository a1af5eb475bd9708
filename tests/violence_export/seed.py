"""Assault attendances for the violence export tests, ingested through the real pipeline."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from ed_alerts.ingest.models import ContentType, Transport
from ed_alerts.ingest.pipeline import ingest
from ed_alerts.services import Services
from ed_alerts.synthetic import Child, Visit, adt

DATA = Path(__file__).resolve().parents[1] / "data"
HL7_ISTV = DATA / "hl7v2" / "synthetic_ADT_A04_v24_ED_assault_istv.hl7"
FHIR_ISTV = DATA / "fhir" / "synthetic_Bundle-transaction_ED_assault_istv.json"


def child(**overrides: object) -> Child:
    values: dict[str, object] = {"family": "Testwood", "given": "Kai", "birth_date": date(2012, 3, 1),
                                 "nhs": None, "mrn": "MRN100001", "postcode": "CB1 2AB", "sex": "M"}
    values.update(overrides)
    return Child(**values)  # type: ignore[arg-type]


def assault_visit(visit_number: str, arrival: datetime, *, site: str = "RGT01", kid: Child | None = None,
                  observations: list[tuple[str, str, str, str]] | None = None,
                  diagnoses: list[tuple[str, str, str]] | None = None, reason: str = "Assault",
                  notes: list[str] | None = None) -> Visit:
    return Visit(child=kid or child(mrn=f"MRN-{visit_number}"), site=site, visit_number=visit_number,
                 arrival=arrival, reason=reason,
                 diagnoses=diagnoses if diagnoses is not None else [("Y04", "Assault by bodily force", "I10")],
                 observations=observations or [], notes=notes or [])


def send(services: Services, visit: Visit, control_id: str, event: str = "A04") -> list[int]:
    sent = visit.arrival if event == "A04" else datetime.now(UTC)
    outcome = ingest(services.ingest, adt(visit, event, control_id=control_id, sent=sent), ContentType.HL7V2,
                     Transport.HTTP)
    assert outcome.accepted, outcome
    return list(outcome.attendance_ids)


def send_file(services: Services, path: Path) -> list[int]:
    kind = ContentType.HL7V2 if path.suffix == ".hl7" else ContentType.FHIR_BUNDLE
    outcome = ingest(services.ingest, path.read_bytes(), kind, Transport.HTTP)
    assert outcome.accepted, outcome
    return list(outcome.attendance_ids)
