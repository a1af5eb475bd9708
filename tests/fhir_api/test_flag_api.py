"""The FHIR R4 Flag API through the real app and database: every resource it emits validated with the
fhir.resources R4B models, each search parameter, paging, errors, and a real FHIR client over HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from httpx import Response
from sqlalchemy import select

from ed_alerts.audit.models import AuditEntry
from ed_alerts.fhir_api import codes
from ed_alerts.fhir_api.dates import DateValueError, parse_criterion, parse_range
from ed_alerts.fhir_api.search import DEFAULT_COUNT, SUPPORTED
from ed_alerts.ingest.models import ContentType, Transport
from ed_alerts.ingest.pipeline import ingest
from ed_alerts.services import Services
from ed_alerts.settings import Settings
from ed_alerts.synthetic import Generator, adt
from tests.fhir_api.scenario import Scenario, build

NHS = "https://fhir.nhs.uk/Id/nhs-number"


def valid(resource: dict[str, Any]) -> dict[str, Any]:
    """Validate with the R4B model for its type (and each entry of a Bundle); return it unchanged."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    for entry in resource.get("entry", []):
        get_fhir_model_class(entry["resource"]["resourceType"]).model_validate(entry["resource"])
    return resource


def fhir(res: Response, status: int = 200) -> dict[str, Any]:
    assert res.status_code == status, res.text
    assert res.headers["content-type"].startswith("application/fhir+json")
    return valid(res.json())


def outcome(res: Response, status: int = 400) -> dict[str, Any]:
    body = fhir(res, status)
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["severity"] == "error" and body["issue"][0]["diagnostics"]
    return body


def search(client: TestClient, params: Any = None, **kwargs: Any) -> dict[str, Any]:
    bundle = fhir(client.get("/fhir/Flag", params=params, **kwargs))
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    return bundle


def ids(bundle: dict[str, Any]) -> set[int]:
    return {int(e["resource"]["id"]) for e in bundle.get("entry", [])}


@pytest.fixture
def world(services: Services) -> Scenario:
    return build(services.ingest)


# --- metadata ------------------------------------------------------------------------------------------

def test_capability_statement_says_what_is_supported(client: TestClient) -> None:
    cs = fhir(client.get("/fhir/metadata"))
    assert cs["resourceType"] == "CapabilityStatement" and cs["fhirVersion"] == "4.0.1"
    assert cs["kind"] == "instance" and "application/fhir+json" in cs["format"]
    rest = cs["rest"][0]
    resources = {r["type"]: r for r in rest["resource"]}
    assert set(resources) == {"Flag", "Encounter"}
    flag = resources["Flag"]
    assert {i["code"] for i in flag["interaction"]} == {"read", "search-type"}
    declared = {p["name"] for p in flag["searchParam"]}
    # Every parameter the parser accepts is declared (modifiers and _format aside), and no more.
    assert declared == {p.split(":")[0] for p in SUPPORTED} - {"_format"}
    assert {i["code"] for i in resources["Encounter"]["interaction"]} == {"create"}
    assert [i["code"] for i in rest["interaction"]] == ["transaction"]
    assert cs["implementation"]["url"] == "http://testserver/fhir"


# --- read ----------------------------------------------------------------------------------------------

