"""Validate FHIR R4 JSON with the fhir.resources R4B models and explain failures as FHIR element paths.

fhir.resources 8 has no R4 package and its root models are R5 (which rejects R4 Encounters), so the
R4B models stand in: for the resources we read (Bundle, Encounter, Patient, Condition, Observation,
MessageHeader) R4B is R4. The models do not check code bindings (any string passes as a status), and
report a missing required primitive only when nothing else is wrong, so Encounter.status, which
decides the event kind, is checked here.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from .codes import ALL_BUNDLE_TYPES, ENCOUNTER_STATUS_KIND, SUPPORTED_BUNDLE_TYPES
from .rejection import FhirMessageRejected, invalid, unsupported, unusable

MAX_REPORTED_ERRORS = 5
_MAX_CODE_ECHO = 40

# Resource types this adapter maps; every other type is only named in unmapped_segments, never
# validated, so an odd Appointment or ImagingStudy does not cost us the attendance beside it.
MAPPED_TYPES = frozenset({"MessageHeader", "Encounter", "Patient", "Condition", "Observation"})


def require_resource_type(data: dict[str, Any], *expected: str) -> str:
    """The resourceType, if it is one of `expected`; otherwise reject the body as unusable here."""
    found = data.get("resourceType")
    if found in expected:
        return found
    wanted = " or ".join(expected)
    if not isinstance(found, str) or not found:
        raise unusable(f"JSON object has no resourceType: expected a FHIR R4 {wanted}")
    raise unsupported(f"expected a FHIR {wanted}, got {_code(found)}")


def check_bundle_type(data: dict[str, Any]) -> str:
    bundle_type = data.get("type")
    if bundle_type is None:
        raise invalid("Bundle.type: is required", location="Bundle.type", issue_code="required",
                      hl7_error_code="101")
    if not isinstance(bundle_type, str) or bundle_type not in ALL_BUNDLE_TYPES:
        raise invalid(f"Bundle.type: {_code(bundle_type)} is not a FHIR Bundle type", location="Bundle.type",
                      issue_code="code-invalid")
    if bundle_type not in SUPPORTED_BUNDLE_TYPES:
        raise unsupported(f"Bundle.type {bundle_type!r} is not accepted: send a "
                          f"{', '.join(SUPPORTED_BUNDLE_TYPES[:-1])} or {SUPPORTED_BUNDLE_TYPES[-1]} Bundle",
                          location="Bundle.type")
    return bundle_type


def validate_bundle_envelope(data: dict[str, Any]) -> Bundle:
    """The Bundle with its entries' resources left out; those are checked one by one."""
    entries = data.get("entry")
    envelope = dict(data)
    if isinstance(entries, list):
        envelope["entry"] = [
            {k: v for k, v in entry.items() if k != "resource"} if isinstance(entry, dict) else entry
            for entry in entries
        ]
    try:
        return Bundle.model_validate(envelope)
    except ValidationError as exc:
        raise _rejection(exc, resource_type="Bundle", base_path="Bundle") from None


def check_known_resource_type(resource: Any, where: str) -> str:
    """The resource's type, rejecting anything that is not a FHIR resource at all."""
    if not isinstance(resource, dict):
        raise invalid(f"{where}: should be a JSON object (a FHIR resource)", location=where,
                      issue_code="structure")
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str) or not resource_type:
        raise invalid(f"{where}.resourceType: is required", location=f"{where}.resourceType",
                      issue_code="required", hl7_error_code="101")
    try:
        get_fhir_model_class(resource_type)
    except (ValueError, KeyError):
        raise invalid(f"{where}.resourceType: {_code(resource_type)} is not a FHIR resource type",
                      location=f"{where}.resourceType", issue_code="not-supported") from None
    return resource_type


