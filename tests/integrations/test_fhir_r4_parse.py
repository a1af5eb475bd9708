"""Tests for the FHIR R4 inbound adapter: real public samples, synthetic messages and bad input."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient as R4BPatient

from ed_alerts.domain import NHS_NUMBER_SYSTEM, CodeSystem, EventKind, SourceType
from ed_alerts.errors import MessageRejected, MessageTooLarge
from integrations.fhir_r4 import (
    FhirMessageRejected,
    bundle_dedupe_key,
    operation_outcome,
    outcome_for_rejection,
    parse_bundle,
    parse_encounter,
    parse_message,
)
from integrations.fhir_r4.patient import map_patient

DATA = Path(__file__).resolve().parent.parent / "data" / "fhir"
AMBULANCE = "synthetic_Bundle-message_ambulance_not_conveyed_assault.json"
TRANSACTION = "synthetic_Bundle-transaction_ED_EMER_icd10_X99.json"
COLLECTION = "synthetic_Bundle-collection_ED_discharge.json"
LONE_ENCOUNTER = "synthetic_Encounter_contained_patient.json"
SOURCE_TAG = {"system": "https://ed-alerts.example/source-type", "code": "ambulance"}


def load(name: str) -> bytes:
    return (DATA / name).read_bytes()


def load_json(name: str) -> dict[str, Any]:
    return json.loads(load(name).decode("utf-8-sig"))


def body(resource: dict[str, Any]) -> bytes:
    return json.dumps(resource).encode("utf-8")


def encounter(**overrides: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": "enc-1",
        "status": "arrived",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "EMER"},
        "subject": {"reference": "urn:uuid:00000000-0000-4000-8000-000000000001"},
    }
    resource.update(overrides)
    return resource


def patient(**overrides: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": "9990001057"}],
        "name": [{"family": "SYNTHETIC", "given": ["Test"]}],
        "birthDate": "2011-01-01",
    }
    resource.update(overrides)
    return resource


def bundle(*resources: dict[str, Any], bundle_type: str = "collection", **extra: Any) -> dict[str, Any]:
    entries = []
    for i, resource in enumerate(resources):
        url = "urn:uuid:00000000-0000-4000-8000-00000000000" + str(i + 1)
        entries.append({"fullUrl": url, "resource": resource})
    return {"resourceType": "Bundle", "type": bundle_type, "entry": entries, **extra}


def simple_bundle(*others: dict[str, Any], enc: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A collection whose first entry is a Patient (urn ...01) and second an Encounter for it."""
    return bundle(patient(), enc or encounter(), *others, **extra)


def rejected(call: Any, *args: Any, **kwargs: Any) -> FhirMessageRejected:
    with pytest.raises(FhirMessageRejected) as info:
        call(*args, **kwargs)
    assert isinstance(info.value, MessageRejected)
    # Every rejection can be answered with a valid R4 OperationOutcome.
    OperationOutcome.model_validate(outcome_for_rejection(info.value))
    return info.value


# --- public samples: mapped ---------------------------------------------------------------------

def test_bars_request_message_bundle_maps_a_triaged_emer_encounter() -> None:
    [parsed] = parse_bundle(load("bars_Bundle-message_validation_request_EMER.json"))
    event = parsed.event
    assert event.kind == EventKind.REGISTER  # triaged
    assert event.message_type == "Bundle/message"
    assert event.version == "R4"
    # The MessageHeader has no id, so the Bundle.id is the control id.
    assert event.control_id == "86e3371d-1c15-4862-9552-d9560f8292ba"
    assert event.sender == "http://fhir.nhs.uk/Id/dos-service-id|2222222222"
    assert event.event_time == datetime(2021, 11, 26, 15, 0, tzinfo=timezone.utc)
    assert event.attendance.visit_number == "sender1234"
    assert event.attendance.patient_class == "EMER"
    assert event.attendance.arrival_time == datetime(2021, 11, 26, 15, 0, tzinfo=timezone.utc)
    assert parsed.encounter_path == "Bundle.entry[3].resource"
    assert [o.code.code for o in event.attendance.observations if o.code] == ["271594007"]
    assert {"Flag", "Consent", "ServiceRequest", "CarePlan"} <= set(event.unmapped_segments)
    assert "Patient" not in event.unmapped_segments