def test_read_flag_maps_every_field(client: TestClient, world: Scenario) -> None:
    att_id = world.repeat.attendance_ids[0]
    search_bundle = search(client, {"encounter": f"Encounter/{att_id}", "_count": 50})
    by_code = {e["resource"]["code"]["coding"][0]["code"]: int(e["resource"]["id"])
               for e in search_bundle["entry"]}
    flag = fhir(client.get(f"/fhir/Flag/{by_code['group_violence']}"))
    assert flag["resourceType"] == "Flag" and flag["status"] == "active"
    assert flag["code"]["coding"] == [{"system": codes.RULE_SYSTEM, "code": "group_violence",
                                       "display": "Group violence"}]
    assert flag["code"]["text"].startswith("Group violence:") and "3" in flag["code"]["text"]
    categories = [c["coding"][0] for c in flag["category"]]
    assert {(c["system"], c["code"]) for c in categories} == {
        ("http://terminology.hl7.org/CodeSystem/flag-category", "safety"),
        ("https://ed-alerts.example/CodeSystem/flag-category", "safeguarding")}
    assert flag["subject"]["reference"] == f"Patient/{world.repeat.patient_id}"
    assert flag["subject"]["identifier"] == {"system": NHS, "value": world.repeat.child.nhs}
    assert flag["encounter"]["reference"] == f"Encounter/{att_id}"
    assert datetime.fromisoformat(flag["period"]["start"]) == world.raised[att_id]
    ext = {e["url"]: e for e in flag["extension"]}
    assert ext[codes.EXT_SEVERITY]["valueCode"] == "high"
    assert ext[codes.EXT_RULE_VERSION]["valueString"]
    assert ext[codes.EXT_UNCERTAIN]["valueBoolean"] is False
    assert "Group violence" in flag["text"]["div"]


def test_read_unknown_or_odd_ids_answer_not_found(client: TestClient, world: Scenario) -> None:
    for flag_id in ["999999", "abc", "1²", "9" * 40]:
        body = outcome(client.get(f"/fhir/Flag/{flag_id}"), 404)
        assert body["issue"][0]["code"] == "not-found"


def test_other_resource_types_answer_in_fhir(client: TestClient) -> None:
    outcome(client.get("/fhir/Patient/1"), 404)
    outcome(client.get("/fhir/Observation"), 404)


def test_each_read_is_audited_as_a_view_of_the_childs_record(client: TestClient, world: Scenario,
                                                             services: Services) -> None:
    flag_id = world.disclosure.flag_ids[0]
    fhir(client.get(f"/fhir/Flag/{flag_id}", headers={"X-Access-Reason": "triage review"}))
    bundle = search(client, {"patient": str(world.disclosure.patient_id)})
    with services.db.session() as session:
        views = session.scalars(select(AuditEntry).where(AuditEntry.action == "record.viewed",
                                                         AuditEntry.entity_type == "fhir_flag")
                                .order_by(AuditEntry.id)).all()
    assert [v.details["flag_ids"] for v in views] == [[flag_id], [int(e["resource"]["id"]) for e in bundle["entry"]]]
    assert {v.patient_id for v in views} == {world.disclosure.patient_id}
    assert views[0].reason == "triage review" and views[0].role == "safeguarding_nurse"


# --- search parameters ---------------------------------------------------------------------------------

def test_search_by_patient_reference_in_each_form(client: TestClient, world: Scenario) -> None:
    pid = world.repeat.patient_id
    expected = set(world.repeat.flag_ids)
    for value in [f"Patient/{pid}", str(pid), f"http://testserver/fhir/Patient/{pid}"]:
        bundle = search(client, {"patient": value})
        assert ids(bundle) == expected and bundle["total"] == len(expected)
        assert {e["resource"]["subject"]["reference"] for e in bundle["entry"]} == {f"Patient/{pid}"}
    both = search(client, {"patient": f"{pid},{world.disclosure.patient_id}"})
    assert ids(both) == expected | set(world.disclosure.flag_ids)
    # A valid FHIR id that is not ours, and a patient who has no flags: an empty searchset.
    for value in ["Patient/not-ours", str(world.unflagged.patient_id), "Patient/424242"]:
        empty = search(client, {"patient": value})
        assert empty["total"] == 0 and "entry" not in empty


def test_search_by_nhs_number(client: TestClient, world: Scenario) -> None:
    nhs = world.disclosure.child.nhs
    bundle = search(client, {"patient:identifier": f"{NHS}|{nhs}"})
    assert ids(bundle) == set(world.disclosure.flag_ids)
    spaced = f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"
    assert ids(search(client, {"patient:identifier": f"http://fhir.nhs.net/Id/nhs-number|{spaced}"})) == ids(bundle)
    assert ids(search(client, {"patient:identifier": nhs})) == ids(bundle)  # any system
    assert search(client, {"patient:identifier": f"{NHS}|9434765919"})["total"] == 0  # valid, unknown
    outcome(client.get("/fhir/Flag", params={"patient:identifier": f"{NHS}|1234567890"}))  # check digit


