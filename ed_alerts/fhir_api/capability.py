"""The CapabilityStatement: exactly what this server does, so a client never has to guess.

Kept beside the search parser it describes: a parameter added there must be added here too (a test
compares the two).
"""

from __future__ import annotations

from typing import Any

from ed_alerts.fhir_api import codes
from ed_alerts.fhir_api.search import DEFAULT_COUNT, MAX_COUNT

# The date this statement last changed (CapabilityStatement.date is required).
STATEMENT_DATE = "2026-11-26"

_FLAG_SEARCH_PARAMS: list[dict[str, str]] = [
    {"name": "patient", "type": "reference",
     "definition": "http://hl7.org/fhir/SearchParameter/clinical-patient",
     "documentation": "Patient/<id> or <id> (our patient id; a merged-away id finds its survivor's "
                      "flags), or patient:identifier=https://fhir.nhs.uk/Id/nhs-number|<NHS number>"},
    {"name": "encounter", "type": "reference",
     "definition": "http://hl7.org/fhir/SearchParameter/clinical-encounter",
     "documentation": "Encounter/<attendance id>"},
    {"name": "date", "type": "date",
     "definition": "http://hl7.org/fhir/SearchParameter/clinical-date",
     "documentation": "compared with Flag.period.start (when the flag was raised); prefixes eq, ne, gt, "
                      "lt, ge, le; repeat the parameter for a range; values without a zone are UTC"},
    {"name": "status", "type": "token", "definition": codes.SEARCH_PARAM_STATUS,
     "documentation": "Flag.status: active or inactive (a flag whose attendance was cancelled). Not an "
                      "R4 base parameter; the same as R5's Flag-status"},
    {"name": "category", "type": "token", "definition": codes.SEARCH_PARAM_CATEGORY,
     "documentation": f"Flag.category: {codes.HL7_FLAG_CATEGORY_SYSTEM}|{codes.HL7_SAFETY_CODE} or "
                      f"{codes.SAFEGUARDING_CATEGORY_SYSTEM}|{codes.SAFEGUARDING_CODE} (every flag has "
                      "both). Not an R4 base parameter; the same as R5's Flag-category"},
    {"name": "_id", "type": "token", "definition": "http://hl7.org/fhir/SearchParameter/Resource-id"},
    {"name": "_count", "type": "number",
     "documentation": f"page size: default {DEFAULT_COUNT}, at most {MAX_COUNT}; 0 answers the total only"},
    {"name": "_offset", "type": "number",
     "documentation": "how many matches to skip; Bundle.link next and previous carry it"},
]


def capability_statement(fhir_base: str, software_version: str) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": STATEMENT_DATE,
        "publisher": "ed-alerts",
        "kind": "instance",
        "software": {"name": "ed-alerts", "version": software_version},
        "implementation": {"description": "ed-alerts: safeguarding flags for children in emergency care",
                           "url": fhir_base},
        "fhirVersion": codes.FHIR_VERSION,
        "format": [codes.FHIR_MEDIA_TYPE, "json"],
        "rest": [{
            "mode": "server",
            "documentation": (
                "Read and search safeguarding flags; ingest ED and ambulance attendances. JSON only. "
                "Unsupported search parameters are refused with an OperationOutcome (400) unless the "
                "request says Prefer: handling=lenient. Patient and Encounter references in a Flag name "
                "our patient and attendance ids; those resources are not served here."),
            "resource": [
                {
                    "type": "Flag",
                    "documentation": (
                        "A flag raised by a safeguarding rule. code: the rule "
                        f"({codes.RULE_SYSTEM}), code.text: the reason; extensions: "
                        f"{codes.EXT_RULE_VERSION}, {codes.EXT_SEVERITY}, {codes.EXT_UNCERTAIN}. "
                        "Search also by POST to Flag/_search (form-encoded), which keeps NHS numbers "
                        "out of URLs."),
                    "interaction": [{"code": "read"}, {"code": "search-type"}],
                    "versioning": "no-version",
                    "readHistory": False,
                    "updateCreate": False,
                    "searchParam": _FLAG_SEARCH_PARAMS,
                },
                {
                    "type": "Encounter",
                    "documentation": (
                        "POST Encounter with one Encounter (class EMER) is ingested as an attendance "
                        "message, answered with an OperationOutcome (200 accepted, 422 rejected); the "
                        "Encounter is not stored as a resource and cannot be read back."),
                    "interaction": [{"code": "create"}],
                },
            ],
            "interaction": [{
                "code": "transaction",
                "documentation": (
                    "POST to the base with a Bundle of type transaction, message or collection: ingested "
                    "as one attendance message, all or nothing, deduplicated by sender and Bundle or "
                    "MessageHeader id; answered with an OperationOutcome, not a transaction-response "
                    "Bundle."),
            }],
        }],
    }