def test_bars_request_nhs_number_failing_mod11_is_kept_invalid_and_never_matched() -> None:
    [parsed] = parse_bundle(load("bars_Bundle-message_validation_request_EMER.json"))
    patient_ = parsed.event.patient
    [nhs] = [i for i in patient_.identifiers if i.is_nhs_number]
    assert nhs.value == "3478526985"
    assert nhs.system == NHS_NUMBER_SYSTEM
    assert nhs.valid is False
    assert patient_.nhs_number is None
    assert patient_.family_name == "Jones"
    assert patient_.birth_date == date(1959, 5, 4)
    assert patient_.address is not None and patient_.address.postcode == "LS10 4YU"
    assert any("Modulus 11" in w for w in parsed.warnings)
    assert not any("3478526985" in w for w in parsed.warnings)


def test_bars_response_gives_one_event_per_emer_encounter() -> None:
    parsed = parse_bundle(load("bars_Bundle-message_validation_response_2xEMER.json"))
    assert [p.event.kind for p in parsed] == [EventKind.REGISTER, EventKind.DISCHARGE]
    assert [p.event.attendance.visit_number for p in parsed] == ["sender1234", "receiver1234"]
    # The MessageHeader.id, shared by both events.
    assert {p.event.control_id for p in parsed} == {"1cbdfb97-5859-48a4-8301-d54eab818d68"}
    assert len({p.encounter_path for p in parsed}) == 2
    # An Observation that names neither Encounter is not pinned on one of two visits.
    for p in parsed:
        assert p.event.attendance.observations == []
        assert "Observation" in p.event.unmapped_segments
        assert any("Observation not linked" in w for w in p.warnings)


def test_gcphdh_transaction_converted_from_v2_a04() -> None:
    [parsed] = parse_bundle(load("gcphdh_Bundle-transaction_from_ADT_A04_ED_EMER.json"))
    event = parsed.event
    assert event.kind == EventKind.REGISTER  # in-progress
    assert event.message_type == "Bundle/transaction"
    assert event.control_id == "03030303-0303-4303-8303-030303030303"  # the MessageHeader it carries
    assert event.sender == "MS4_AZ"  # source.endpoint is the placeholder "unknown"
    # The visit-number identifier has no value: the Encounter id stands in.
    assert event.attendance.visit_number == "13131313-1313-4313-9313-131313131313"
    assert event.attendance.arrival_time == datetime(2018, 3, 1, 1, 0, tzinfo=timezone(timedelta(hours=3)))
    assert event.patient.family_name == "BUNNY"
    assert event.patient.given_names == ["BUGS", "RABBIT"]
    assert event.patient.sex == "male"
    assert event.patient.address is not None and event.patient.address.lines == ["1234 LOONEY RD", "APT A"]
    assert [i.value for i in event.patient.identifiers] == ["19050114293307.1082", "111-11-1111"]
    assert event.patient.nhs_number is None
    assert {"Provenance", "Location", "Organization"} <= set(event.unmapped_segments)


def test_cumulus_amb_encounter_with_emer_class_history_is_an_attendance() -> None:
    [parsed] = parse_encounter(load("cumulusetl_Encounter_AMB_classHistory_EMER.json"))
    event = parsed.event
    assert event.kind == EventKind.DISCHARGE
    assert event.message_type == "Encounter"
    assert event.attendance.patient_class == "AMB"  # the current class, for the rules to see
    assert event.attendance.reason_code is not None
    assert event.attendance.reason_code.system == CodeSystem.SNOMED
    assert event.attendance.conveyed_to_hospital is None  # "home" is not our conveyance code
    assert event.sender == "HOLYOKE MEDICAL CENTER"  # serviceProvider.display
    assert event.control_id.startswith("sha256:")  # an id without a versionId is not a message id
    # The Patient is not in the message: only the subject's identifier is known.
    assert [(i.system, i.value) for i in event.patient.identifiers] == [("", "MRN323")]
    assert event.patient.family_name is None


