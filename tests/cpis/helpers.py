"""Small builders shared by the CP-IS tests: synthetic children and visits, and sending them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ed_alerts.ingest.models import ContentType, Transport
from ed_alerts.ingest.pipeline import IngestOutcome, ingest
from ed_alerts.services import Services
from ed_alerts.synthetic import Generator, Visit, adt
from integrations.cpis.fake_state import synthetic_nhs_number

# The fake CP-IS's seeded children (fake_state.default_children), and one it does not know.
ON_PLAN, LOOKED_AFTER, ENDED, UNBORN, BOTH = (synthetic_nhs_number(i) for i in range(5))
UNKNOWN = synthetic_nhs_number(30)
RULE = "known_to_social_care"


def visit(nhs: str | None, *, age: int = 14, visit_number: str = "V1", arrival: datetime | None = None,
          seed: int = 5) -> Visit:
    """An ordinary ED visit (nothing in it raises a flag) of a child with this NHS number."""
    now = datetime.now(UTC)
    child = Generator(seed=seed, now=now).child(age=age)
    child.nhs = nhs
    return Visit(child=child, site="RGT01", visit_number=visit_number,
                 arrival=arrival or now - timedelta(minutes=20), reason="Fall from bicycle",
                 diagnoses=[("S52.5", "Fracture of lower end of radius", "I10")])


def send(svc: Services, v: Visit, event: str = "A04", *, control_id: str) -> IngestOutcome:
    out = ingest(svc.ingest, adt(v, event, control_id=control_id), ContentType.HL7V2, Transport.MLLP)
    assert out.accepted, out.reason
    return out
