"""Build the FHIR R4 transaction Bundle that carries one referral to a local authority.

Deterministic: the same payload gives the same Bundle, byte for byte, so a retry is a true
replay. Every resource a receiver may already hold is created conditionally (`ifNoneExist`
on our identifier), so even a FHIR server that ignores the Idempotency-Key header creates the
referral once. README.md in this folder maps each payload field to its place here.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from ed_alerts.domain import SourceType

from .codes import (
    CONCERN_CODE,
    IDEMPOTENCY_KEY_SYSTEM,
    LOCAL_AUTHORITY_SYSTEM,
    NHS_NUMBER_SYSTEM,
    OUR_REFERRAL_TYPE,
    OUR_SYSTEM_BASE,
    REFERRAL_CODE,
    REFERRAL_FORM,
    REFERRAL_FORM_VERSION,
    REFERRAL_ID_SYSTEM,
    RULE_SYSTEM,
    SITE_SYSTEM,
    SOURCE_TYPE_SYSTEM,
    TASK_CODE_SYSTEM,
    V3_ACT_CODE_SYSTEM,
)
from .payload import FlagSummary, ReferralPayload

FLAG_ID_SYSTEM = OUR_SYSTEM_BASE + "Id/referral-flag"

# An ambulance incident is a field encounter and a sexual health visit ambulatory; both are still
# attendances to the inbound adapter (which reads the source-type tag), and to the authority.
ENCOUNTER_CLASS: dict[SourceType, tuple[str, str]] = {
    SourceType.HOSPITAL_ED: ("EMER", "emergency"),
    SourceType.MINOR_INJURY_UNIT: ("EMER", "emergency"),
    SourceType.AMBULANCE: ("FLD", "field"),
    SourceType.SEXUAL_HEALTH: ("AMB", "ambulatory"),
}

# linkId -> question text of the referral form (the QuestionnaireResponse), in form order.
FORM_ITEMS: dict[str, str] = {
    "what-happened": "What happened",
    "child-words": "The child's own words",
    "risk-factors": "Risk factors",
    "injuries": "Injuries",
    "others-involved": "Others involved or at risk",
    "parents-aware": "Do the parents or carers know about this referral?",
    "parents-not-aware-reason": "Why the parents or carers have not been told",
    "decision-rationale": "Rationale for the referral decision",
}


def visit_number_system(site_code: str) -> str:
    return f"{OUR_SYSTEM_BASE}Id/visit-number/{site_code}"


def build_bundle(payload: ReferralPayload) -> dict[str, Any]:
    urls = _FullUrls(payload.referral_id)
    resources = [
        ("Task", _task(payload, urls), _if_none_exist(REFERRAL_ID_SYSTEM, payload.referral_id)),
        ("ServiceRequest", _service_request(payload, urls), _if_none_exist(REFERRAL_ID_SYSTEM, payload.referral_id)),
        ("QuestionnaireResponse", _form(payload, urls), _if_none_exist(REFERRAL_ID_SYSTEM, payload.referral_id)),
        ("Patient", _patient(payload), _if_none_exist(NHS_NUMBER_SYSTEM, payload.child.nhs_number)),
        ("Encounter", _encounter(payload, urls),
         _if_none_exist(visit_number_system(payload.attendance.site_code), payload.attendance.visit_number)),
        ("Practitioner", _practitioner(payload), None),
        ("PractitionerRole", _practitioner_role(payload, urls), None),
        ("Organization/site", _site(payload), _if_none_exist(SITE_SYSTEM, payload.attendance.site_code)),
        ("Organization/la", _local_authority(payload),
         _if_none_exist(LOCAL_AUTHORITY_SYSTEM, payload.local_authority_code)),
    ]
    for index, flag in enumerate(payload.flags):
        resources.append((f"Flag/{index}", _flag(payload, flag, urls),
                          _if_none_exist(FLAG_ID_SYSTEM, _flag_id(payload, flag))))
    entries = []
    for name, resource, condition in resources:
        request: dict[str, Any] = {"method": "POST", "url": resource["resourceType"]}
        if condition:
            request["ifNoneExist"] = condition
        entries.append({"fullUrl": urls[name], "resource": resource, "request": request})
    return {
        "resourceType": "Bundle",
        "identifier": {"system": IDEMPOTENCY_KEY_SYSTEM, "value": payload.idempotency_key},
        "type": "transaction",
        "timestamp": payload.authored_at.isoformat(),
        "entry": entries,
    }


class _FullUrls:
    """urn:uuid fullUrls derived from the referral id, so they are stable across retries."""

    def __init__(self, referral_id: str) -> None:
        self._prefix = f"{OUR_SYSTEM_BASE}referral/{referral_id}/"

    def __getitem__(self, name: str) -> str:
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, self._prefix + name)}"

    def ref(self, name: str) -> dict[str, str]:
        return {"reference": self[name]}


def _if_none_exist(system: str, value: str | None) -> str | None:
    return f"identifier={system}|{quote(value, safe='-._~:')}" if value else None


def _coding(code: tuple[str, str, str]) -> dict[str, str]:
    system, value, display = code
    return {"system": system, "code": value, "display": display}


def _referral_identifier(payload: ReferralPayload) -> dict[str, str]:
    return {"system": REFERRAL_ID_SYSTEM, "value": payload.referral_id}


def _task(payload: ReferralPayload, urls: _FullUrls) -> dict[str, Any]:
    # The authority's to-do item: "fulfil this referral". It answers with its own copy of the Task.
    return {
        "resourceType": "Task",
        "identifier": [_referral_identifier(payload)],
        "status": "requested",
        "intent": "order",
        "code": {"coding": [{"system": TASK_CODE_SYSTEM, "code": "fulfill"}]},
        "focus": urls.ref("ServiceRequest"),
        "for": urls.ref("Patient"),
        "encounter": urls.ref("Encounter"),
        "authoredOn": payload.authored_at.isoformat(),
        "requester": urls.ref("PractitionerRole"),
        "owner": urls.ref("Organization/la"),
    }


def _service_request(payload: ReferralPayload, urls: _FullUrls) -> dict[str, Any]:
    reasons: list[dict[str, Any]] = [{"coding": [_coding(CONCERN_CODE)]}]
    reasons += [{"text": factor} for factor in payload.risk_factors]
    supporting = [urls.ref("QuestionnaireResponse")]
    supporting += [urls.ref(f"Flag/{index}") for index in range(len(payload.flags))]
    return {
        "resourceType": "ServiceRequest",
        "identifier": [_referral_identifier(payload)],
        "status": "active",
        "intent": "order",
        "category": [{"coding": [_coding(OUR_REFERRAL_TYPE)]}],
        "code": {"coding": [_coding(REFERRAL_CODE)]},
        "subject": urls.ref("Patient"),
        "encounter": urls.ref("Encounter"),
        "authoredOn": payload.authored_at.isoformat(),
        "requester": urls.ref("PractitionerRole"),
        "performer": [urls.ref("Organization/la")],
        "reasonCode": reasons,
        "supportingInfo": supporting,
    }


def _form(payload: ReferralPayload, urls: _FullUrls) -> dict[str, Any]:
    answers: dict[str, list[dict[str, Any]]] = {
        "what-happened": [{"valueString": payload.what_happened}],
        "child-words": [{"valueString": payload.child_words}],
        "risk-factors": [{"valueString": factor} for factor in payload.risk_factors],
        "injuries": [{"valueString": payload.injuries}],
        "others-involved": [{"valueString": payload.others_involved}],
        "parents-aware": [{"valueBoolean": payload.parents_aware}],
        "decision-rationale": [{"valueString": payload.decision_rationale}],
    }
    if payload.parents_not_aware_reason and payload.parents_not_aware_reason.strip():
        answers["parents-not-aware-reason"] = [{"valueString": payload.parents_not_aware_reason.strip()}]
    items = [{"linkId": link, "text": text, "answer": answers[link]} for link, text in FORM_ITEMS.items()
             if link in answers]
    return {
        "resourceType": "QuestionnaireResponse",
        "identifier": _referral_identifier(payload),
        "questionnaire": f"{REFERRAL_FORM}|{REFERRAL_FORM_VERSION}",
        "basedOn": [urls.ref("ServiceRequest")],
        "status": "completed",
        "subject": urls.ref("Patient"),
        "encounter": urls.ref("Encounter"),
        "authored": payload.authored_at.isoformat(),
        "author": urls.ref("PractitionerRole"),
        "item": items,
    }


def _patient(payload: ReferralPayload) -> dict[str, Any]:
    child = payload.child
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "name": [{"use": "official", "family": child.family_name, "given": list(child.given_names)}],
        "gender": child.sex,
    }
    if child.nhs_number:
        patient["identifier"] = [{"system": NHS_NUMBER_SYSTEM, "value": child.nhs_number}]
    if child.birth_date:
        patient["birthDate"] = child.birth_date.isoformat()
    if child.address:
        address = {"use": "home", "line": list(child.address.lines), "city": child.address.city,
                   "postalCode": child.address.postcode, "country": child.address.country}
        patient["address"] = [{k: v for k, v in address.items() if v}]
    return patient


def _encounter(payload: ReferralPayload, urls: _FullUrls) -> dict[str, Any]:
    attendance = payload.attendance
    code, display = ENCOUNTER_CLASS[attendance.source_type]
    encounter: dict[str, Any] = {
        "resourceType": "Encounter",
        # Same tag the inbound FHIR adapter reads, so our own Bundles round-trip.
        "meta": {"tag": [{"system": SOURCE_TYPE_SYSTEM, "code": attendance.source_type.value}]},
        "status": "unknown",  # the referral may leave before or after discharge; the LA needs neither
        "class": {"system": V3_ACT_CODE_SYSTEM, "code": code, "display": display},
        "subject": urls.ref("Patient"),
        "serviceProvider": urls.ref("Organization/site"),
    }
    if attendance.visit_number:
        encounter["identifier"] = [{"system": visit_number_system(attendance.site_code),
                                    "value": attendance.visit_number}]
    if attendance.arrival_time:
        encounter["period"] = {"start": attendance.arrival_time.isoformat()}
    return encounter


def _practitioner(payload: ReferralPayload) -> dict[str, Any]:
    return {"resourceType": "Practitioner", "name": [{"text": payload.referrer.name}]}


def _practitioner_role(payload: ReferralPayload, urls: _FullUrls) -> dict[str, Any]:
    contact = payload.referrer.contact
    return {
        "resourceType": "PractitionerRole",
        "practitioner": urls.ref("Practitioner"),
        "organization": urls.ref("Organization/site"),
        "code": [{"text": payload.referrer.role}],
        "telecom": [{"system": "email" if "@" in contact else "phone", "value": contact, "use": "work"}],
    }


def _site(payload: ReferralPayload) -> dict[str, Any]:
    attendance = payload.attendance
    site: dict[str, Any] = {
        "resourceType": "Organization",
        "identifier": [{"system": SITE_SYSTEM, "value": attendance.site_code}],
        "name": attendance.site_name or attendance.site_code,
    }
    if payload.referrer.organisation:
        site["partOf"] = {"display": payload.referrer.organisation}
    return site


def _local_authority(payload: ReferralPayload) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "identifier": [{"system": LOCAL_AUTHORITY_SYSTEM, "value": payload.local_authority_code}],
        "type": [{"text": "Local authority children's social care"}],
    }


def _flag_id(payload: ReferralPayload, flag: FlagSummary) -> str:
    return f"{payload.referral_id}:{flag.rule_id}@{flag.rule_version}"


def _flag(payload: ReferralPayload, flag: FlagSummary, urls: _FullUrls) -> dict[str, Any]:
    coding = {"system": RULE_SYSTEM, "code": flag.rule_id, "version": flag.rule_version}
    if flag.title:
        coding["display"] = flag.title
    return {
        "resourceType": "Flag",
        "identifier": [{"system": FLAG_ID_SYSTEM, "value": _flag_id(payload, flag)}],
        "status": "active",
        "code": {"coding": [coding], "text": flag.reason},
        "subject": urls.ref("Patient"),
        "encounter": urls.ref("Encounter"),
    }