def test_pds_patients_map_to_domain_patients() -> None:
    child, _ = map_patient(R4BPatient.model_validate(load_json("pds_Patient_9000000009.json")))
    assert child.nhs_number == "9000000009"
    assert child.birth_date is not None and child.birth_date.year == 2010
    assert child.address is not None and child.address.postcode == "LS1 6AE"
    restricted, _ = map_patient(R4BPatient.model_validate(load_json("pds_Patient_sensitive_restricted.json")))
    assert restricted.nhs_number == "9000000025"
    assert restricted.address is None


def test_pds_patient_in_a_bundle_links_by_nhs_number() -> None:
    pds = load_json("pds_Patient_9000000009.json")
    [parsed] = parse_bundle(body(bundle(pds, encounter())))
    assert parsed.event.patient.nhs_number == "9000000009"


def test_msfs_condition_with_only_code_text_becomes_a_note() -> None:
    condition = load_json("msfhirserver_Condition_example2_unicode_escapes.json")
    [parsed] = parse_bundle(body(simple_bundle(condition)))
    assert parsed.event.attendance.diagnoses == []
    assert [(n.source, n.text) for n in parsed.event.attendance.notes] == [("Condition.code.text", "Asthma")]


def test_cumulus_condition_without_code_maps_to_nothing() -> None:
    condition = load_json("cumulusetl_Condition_onsetString_no_code.json")
    [parsed] = parse_bundle(body(simple_bundle(condition)))
    assert parsed.event.attendance.diagnoses == []
    assert parsed.event.attendance.notes == []


# --- public samples: rejected -------------------------------------------------------------------

def test_msfs_invalid_json_is_rejected_with_line_and_column() -> None:
    exc = rejected(parse_bundle, load("msfhirserver_Bundle-transaction_INVALID_JSON.json"))
    assert "invalid JSON at line 39, column 26" in exc.reason
    assert exc.ack_code == "AR"
    assert exc.issue_code == "structure"


def test_msfs_bom_bundle_is_read_past_its_bom_and_rejected_for_having_no_encounter() -> None:
    raw = load("msfhirserver_Bundle-transaction_conditional_create_bom.json")
    assert raw.startswith(b"\xef\xbb\xbf")
    exc = rejected(parse_bundle, raw)
    assert exc.reason == ("Bundle holds no Encounter (it holds Patient, ImagingStudy): "
                          "an attendance must be an Encounter")


def test_bars_appointments_collection_is_rejected_as_holding_only_unsupported_types() -> None:
    exc = rejected(parse_bundle, load("bars_Bundle-collection_appointments_bad_datetime.json"))
    assert "no Encounter" in exc.reason
    assert "Appointment x2" in exc.reason
    assert exc.issue_code == "not-supported"


@pytest.mark.parametrize("name, resource_type", [
    ("cumulusetl_Condition_contained_odd_ids.json", "Condition"),
    ("cumulusetl_Condition_onsetString_no_code.json", "Condition"),
    ("cumulusetl_Observation_value_and_dataAbsentReason.json", "Observation"),
    ("msfhirserver_Condition_example2_unicode_escapes.json", "Condition"),
    ("pds_Patient_9000000009.json", "Patient"),
    ("pds_Patient_sensitive_restricted.json", "Patient"),
])
def test_lone_resources_other_than_encounter_are_rejected(name: str, resource_type: str) -> None:
    exc = rejected(parse_bundle, load(name))
    assert exc.reason == f"expected a FHIR Bundle, got '{resource_type}'"
    exc = rejected(parse_message, load(name))
    assert exc.reason == f"expected a FHIR Bundle or Encounter, got '{resource_type}'"


def test_cumulus_condition_with_invalid_contained_ids_is_rejected_with_its_path() -> None:
    condition = load_json("cumulusetl_Condition_contained_odd_ids.json")
    exc = rejected(parse_bundle, body(simple_bundle(condition)))
    assert exc.reason.startswith("Condition.contained[0].id: String should match pattern")
    assert "Condition.contained[0].identifier: should be a JSON array" in exc.reason
    assert exc.reason.endswith("(at Bundle.entry[2].resource)")
    assert exc.location == "Bundle.entry[2].resource.contained[0].id"


