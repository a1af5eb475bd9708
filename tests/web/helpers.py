"""Flagged attendances for the page tests, from synthetic HL7 through the real pipeline."""

from __future__ import annotations

from datetime import datetime

from ed_alerts.ingest.models import ContentType, Transport
from ed_alerts.ingest.pipeline import ingest
from ed_alerts.services import Services
from ed_alerts.synthetic import Child, Generator, adt


def arrive(services: Services, gen: Generator, *, site: str = "RGT01", kind: str = "group_assault",
           child: Child | None = None, arrival: datetime | None = None, family: str | None = None,
           given: str | None = None, postcode: str | None = None) -> int:
    child = child or gen.child(age=14)
    if family:
        child.family = family
    if given:
        child.given = given
    if postcode:
        child.postcode = postcode
    raw = adt(gen.visit(child, site, kind=kind, arrival=arrival), control_id=gen.next_id(f"WEB{gen.seed}-"))
    outcome = ingest(services.ingest, raw, ContentType.HL7V2, Transport.MLLP)
    assert outcome.accepted, outcome.reason
    return outcome.attendance_ids[0]