def validate_resource(resource: dict[str, Any], *, base_path: str) -> Any:
    """A validated R4B model of a resource we map; `base_path` is where it sits (Bundle.entry[3].resource)."""
    resource_type = check_known_resource_type(resource, base_path)
    contained = resource.get("contained")
    if isinstance(contained, list):
        # fhir.resources raises a bare KeyError for an unknown contained type; say where instead.
        for i, item in enumerate(contained):
            if isinstance(item, dict) and "resourceType" in item:
                check_known_resource_type(item, f"{base_path}.contained[{i}]")
    model_class = get_fhir_model_class(resource_type)
    try:
        model = model_class.model_validate(resource)
    except ValidationError as exc:
        raise _rejection(exc, resource_type=resource_type, base_path=base_path) from None
    if resource_type == "Encounter":
        check_encounter_status(model, base_path)
    return model


def check_encounter_status(encounter: Any, base_path: str) -> None:
    where = _where(base_path, "Encounter")
    if encounter.status is None:
        raise invalid(f"Encounter.status: is required{where}", location=f"{base_path}.status",
                      issue_code="required", hl7_error_code="101")
    if encounter.status not in ENCOUNTER_STATUS_KIND:
        raise invalid(f"Encounter.status: {_code(encounter.status)} is not an Encounter status "
                      f"({', '.join(ENCOUNTER_STATUS_KIND)}){where}",
                      location=f"{base_path}.status", issue_code="code-invalid")


def _rejection(exc: ValidationError, *, resource_type: str, base_path: str) -> FhirMessageRejected:
    errors = exc.errors(include_url=False)
    lines: list[str] = []
    first_location: str | None = None
    for error in errors[:MAX_REPORTED_ERRORS]:
        path = element_path(error["loc"])
        lines.append(f"{resource_type}{path}: {readable_message(error, resource_type)}")
        if first_location is None:
            first_location = f"{base_path}{path}"
    if len(errors) > MAX_REPORTED_ERRORS:
        lines.append(f"and {len(errors) - MAX_REPORTED_ERRORS} more")
    missing_only = all(_is_missing(e) for e in errors)
    return invalid("; ".join(lines) + _where(base_path, resource_type), location=first_location,
                   issue_code="required" if missing_only else "invalid",
                   hl7_error_code="101" if missing_only else "102")


def element_path(loc: tuple[Any, ...]) -> str:
    """A pydantic error location as a FHIR path suffix: ('entry', 0, 'request') -> .entry[0].request"""
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item == "root" or not isinstance(item, str) or "[" in item:
            continue  # pydantic's own validator names, not FHIR elements
        elif item == "resource_type":
            parts.append(".resourceType")
        else:
            parts.append(f".{item.removesuffix('__ext').replace('class_fhir', 'class')}")
    return "".join(parts)


def readable_message(error: dict[str, Any], resource_type: str) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if _is_missing(error):
        return "is required"
    if kind == "extra_forbidden":
        return f"is not an element of {resource_type} in FHIR R4"
    if kind == "json_invalid":
        return "should be a JSON object"
    if kind == "list_type":
        return "should be a JSON array"
    if kind == "model_validation_format" and ctx.get("model_class"):
        return f"should be a single {ctx['model_class']} object, not a list"
    message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    if "DateTime value string" in message:
        return ("is not a valid FHIR dateTime (with a time it needs seconds and a timezone, "
                "e.g. 2025-06-01T14:05:00+01:00)")
    if "Instant value string" in message:
        return "is not a valid FHIR instant (e.g. 2025-06-01T14:05:00+01:00)"
    if "Date value string" in message:
        return "is not a valid FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)"
    return message


def _is_missing(error: dict[str, Any]) -> bool:
    # pydantic says "missing"; fhir.resources' required-element check "model_field_validation.missing"
    return error["type"] == "missing" or str(error["type"]).endswith(".missing")


def _where(base_path: str, resource_type: str) -> str:
    return "" if base_path == resource_type else f" (at {base_path})"


def _code(value: Any) -> str:
    # Codes and type names are safe to quote; cut them short so a junk value cannot flood a log.
    text = repr(value)
    return text if len(text) <= _MAX_CODE_ECHO else text[:_MAX_CODE_ECHO] + "...'"