def test_cumulus_observation_with_a_list_where_one_reference_belongs_is_rejected() -> None:
    observation = load_json("cumulusetl_Observation_value_and_dataAbsentReason.json")
    exc = rejected(parse_bundle, body(simple_bundle(observation)))
    assert exc.reason == ("Observation.note[0].authorReference: should be a single Reference object, "
                          "not a list (at Bundle.entry[2].resource)")
    assert exc.ack_code == "AE"


# --- synthetic messages -------------------------------------------------------------------------

def test_ambulance_message_for_a_child_not_conveyed_after_an_assault() -> None:
    [parsed] = parse_bundle(load(AMBULANCE))
    event = parsed.event
    attendance = event.attendance
    assert parsed.warnings == ()
    assert event.kind == EventKind.DISCHARGE
    assert event.source_type_hint == SourceType.AMBULANCE  # from the MessageHeader's tag
    assert attendance.patient_class == "FLD"  # not EMER: an attendance because the source is an ambulance
    assert attendance.conveyed_to_hospital is False
    assert event.sender == "https://fhir.ambulance.example.nhs.uk/incidents"
    assert event.control_id == "6a1d9c4e-8f0b-4e0a-b7c3-2f5e9d1a0002"
    assert attendance.visit_number == "INC-20250601-0173"
    assert event.patient.nhs_number == "9990001014"
    assert event.patient.birth_date is not None and attendance.arrival_time is not None
    age = (attendance.arrival_time.date() - event.patient.birth_date).days // 365
    assert age == 15
    assert attendance.reason == "Assaulted by a group in the park"
    assert attendance.reason_code is not None and attendance.reason_code.code == "52684005"
    assert [(d.system, d.code) for d in attendance.diagnoses] == [(CodeSystem.SNOMED, "52684005")]
    assailants, feels_safe = attendance.observations
    assert assailants.code is not None and assailants.code.code == "ASSAILANT_COUNT"
    assert (assailants.value_type, assailants.value_number) == ("numeric", 3.0)
    assert feels_safe.value_type == "coded"
    assert feels_safe.value_code is not None and feels_safe.value_code.code == "373067005"
    notes = {(n.source, n.text) for n in attendance.notes}
    assert ("Observation.note", "says he is scared to go home") in notes
    assert ("Condition.note", "Punched and kicked to head and body. GCS 15 throughout.") in notes
    assert ("Encounter.reasonCode.text", "Assaulted by a group in the park") in notes
    assert event.unmapped_segments == ["Flag"]


def test_transaction_bundle_resolves_relative_references_and_ignores_refuted_conditions() -> None:
    [parsed] = parse_bundle(load(TRANSACTION))
    event = parsed.event
    attendance = event.attendance
    assert event.kind == EventKind.REGISTER
    assert event.message_type == "Bundle/transaction"
    assert event.control_id == "ed-txn-20250602-0042"
    assert event.sender == "https://ed.hospital.example.nhs.uk/fhir"  # Bundle.meta.source
    assert event.event_time == datetime(2025, 6, 2, 1, 15, tzinfo=timezone(timedelta(hours=1)))
    assert event.source_type_hint is None
    # Patient/pat-1042 resolved against the Encounter's fullUrl.
    assert event.patient.nhs_number == "9990001022"  # written "999 000 1022"
    assert event.patient.family_name == "SYNTHETIC"  # the official name, not the old one
    assert event.patient.address is not None and event.patient.address.postcode == "EX99 1ZZ"
    # The refuted Condition is dropped.
    assert [(d.system, d.code) for d in attendance.diagnoses] == [(CodeSystem.ICD10, "X99")]
    [weapon] = attendance.observations
    assert (weapon.value_type, weapon.value_text) == ("text", "kitchen knife")
    assert ("Observation WEAPON", "kitchen knife") in {(n.source, n.text) for n in attendance.notes}
    assert attendance.reason == "Stab wound to left forearm"
    assert attendance.reason_code is None