def test_search_by_status(client: TestClient, world: Scenario) -> None:
    inactive = search(client, {"status": "inactive"})
    assert ids(inactive) == set(world.cancelled.flag_ids)
    assert {e["resource"]["status"] for e in inactive["entry"]} == {"inactive"}
    active = search(client, {"status": "active", "_count": 200})
    assert ids(active) == world.all_flag_ids() - set(world.cancelled.flag_ids)
    assert ids(search(client, {"status": "active,inactive", "_count": 200})) == world.all_flag_ids()
    assert search(client, {"status": "entered-in-error"})["total"] == 0
    outcome(client.get("/fhir/Flag", params={"status": "withdrawn"}))


def test_search_by_category(client: TestClient, world: Scenario) -> None:
    everything = world.all_flag_ids()
    for value in ["safety", "http://terminology.hl7.org/CodeSystem/flag-category|safety",
                  "https://ed-alerts.example/CodeSystem/flag-category|safeguarding", "safeguarding",
                  "https://ed-alerts.example/CodeSystem/flag-category|"]:
        assert ids(search(client, {"category": value, "_count": 200})) == everything, value
    for value in ["clinical", "http://terminology.hl7.org/CodeSystem/flag-category|clinical", "|safety"]:
        assert search(client, {"category": value})["total"] == 0, value


def test_search_by_date_prefixes_on_period_start(client: TestClient, world: Scenario) -> None:
    by_day = {when.date(): att for att, when in world.raised.items()}

    def attendances(params: Any) -> set[int]:
        bundle = search(client, params)
        return {int(e["resource"]["encounter"]["reference"].split("/")[1]) for e in bundle.get("entry", [])}

    jan, feb, mar1, mar15, apr = (by_day[d] for d in sorted(by_day))
    assert attendances({"date": "2026-01-10"}) == {jan}
    assert attendances({"date": "eq2026-02"}) == {feb}
    assert attendances({"date": "2026"}) == {jan, feb, mar1, mar15, apr}
    assert attendances({"date": "lt2026-03-01"}) == {jan, feb}
    assert attendances({"date": "le2026-03-01"}) == {jan, feb, mar1}
    assert attendances({"date": "gt2026-03-01"}) == {mar15, apr}
    assert attendances({"date": "ge2026-03-01T00:00:00Z"}) == {mar1, mar15, apr}
    assert attendances({"date": "ne2026-03"}) == {jan, feb, apr}
    # Repeated: AND (a range). Comma: OR. A time with an offset is converted to UTC.
    assert attendances([("date", "ge2026-02-01"), ("date", "lt2026-03-15")]) == {feb, mar1}
    assert attendances({"date": "2026-01-10,2026-04-01"}) == {jan, apr}
    assert attendances({"date": "eq2026-02-20T16:30+01:00"}) == {feb}
    for bad in ["yesterday", "2026-13-01", "2026-02-30", "sa2026-01-01", "2026-01-10T10"]:
        outcome(client.get("/fhir/Flag", params={"date": bad}))


def test_search_by_encounter_and_id(client: TestClient, world: Scenario) -> None:
    att = world.repeat.attendance_ids[1]
    bundle = search(client, {"encounter": f"Encounter/{att}"})
    assert {e["resource"]["code"]["coding"][0]["code"] for e in bundle["entry"]} == world.repeat.rules[att]
    assert ids(search(client, {"encounter": str(att)})) == ids(bundle)
    some = sorted(world.all_flag_ids())[:2]
    assert ids(search(client, {"_id": ",".join(map(str, some))})) == set(some)
    outcome(client.get("/fhir/Flag", params={"encounter": "Patient/1"}))


