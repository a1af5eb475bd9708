"""CDS Hooks 2.0 through the real app: discovery, patient-view and encounter-start requests shaped like
the specification's examples, cards for a flagged child and none for others, prefetch used first."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ed_alerts.audit.models import AuditEntry
from ed_alerts.ingest.models import ContentType, Transport
from ed_alerts.ingest.pipeline import ingest
from ed_alerts.services import Services
from ed_alerts.synthetic import Generator, adt
from tests.fhir_api.scenario import Scenario, build

NHS = "https://fhir.nhs.uk/Id/nhs-number"
PATIENT_VIEW = "/cds-services/ed-alerts-patient-view"
ENCOUNTER_START = "/cds-services/ed-alerts-encounter-start"

# After the patient-view example request in the CDS Hooks 2.0 specification (hooks/patient-view):
# the EHR's own patient id, an access token we never use, and a prefetched Patient.
PATIENT_VIEW_EXAMPLE: dict[str, Any] = {
    "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
    "fhirServer": "http://hooks.smarthealthit.org:9080",
    "hook": "patient-view",
    "fhirAuthorization": {"access_token": "some-opaque-fhir-access-token", "token_type": "Bearer",
                          "expires_in": 300, "scope": "user/Patient.read user/Observation.read",
                          "subject": "cds-service4"},
    "context": {"userId": "Practitioner/example", "patientId": "1288992"},
    "prefetch": {"patient": {"resourceType": "Patient", "id": "1288992", "gender": "male",
                             "birthDate": "2011-12-23", "active": True}},
}

# After the encounter-start example (hooks/encounter-start): user, patient and encounter in context.
ENCOUNTER_START_EXAMPLE: dict[str, Any] = {
    "hookInstance": "2f7b5a46-6d0c-4d9b-9a4c-0c6f1b3f4a21",
    "fhirServer": "http://hooks.smarthealthit.org:9080",
    "hook": "encounter-start",
    "context": {"userId": "PractitionerRole/A2340113", "patientId": "1288992", "encounterId": "456"},
}


def patient_view(patient_id: str = "1288992", *, nhs: str | None = None, prefetch: bool = True) -> dict[str, Any]:
    body = copy.deepcopy(PATIENT_VIEW_EXAMPLE)
    body["hookInstance"] = str(uuid.uuid4())
    body["context"]["patientId"] = patient_id
    if not prefetch:
        del body["prefetch"]
    elif nhs is not None:
        body["prefetch"]["patient"]["identifier"] = [
            {"system": "https://fhir.example.org/local-mrn", "value": "EHR-555"},
            {"system": NHS, "value": nhs},
        ]
    return body


def cards(client: TestClient, url: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    res = client.post(url, json=body)
    assert res.status_code == 200, res.text
    found = res.json()["cards"]
    for card in found:  # the CDS Hooks 2.0 card rules we rely on
        assert 0 < len(card["summary"]) < 140
        assert card["indicator"] in {"info", "warning", "critical"}
        assert card["source"]["label"] == "ed-alerts safeguarding rules"
        for link in card.get("links", []):
            assert link["type"] == "absolute" and link["url"].startswith("http://testserver/")
    return found


@pytest.fixture
def world(services: Services) -> Scenario:
    return build(services.ingest)


def test_discovery_lists_both_services_with_prefetch(client: TestClient) -> None:
    res = client.get("/cds-services")
    assert res.status_code == 200
    services = {s["id"]: s for s in res.json()["services"]}
    assert {sid: s["hook"] for sid, s in services.items()} == {
        "ed-alerts-patient-view": "patient-view", "ed-alerts-encounter-start": "encounter-start"}
    for s in services.values():
        assert s["title"] and s["description"]
        assert s["prefetch"] == {"patient": "Patient/{{context.patientId}}"}


def test_patient_view_finds_the_child_by_the_prefetched_nhs_number(client: TestClient, world: Scenario) -> None:
    found = cards(client, PATIENT_VIEW, patient_view(nhs=world.repeat.child.nhs))
    assert len(found) == 2  # one card per flagged attendance, newest first
    newest, older = found
    newest_att, older_att = world.repeat.attendance_ids[1], world.repeat.attendance_ids[0]
    assert newest["links"][0]["url"] == f"http://testserver/attendances/{newest_att}"
    assert older["links"][0]["url"] == f"http://testserver/attendances/{older_att}"
    assert newest["indicator"] == "critical"  # a weapon injury
    assert "Weapon injury" in newest["summary"] and "Repeat attendance" in newest["summary"]
    # The detail gives each reason and the words that raised it.
    assert "**Group violence** (high)" in older["detail"] and "Number of assailants" in older["detail"]
    assert "don't feel safe going home" in older["detail"]
    assert "Hinchingbrooke" in newest["detail"]  # the site, by name


def test_no_cards_for_an_unflagged_child(client: TestClient, world: Scenario) -> None:
    assert cards(client, PATIENT_VIEW, patient_view(nhs=world.unflagged.child.nhs)) == []
    assert cards(client, PATIENT_VIEW, patient_view(str(world.unflagged.patient_id), prefetch=False)) == []


def test_prefetch_wins_over_the_patient_id(client: TestClient, world: Scenario) -> None:
    # The EHR's patient id happens to equal one of ours, but the prefetched Patient says who the child
    # is: an unknown NHS number means we know nothing about this child.
    body = patient_view(str(world.repeat.patient_id), nhs="9434765919")
    assert cards(client, PATIENT_VIEW, body) == []
    # Without an NHS number in the prefetched Patient, the context id is used.
    assert len(cards(client, PATIENT_VIEW, patient_view(str(world.repeat.patient_id)))) == 2


def test_patient_id_as_nhs_number_or_our_id_without_prefetch(client: TestClient, world: Scenario) -> None:
    by_nhs = cards(client, PATIENT_VIEW, patient_view(world.disclosure.child.nhs, prefetch=False))
    by_id = cards(client, PATIENT_VIEW, patient_view(str(world.disclosure.patient_id), prefetch=False))
    assert len(by_nhs) == 1 and by_nhs == by_id
    assert by_nhs[0]["indicator"] == "critical" and "Does not feel safe" in by_nhs[0]["summary"]


@pytest.mark.parametrize("patient_id", ["not-an-id", "Patient/1", "1234567890", "9" * 30, "１"])
def test_unknown_or_malformed_patient_ids_get_no_cards(client: TestClient, world: Scenario,
                                                        patient_id: str) -> None:
    assert cards(client, PATIENT_VIEW, patient_view(patient_id, prefetch=False)) == []


def test_encounter_start_returns_the_same_cards(client: TestClient, world: Scenario) -> None:
    body = copy.deepcopy(ENCOUNTER_START_EXAMPLE)
    body["context"]["patientId"] = world.disclosure.child.nhs
    found = cards(client, ENCOUNTER_START, body)
    assert len(found) == 1 and "Does not feel safe" in found[0]["summary"]
    body["prefetch"] = {"patient": None}  # the EHR could not prefetch: still answered from context
    assert cards(client, ENCOUNTER_START, body) == found


def test_withdrawn_flags_make_no_cards_and_medium_flags_warn(client: TestClient, world: Scenario) -> None:
    assert cards(client, PATIENT_VIEW, patient_view(nhs=world.cancelled.child.nhs)) == []
    (card,) = cards(client, PATIENT_VIEW, patient_view(nhs=world.away.child.nhs))
    assert card["indicator"] == "warning" and "Far from home" in card["summary"]


def test_many_flagged_attendances_are_summed_up_after_ten_cards(client: TestClient, services: Services) -> None:
    now = datetime.now(UTC)
    gen = Generator(seed=95, now=now)
    child = gen.child(age=15)
    for i in range(12):
        visit = gen.visit(child, "RGT01", kind="weapon", arrival=now - timedelta(days=i))
        assert ingest(services.ingest, adt(visit, control_id=f"MANY{i}"), ContentType.HL7V2,
                      Transport.HTTP).accepted
    found = cards(client, PATIENT_VIEW, patient_view(nhs=child.nhs))
    assert len(found) == 11 and "earlier attendances" in found[-1]["summary"]
    assert "links" not in found[-1]


def test_cards_shown_are_audited_as_views_of_the_childs_record(client: TestClient, world: Scenario,
                                                               services: Services) -> None:
    cards(client, PATIENT_VIEW, patient_view(nhs=world.repeat.child.nhs))
    cards(client, PATIENT_VIEW, patient_view(nhs=world.unflagged.child.nhs))
    with services.db.session() as session:
        views = session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "cds_card")).all()
    assert [sorted(v.details["flag_ids"]) for v in views] == [sorted(world.repeat.flag_ids)]
    assert views[0].patient_id == world.repeat.patient_id and views[0].action == "record.viewed"


def test_unknown_service_is_404(client: TestClient) -> None:
    assert client.post("/cds-services/no-such-service", json=PATIENT_VIEW_EXAMPLE).status_code == 404


@pytest.mark.parametrize("mutate", [
    lambda b: b.pop("hook"),
    lambda b: b.pop("hookInstance"),
    lambda b: b.pop("context"),
    lambda b: b["context"].pop("patientId"),
    lambda b: b.update(context="Patient/1"),
    lambda b: b.update(hook="order-sign"),  # a hook this service does not answer
])
def test_malformed_requests_are_400(client: TestClient, mutate: Any) -> None:
    body = copy.deepcopy(PATIENT_VIEW_EXAMPLE)
    mutate(body)
    res = client.post(PATIENT_VIEW, json=body)
    assert res.status_code == 400 and res.json()["detail"]


def test_a_body_that_is_not_json_is_400(client: TestClient) -> None:
    res = client.post(PATIENT_VIEW, content=b"{not json", headers={"content-type": "application/json"})
    assert res.status_code == 400
