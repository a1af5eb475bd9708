"""The (sender, control id) a FHIR message is deduplicated on, read cheaply before any validation.

control id: the MessageHeader.id, else Bundle.id, else "Encounter/<id>/_history/<versionId>" of the
first Encounter, else "sha256:<hex>" of the body as received.
sender: MessageHeader.source.endpoint, else its name, else meta.source of the Bundle (or of the lone
Encounter), else the first Encounter's serviceProvider identifier value or display, else the
caller's default sender, else "unknown".

An Encounter id alone is not a control id: a sender that posts the same Encounter again when its
status changes would see the discharge dropped as a duplicate of the registration. With a
versionId it names one version; without one the body hash does the same job.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .decoding import strip_bom

UNKNOWN_SENDER = "unknown"
# A source.endpoint is mandatory in R4, so converters that do not know it write this placeholder.
_PLACEHOLDER_ENDPOINTS = frozenset({"unknown", "urn:unknown"})


def bundle_dedupe_key(raw: bytes, *, default_sender: str | None = None) -> tuple[str, str]:
    """(sender, control_id) for the inbound store. Never raises: an unreadable body still gets a key,
    so it can be stored and quarantined once."""
    try:
        data = json.loads(strip_bom(bytes(raw)).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        return (default_sender or UNKNOWN_SENDER), body_hash(raw)
    return message_key(data, raw, default_sender=default_sender)


def message_key(data: dict[str, Any], raw: bytes, *, default_sender: str | None = None) -> tuple[str, str]:
    header = _first_resource(data, "MessageHeader")
    encounter = data if data.get("resourceType") == "Encounter" else _first_resource(data, "Encounter")
    return _sender(data, header, encounter, default_sender), _control_id(data, header, encounter, raw)


def body_hash(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(bytes(raw)).hexdigest()


def _control_id(data: dict[str, Any], header: dict[str, Any] | None, encounter: dict[str, Any] | None,
                raw: bytes) -> str:
    if header is not None and _text(header.get("id")):
        return _text(header.get("id"))  # type: ignore[return-value]
    if data.get("resourceType") == "Bundle" and _text(data.get("id")):
        return _text(data.get("id"))  # type: ignore[return-value]
    if encounter is not None:
        encounter_id = _text(encounter.get("id"))
        version = _text(_get(encounter, "meta", "versionId"))
        if encounter_id and version:
            return f"Encounter/{encounter_id}/_history/{version}"
    return body_hash(raw)


def _sender(data: dict[str, Any], header: dict[str, Any] | None, encounter: dict[str, Any] | None,
            default_sender: str | None) -> str:
    candidates: list[Any] = []
    if header is not None:
        endpoint = _text(_get(header, "source", "endpoint"))
        if endpoint and endpoint.lower() not in _PLACEHOLDER_ENDPOINTS:
            candidates.append(endpoint)
        candidates.append(_get(header, "source", "name"))
    candidates.append(_get(data, "meta", "source"))
    if encounter is not None:
        candidates.append(_get(encounter, "serviceProvider", "identifier", "value"))
        candidates.append(_get(encounter, "serviceProvider", "display"))
    candidates.append(default_sender)
    for candidate in candidates:
        if _text(candidate):
            return _text(candidate)  # type: ignore[return-value]
    return UNKNOWN_SENDER


def _first_resource(data: dict[str, Any], resource_type: str) -> dict[str, Any] | None:
    if data.get("resourceType") != "Bundle" or not isinstance(data.get("entry"), list):
        return None
    for entry in data["entry"]:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") == resource_type:
            return resource
    return None


def _get(data: Any, *path: str) -> Any:
    # Nothing is validated yet: any level may be missing or of the wrong JSON type.
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