def test_collection_bundle_falls_back_to_default_sender_and_versioned_encounter_id() -> None:
    [parsed] = parse_bundle(load(COLLECTION), default_sender="ed2-feed")
    event = parsed.event
    attendance = event.attendance
    assert event.kind == EventKind.DISCHARGE
    assert event.message_type == "Bundle/collection"
    assert event.sender == "ed2-feed"
    assert event.control_id == "Encounter/enc-5531/_history/3"
    assert attendance.discharge_time == datetime(2025, 6, 3, 16, 10, tzinfo=timezone(timedelta(hours=1)))
    # The Condition names no Encounter but the message has only one: it belongs to it.
    assert [(d.system, d.code) for d in attendance.diagnoses] == [
        (CodeSystem.ICD10, "S02.2"), (CodeSystem.SNOMED, "263171005")]
    pain, weapon_used, where = attendance.observations
    assert pain.code is not None and (pain.code.system, pain.code.code) == (CodeSystem.LOCAL, "Pain score")
    assert (pain.value_number, pain.units) == (7.0, "score")
    assert (weapon_used.value_type, weapon_used.value_text) == ("boolean", "false")
    assert where.value_text == "outside school gates"
    assert ("Observation LOCATION", "outside school gates") in {(n.source, n.text) for n in attendance.notes}
    assert parse_bundle(load(COLLECTION))[0].event.sender == "unknown"


def test_lone_encounter_with_contained_patient() -> None:
    [parsed] = parse_encounter(load(LONE_ENCOUNTER))
    event = parsed.event
    assert event.kind == EventKind.REGISTER
    assert parsed.encounter_path == "Encounter"
    assert event.sender == "RXX01"  # serviceProvider.identifier.value
    assert event.control_id == "Encounter/enc-9012/_history/1"
    assert event.source_type_hint == SourceType.HOSPITAL_ED
    assert event.event_time == datetime(2025, 6, 4, 19, 2, tzinfo=timezone(timedelta(hours=1)))
    assert event.patient.nhs_number == "9990001030"
    assert event.patient.address is not None and event.patient.address.city == "Farawayton"
    assert [d.code for d in event.attendance.diagnoses] == ["82271004"]  # the contained Condition
    assert event.unmapped_segments == []
    [same] = parse_message(load(LONE_ENCOUNTER))
    assert same.event == event


def test_parse_bundle_and_parse_encounter_refuse_each_others_input() -> None:
    assert rejected(parse_bundle, load(LONE_ENCOUNTER)).reason == "expected a FHIR Bundle, got 'Encounter'"
    assert rejected(parse_encounter, load(AMBULANCE)).reason == "expected a FHIR Encounter, got 'Bundle'"


def test_utf8_bom_is_tolerated() -> None:
    raw = load(TRANSACTION)
    assert not raw.startswith(b"\xef\xbb\xbf")
    with_bom = parse_bundle(b"\xef\xbb\xbf" + raw)
    assert [p.event.model_dump() for p in with_bom] == [p.event.model_dump() for p in parse_bundle(raw)]


@pytest.mark.parametrize("status, kind", [
    ("planned", EventKind.REGISTER), ("arrived", EventKind.REGISTER), ("triaged", EventKind.REGISTER),
    ("in-progress", EventKind.REGISTER), ("onleave", EventKind.REGISTER), ("finished", EventKind.DISCHARGE),
    ("cancelled", EventKind.CANCEL), ("entered-in-error", EventKind.CANCEL), ("unknown", EventKind.UPDATE),
])
def test_encounter_status_decides_the_event_kind(status: str, kind: EventKind) -> None:
    [parsed] = parse_encounter(body(encounter(status=status)))
    assert parsed.event.kind == kind


def test_ambulance_tag_on_the_encounter_or_bundle_makes_any_class_an_attendance() -> None:
    tagged = encounter(**{"class": {"code": "AMB"}, "meta": {"tag": [SOURCE_TAG]}})
    assert parse_encounter(body(tagged))[0].event.source_type_hint == SourceType.AMBULANCE
    [parsed] = parse_bundle(body(simple_bundle(enc=encounter(**{"class": {"code": "FLD"}}),
                                               meta={"tag": [SOURCE_TAG]})))
    assert parsed.event.source_type_hint == SourceType.AMBULANCE