def test_parameters_combine_with_and(client: TestClient, world: Scenario) -> None:
    pid = world.cancelled.patient_id
    assert ids(search(client, {"patient": pid, "status": "inactive"})) == set(world.cancelled.flag_ids)
    assert search(client, {"patient": pid, "status": "active"})["total"] == 0


def test_flags_follow_the_child_through_an_a40_merge(client: TestClient, services: Services) -> None:
    gen = Generator(seed=96)
    survivor, duplicate = gen.child(age=14, with_nhs=False), gen.child(age=14, with_nhs=False)
    for child, kind, control in [(survivor, "plain", "MG1"), (duplicate, "weapon", "MG2")]:
        assert ingest(services.ingest, adt(gen.visit(child, "RGT01", kind=kind), control_id=control),
                      ContentType.HL7V2, Transport.FILE).accepted
    before = search(client, {"_count": 50})
    (loser_id,) = {int(e["resource"]["subject"]["reference"].split("/")[1]) for e in before["entry"]}
    merge = (f"MSH|^~\\&|PAS|RGT01|EDALERTS|ICB|20260101120000||ADT^A40^ADT_A39|MG3|P|2.4\r"
             f"EVN|A40|20260101120000\r"
             f"PID|1||{survivor.mrn}^^^RGT01^MR||{survivor.family}^{survivor.given}\r"
             f"MRG|{duplicate.mrn}^^^RGT01^MR\r").encode()
    assert ingest(services.ingest, merge, ContentType.HL7V2, Transport.FILE).accepted
    after = search(client, {"patient": f"Patient/{loser_id}"})  # the old id finds the survivor's flags
    assert ids(after) == ids(before)
    (subject,) = {e["resource"]["subject"]["reference"] for e in after["entry"]}
    assert subject != f"Patient/{loser_id}"
    assert ids(search(client, {"patient": subject})) == ids(before)


# --- paging --------------------------------------------------------------------------------------------

def test_paging_with_links_walks_every_match_once(client: TestClient, world: Scenario) -> None:
    first = search(client, {"_count": 3, "status": "active"})
    total = first["total"]
    assert total == len(world.all_flag_ids() - set(world.cancelled.flag_ids)) > 6
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert set(links) == {"self", "next"} and "status=active" in links["next"]
    seen, pages, bundle = [], 0, first
    while True:
        pages += 1
        assert len(bundle.get("entry", [])) <= 3 and bundle["total"] == total
        seen += [int(e["resource"]["id"]) for e in bundle.get("entry", [])]
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        if pages > 1:
            assert "previous" in links
        if "next" not in links:
            break
        bundle = fhir(client.get(links["next"]))
    assert len(seen) == len(set(seen)) == total and pages == -(-total // 3)
    # Newest first.
    starts = [datetime.fromisoformat(fhir(client.get(f"/fhir/Flag/{i}"))["period"]["start"]) for i in seen]
    assert starts == sorted(starts, reverse=True)
    back = {link["relation"]: link["url"] for link in bundle["link"]}["previous"]
    assert "_offset=" in back and fhir(client.get(back))["entry"]


def test_count_zero_and_defaults(client: TestClient, world: Scenario) -> None:
    only_total = search(client, {"_count": "0"})
    assert only_total["total"] == len(world.all_flag_ids()) and "entry" not in only_total
    default = search(client)
    assert f"_count={DEFAULT_COUNT}" in default["link"][0]["url"]
    capped = search(client, {"_count": "100000"})
    assert "_count=200" in capped["link"][0]["url"]
    beyond = search(client, {"_offset": "500"})
    assert "entry" not in beyond and {link["relation"] for link in beyond["link"]} == {"self", "previous"}


# --- errors and options --------------------------------------------------------------------------------

@pytest.mark.parametrize("params", [
    {"name": "x"}, {"_sort": "date"}, {"_include": "Flag:patient"}, {"status:not": "active"},
    {"_count": "-1"}, {"_count": "ten"}, {"_offset": "1.5"}, {"_format": "xml"},
    {"patient": "Patient/bad id!"}, {"patient": "Observation/1"}, {"patient:identifier": f"{NHS}|"},
])
def test_unsupported_parameters_and_bad_values_answer_operation_outcome(
        client: TestClient, params: dict[str, str]) -> None:
    body = outcome(client.get("/fhir/Flag", params=params))
    assert body["issue"][0]["code"] in {"invalid", "not-supported", "value"}


def test_lenient_handling_ignores_unknown_parameters(client: TestClient, world: Scenario) -> None:
    bundle = search(client, {"unknown": "1", "status": "inactive"}, headers={"Prefer": "handling=lenient"})
    assert ids(bundle) == set(world.cancelled.flag_ids)
    assert "unknown" not in bundle["link"][0]["url"]


def test_empty_values_are_ignored(client: TestClient, world: Scenario) -> None:
    assert search(client, {"status": "", "_count": 200})["total"] == len(world.all_flag_ids())


def test_post_search_keeps_the_nhs_number_out_of_the_url(client: TestClient, world: Scenario) -> None:
    nhs = world.repeat.child.nhs
    res = client.post("/fhir/Flag/_search", data={"patient:identifier": f"{NHS}|{nhs}"})
    assert ids(fhir(res)) == set(world.repeat.flag_ids)
    outcome(client.post("/fhir/Flag/_search", data={"bogus": "1"}))


# --- date values (unit) --------------------------------------------------------------------------------

def test_date_values_name_the_interval_of_their_precision() -> None:
    r = parse_range("2026-02")
    assert (r.start, r.end) == (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))
    r = parse_range("2026-12-31")
    assert r.end == datetime(2027, 1, 1, tzinfo=UTC)
    r = parse_range("2026-01-10T10:00:05.25Z")
    assert r.end - r.start == (datetime(2026, 1, 1, 0, 0, 0, 10000) - datetime(2026, 1, 1))
    assert parse_criterion("ge2026").prefix == "ge" and parse_criterion("2026").prefix == "eq"
    for bad in ["2026-1-1", "2026-01-01T25:00", "2026Z", "ap2026"]:
        with pytest.raises(DateValueError):
            parse_criterion(bad)


