"""Code systems and the ed-alerts FHIR conventions: what a FHIR code means in the canonical domain."""

from __future__ import annotations

from typing import Any

from ed_alerts.domain import CodeSystem, Coding, EventKind, SourceType

# Our own conventions, documented in README.md next to this file. A sender marks its source type with a
# meta.tag and a non-conveyed ambulance patient with a dischargeDisposition code.
SOURCE_TYPE_SYSTEM = "https://ed-alerts.example/source-type"
CONVEYANCE_SYSTEM = "https://ed-alerts.example/conveyance"
CONVEYANCE_CODES = {"conveyed": True, "not-conveyed": False}

NHS_NUMBER_SYSTEMS = frozenset({
    "https://fhir.nhs.uk/Id/nhs-number",
    "http://fhir.nhs.net/Id/nhs-number",  # the DSTU2-era system some feeds still send
})

SNOMED_SYSTEMS = frozenset({"http://snomed.info/sct"})
ICD10_SYSTEMS = frozenset({
    "http://hl7.org/fhir/sid/icd-10",
    "http://hl7.org/fhir/sid/icd-10-uk",  # the NHS edition
})

# v3-ActCode EMER is the FHIR ED class; v2 table 0004 "E" turns up in Encounters converted from HL7 v2.
EMERGENCY_CLASS_CODES = frozenset({"EMER"})
V2_PATIENT_CLASS_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0004"

ENCOUNTER_STATUS_KIND: dict[str, EventKind] = {
    "planned": EventKind.REGISTER,
    "arrived": EventKind.REGISTER,
    "triaged": EventKind.REGISTER,
    "in-progress": EventKind.REGISTER,
    "onleave": EventKind.REGISTER,
    "finished": EventKind.DISCHARGE,
    "cancelled": EventKind.CANCEL,
    "entered-in-error": EventKind.CANCEL,
    # "unknown" says nothing about where the visit is: an update, never a discharge
    "unknown": EventKind.UPDATE,
}

SUPPORTED_BUNDLE_TYPES = ("message", "transaction", "collection")
ALL_BUNDLE_TYPES = frozenset({
    "document", "message", "transaction", "transaction-response", "batch", "batch-response",
    "history", "searchset", "collection",
})

# A refuted or mistaken Condition or Observation must not raise a flag.
IGNORED_CONDITION_VERIFICATION = frozenset({"refuted", "entered-in-error"})
IGNORED_OBSERVATION_STATUS = frozenset({"cancelled", "entered-in-error"})


def domain_code_system(system: str | None) -> CodeSystem:
    if system in SNOMED_SYSTEMS:
        return CodeSystem.SNOMED
    if system in ICD10_SYSTEMS:
        return CodeSystem.ICD10
    return CodeSystem.LOCAL


def to_coding(coding: Any) -> Coding | None:
    """A FHIR Coding as a domain Coding, or None when it carries no code."""
    code = (getattr(coding, "code", None) or "").strip()
    if not code:
        return None
    return Coding(system=domain_code_system(coding.system), code=code, display=coding.display or None)


def all_codings(concept: Any) -> list[Coding]:
    if concept is None:
        return []
    return [c for c in (to_coding(x) for x in (concept.coding or [])) if c is not None]


def best_coding(concept: Any) -> Coding | None:
    """The most useful coding of a CodeableConcept: a national code system before a local one."""
    codings = all_codings(concept)
    for wanted in (CodeSystem.SNOMED, CodeSystem.ICD10):
        for coding in codings:
            if coding.system == wanted:
                return coding
    return codings[0] if codings else None


def concept_text(concept: Any) -> str | None:
    """The human words of a CodeableConcept: its text, else the first display."""
    if concept is None:
        return None
    if concept.text and concept.text.strip():
        return concept.text.strip()
    for coding in concept.coding or []:
        if coding.display and coding.display.strip():
            return coding.display.strip()
    return None


def source_type_from_tags(meta: Any) -> SourceType | None:
    """The source type a resource's meta.tag declares, if it uses our tag with a known code."""
    if meta is None:
        return None
    for tag in meta.tag or []:
        if tag.system == SOURCE_TYPE_SYSTEM and tag.code:
            try:
                return SourceType(tag.code.strip().lower())
            except ValueError:
                continue
    return None


def is_emergency_class(coding: Any) -> bool:
    if coding is None or not coding.code:
        return False
    if coding.code in EMERGENCY_CLASS_CODES:
        return True
    return coding.system == V2_PATIENT_CLASS_SYSTEM and coding.code == "E"