def test_conveyed_code_maps_to_true() -> None:
    conveyed = encounter(hospitalization={"dischargeDisposition": {"coding": [
        {"system": "https://ed-alerts.example/conveyance", "code": "conveyed"}]}})
    assert parse_encounter(body(conveyed))[0].event.attendance.conveyed_to_hospital is True


def test_non_attendance_encounters_are_skipped_beside_an_attendance() -> None:
    inpatient = encounter(id="enc-2", **{"class": {"code": "IMP"}})
    parsed = parse_bundle(body(simple_bundle(inpatient)))
    assert [p.event.attendance.visit_number for p in parsed] == ["enc-1"]
    assert any("class IMP is not an ED or ambulance attendance" in w for w in parsed[0].warnings)


def test_invalid_nhs_number_inline_is_kept_but_not_used() -> None:
    bad = patient(identifier=[{"system": NHS_NUMBER_SYSTEM, "value": "9990001015"}])
    [parsed] = parse_bundle(body(bundle(bad, encounter())))
    [identifier] = parsed.event.patient.identifiers
    assert (identifier.value, identifier.is_nhs_number, identifier.valid) == ("9990001015", True, False)
    assert parsed.event.patient.nhs_number is None


def test_subject_missing_uses_the_only_patient_and_an_unresolvable_one_keeps_the_visit() -> None:
    no_subject = encounter()
    del no_subject["subject"]
    [parsed] = parse_bundle(body(bundle(patient(), no_subject)))
    assert parsed.event.patient.nhs_number == "9990001057"
    dangling = encounter(subject={"reference": "Patient/elsewhere"})
    [parsed_lone] = parse_encounter(body(dangling))
    assert parsed_lone.event.patient.identifiers == []
    assert any("not in the message" in w for w in parsed_lone.warnings)


def test_message_bundle_without_leading_message_header_is_accepted_with_a_warning() -> None:
    [parsed] = parse_bundle(body(simple_bundle(bundle_type="message")))
    assert parsed.warnings[0] == "message Bundle does not start with a MessageHeader"


def test_date_only_period_start_is_left_empty_with_a_warning() -> None:
    [parsed] = parse_encounter(body(encounter(period={"start": "2025-06-01"})))
    assert parsed.event.attendance.arrival_time is None
    assert "Encounter.period.start has no time of day: left empty" in parsed.warnings


# --- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "body is not UTF-8 text (invalid byte at offset 0)"),
    (b"", "empty body"),
    (b" \r\n\t", "empty body"),
    (b"\xef\xbb\xbf", "empty body"),
    ("{}".encode("utf-16"), "body is UTF-16"),
    (b"[]", "expected a JSON object (a FHIR resource), got a JSON array"),
    (b'[{"resourceType": "Bundle"}]', "got a JSON array"),
    (b'"Bundle"', "got a JSON string"),
    (b"42", "got a JSON number"),
    (b"null", "got a JSON null"),
    (b'{"resourceType": "Bundle", "type": "collection", "total": NaN}', "NaN is not a JSON number"),
    (b"[" * 100_000, "nested too deeply"),
    (b'{"resourceType": "Bundle",\n "type": "collection",\n "entry": [}',
     "invalid JSON at line 3, column 12"),
    (b'{"type": "collection"}', "JSON object has no resourceType: expected a FHIR R4 Bundle"),
])
def test_unreadable_bodies_are_rejected(raw: bytes, expected: str) -> None:
    exc = rejected(parse_bundle, raw)
    assert expected in exc.reason
    assert exc.ack_code == "AR"


@pytest.mark.parametrize("bundle_type", ["searchset", "history", "batch", "document", "transaction-response"])
def test_unsupported_bundle_types_are_rejected(bundle_type: str) -> None:
    exc = rejected(parse_bundle, body(simple_bundle(bundle_type=bundle_type)))
    assert exc.reason.startswith(f"Bundle.type '{bundle_type}' is not accepted")
    assert exc.issue_code == "not-supported"
    assert exc.location == "Bundle.type"