# --- a real FHIR client over real HTTP -----------------------------------------------------------------

@pytest.fixture
def live_server(settings: Settings, services: Services) -> Iterator[str]:
    """The app served by uvicorn on a free port, in a thread, for clients that speak real HTTP."""
    from ed_alerts.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings, services=services), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def test_fhirclient_reads_and_searches_over_http(live_server: str, world: Scenario, client: TestClient) -> None:
    reader_headers = {"Authorization": client.headers["Authorization"]}
    from fhirclient import client as fhir_client
    from fhirclient.models.flag import Flag as ClientFlag

    smart = fhir_client.FHIRClient(settings={"app_id": "ed-alerts-tests", "api_base": f"{live_server}/fhir/"})
    smart.server.session.headers.update(reader_headers)  # a signed-in nurse's bearer token
    capability = smart.server.capabilityStatement  # parsed by fhirclient's own R4 models
    assert capability.fhirVersion == "4.0.1"
    assert [r.type for r in capability.rest[0].resource] == ["Flag", "Encounter"]

    flags = list(ClientFlag.where(struct={"patient": f"Patient/{world.repeat.patient_id}", "_count": "2"})
                 .perform_resources_iter(smart.server))  # follows Bundle.link next across pages
    assert {int(f.id) for f in flags} == set(world.repeat.flag_ids) and len(flags) > 2
    assert {f.subject.identifier.value for f in flags} == {world.repeat.child.nhs}

    by_nhs = list(ClientFlag.where(struct={"patient:identifier": f"{NHS}|{world.disclosure.child.nhs}"})
                  .perform_resources_iter(smart.server))
    assert {int(f.id) for f in by_nhs} == set(world.disclosure.flag_ids)

    one = ClientFlag.read(str(world.disclosure.flag_ids[0]), smart.server)
    assert one.status == "active" and one.code.coding[0].system == codes.RULE_SYSTEM
    assert one.period.start.datetime is not None