@pytest.mark.parametrize("mutate, expected, location", [
    (lambda b: b.pop("type"), "Bundle.type: is required", "Bundle.type"),
    (lambda b: b.update(type="bogus"), "Bundle.type: 'bogus' is not a FHIR Bundle type", "Bundle.type"),
    (lambda b: b.update(entry={"resource": {}}), "Bundle.entry: should be a JSON array", "Bundle.entry"),
    (lambda b: b.update(timestamp="yesterday"), "Bundle.timestamp: is not a valid FHIR instant",
     "Bundle.timestamp"),
    (lambda b: b["entry"][0].update(resource="Patient"), "Bundle.entry[0].resource: should be a JSON object",
     "Bundle.entry[0].resource"),
    (lambda b: b["entry"][0]["resource"].update(resourceType="Nope"),
     "Bundle.entry[0].resource.resourceType: 'Nope' is not a FHIR resource type",
     "Bundle.entry[0].resource.resourceType"),
    (lambda b: b["entry"][1]["resource"].update(contained=[{"resourceType": "Nope", "id": "x"}]),
     "Bundle.entry[1].resource.contained[0].resourceType: 'Nope' is not a FHIR resource type",
     "Bundle.entry[1].resource.contained[0].resourceType"),
])
def test_malformed_bundles_are_rejected_with_the_element_at_fault(mutate: Any, expected: str,
                                                                  location: str) -> None:
    data = simple_bundle()
    mutate(data)
    exc = rejected(parse_bundle, body(data))
    assert exc.reason.startswith(expected)
    assert exc.location == location


@pytest.mark.parametrize("overrides, expected, location", [
    ({"status": "bogus"}, "Encounter.status: 'bogus' is not an Encounter status",
     "Bundle.entry[1].resource.status"),
    ({"status": None}, "Encounter.status: is required", "Bundle.entry[1].resource.status"),
    ({"class": None}, "Encounter.class: is required", "Bundle.entry[1].resource.class"),
    ({"period": {"start": "2025-06-01T14:05:00"}},
     "Encounter.period.start: is not a valid FHIR dateTime (with a time it needs seconds and a timezone",
     "Bundle.entry[1].resource.period.start"),
    ({"identifier": {"value": "x"}}, "Encounter.identifier: should be a JSON array",
     "Bundle.entry[1].resource.identifier"),
    ({"colour": "red"}, "Encounter.colour: is not an element of Encounter in FHIR R4",
     "Bundle.entry[1].resource.colour"),
])
def test_invalid_encounters_are_rejected_with_readable_paths(overrides: dict[str, Any], expected: str,
                                                            location: str) -> None:
    enc = encounter(**overrides)
    for key in [k for k, v in overrides.items() if v is None]:
        del enc[key]
    exc = rejected(parse_bundle, body(simple_bundle(enc=enc)))
    assert exc.reason.startswith(expected)
    assert exc.reason.endswith("(at Bundle.entry[1].resource)")
    assert exc.location == location
    assert exc.ack_code == "AE"


def test_lone_encounter_with_bad_status_names_the_element_without_an_entry() -> None:
    exc = rejected(parse_encounter, body(encounter(status="bogus")))
    assert exc.reason.startswith("Encounter.status: 'bogus' is not an Encounter status (planned, arrived")
    assert exc.location == "Encounter.status"


def test_rejections_do_not_quote_patient_details() -> None:
    bad = patient(birthDate="2010-13-45", identifier=[{"system": NHS_NUMBER_SYSTEM, "value": "9990001057"}])
    exc = rejected(parse_bundle, body(bundle(bad, encounter())))
    assert exc.reason.startswith("Patient.birthDate: is not a valid FHIR date")
    for secret in ("9990001057", "2010-13-45", "SYNTHETIC"):
        assert secret not in exc.reason


@pytest.mark.parametrize("data, expected", [
    (bundle(), "Bundle holds no resources"),
    (bundle(patient()), "Bundle holds no Encounter (it holds Patient)"),
    (bundle(patient(), encounter(**{"class": {"code": "IMP"}})),
     "no ED or ambulance attendance: Encounter class IMP"),
])
def test_bundles_without_an_attendance_are_rejected(data: dict[str, Any], expected: str) -> None:
    assert rejected(parse_bundle, body(data)).reason.startswith(expected)


def test_lone_encounter_that_is_not_an_attendance_is_rejected() -> None:
    exc = rejected(parse_encounter, body(encounter(**{"class": {"code": "AMB"}})))
    assert "no ED or ambulance attendance: Encounter class AMB" in exc.reason


# --- dedupe key ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "bars_Bundle-message_validation_request_EMER.json",
    "bars_Bundle-message_validation_response_2xEMER.json",
    "gcphdh_Bundle-transaction_from_ADT_A04_ED_EMER.json",
    "cumulusetl_Encounter_AMB_classHistory_EMER.json",
    AMBULANCE, TRANSACTION, COLLECTION, LONE_ENCOUNTER,
])
def test_dedupe_key_matches_the_parsed_events(name: str) -> None:
    raw = load(name)
    key = bundle_dedupe_key(raw, default_sender="feed-a")
    parsed = parse_message(raw, default_sender="feed-a")
    assert {(p.event.sender, p.event.control_id) for p in parsed} == {key}


@pytest.mark.parametrize("raw", [
    b"", b"\x00\xff\xfe binary", b"[1, 2]", b"{not json",
    load("msfhirserver_Bundle-transaction_INVALID_JSON.json"),
])
def test_dedupe_key_never_raises_and_hashes_unreadable_bodies(raw: bytes) -> None:
    sender, control_id = bundle_dedupe_key(raw, default_sender="feed-a")
    assert sender == "feed-a"
    assert control_id.startswith("sha256:") and len(control_id) == len("sha256:") + 64
    assert bundle_dedupe_key(raw) == ("unknown", control_id)


def test_dedupe_key_tells_apart_two_versions_of_an_encounter_without_version_ids() -> None:
    arrived = bundle_dedupe_key(body(encounter(status="arrived")))
    finished = bundle_dedupe_key(body(encounter(status="finished")))
    assert arrived != finished
    assert bundle_dedupe_key(body(encounter(status="arrived"))) == arrived


def test_dedupe_key_prefers_message_header_then_bundle_id() -> None:
    header = {"resourceType": "MessageHeader", "id": "mh-1", "eventCoding": {"code": "x"},
              "source": {"endpoint": "urn:unknown", "name": "Site A"}}
    assert bundle_dedupe_key(body(bundle(header, encounter(), id="b-1"))) == ("Site A", "mh-1")
    with_source = bundle(encounter(), id="b-1", meta={"source": "https://a"})
    assert bundle_dedupe_key(body(with_source)) == ("https://a", "b-1")


# --- OperationOutcome ---------------------------------------------------------------------------

def test_operation_outcome_is_a_valid_r4_operation_outcome() -> None:
    outcome = operation_outcome("Encounter.status: is required", code="required",
                                expression=["Bundle.entry[1].resource.status"])
    model = OperationOutcome.model_validate(outcome)
    [issue] = model.issue
    assert (issue.severity, issue.code) == ("error", "required")
    assert issue.diagnostics == "Encounter.status: is required"
    assert issue.expression == ["Bundle.entry[1].resource.status"]
    plain = OperationOutcome.model_validate(operation_outcome("bad", severity="warning"))
    [plain_issue] = plain.issue
    assert (plain_issue.code, plain_issue.severity, plain_issue.expression) == ("invalid", "warning", None)


@pytest.mark.parametrize("kwargs", [{"severity": "severe"}, {"code": "nonsense"}])
def test_operation_outcome_refuses_codes_outside_r4(kwargs: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        operation_outcome("x", **kwargs)


def test_outcome_for_rejection_carries_issue_type_and_location() -> None:
    exc = rejected(parse_bundle, body(simple_bundle(bundle_type="searchset")))
    outcome = outcome_for_rejection(exc)
    assert outcome["issue"][0]["code"] == "not-supported"
    assert outcome["issue"][0]["expression"] == ["Bundle.type"]
    too_large = OperationOutcome.model_validate(outcome_for_rejection(MessageTooLarge(10, 5)))
    assert too_large.issue[0].code == "too-long"
    generic = OperationOutcome.model_validate(outcome_for_rejection(MessageRejected("nope")))
    assert generic.issue[0].code == "invalid"
