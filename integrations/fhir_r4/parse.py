"""The adapter's entry points: raw FHIR R4 JSON in, validated and mapped attendance events out."""

from __future__ import annotations

from typing import Any

from .assemble import MessageContext, ParsedFhirEvent, assemble_events
from .codes import source_type_from_tags
from .decoding import decode_json_object
from .keys import message_key
from .references import Entry, contained_entries
from .validation import (
    MAPPED_TYPES,
    check_bundle_type,
    check_known_resource_type,
    require_resource_type,
    validate_bundle_envelope,
    validate_resource,
)


def parse_bundle(raw: bytes, *, default_sender: str | None = None) -> list[ParsedFhirEvent]:
    """One event per ED or ambulance Encounter in a message, transaction or collection Bundle.

    Raises FhirMessageRejected (a MessageRejected) with a reason that says where the Bundle is wrong.
    """
    data = decode_json_object(raw)
    require_resource_type(data, "Bundle")
    return _parse_bundle_data(data, raw, default_sender)


def parse_encounter(raw: bytes, *, default_sender: str | None = None) -> list[ParsedFhirEvent]:
    """The event for a lone Encounter (POST /fhir/Encounter): always exactly one, in a list so callers
    treat Bundles and Encounters alike. Its Patient is contained, or known only by subject.identifier."""
    data = decode_json_object(raw)
    require_resource_type(data, "Encounter")
    return _parse_encounter_data(data, raw, default_sender)


def parse_message(raw: bytes, *, default_sender: str | None = None) -> list[ParsedFhirEvent]:
    """A Bundle or a lone Encounter, whichever the body is: for replaying stored messages."""
    data = decode_json_object(raw)
    if require_resource_type(data, "Bundle", "Encounter") == "Bundle":
        return _parse_bundle_data(data, raw, default_sender)
    return _parse_encounter_data(data, raw, default_sender)


def _parse_bundle_data(data: dict[str, Any], raw: bytes, default_sender: str | None) -> list[ParsedFhirEvent]:
    bundle_type = check_bundle_type(data)
    envelope = validate_bundle_envelope(data)
    entries = _bundle_entries(data)
    header = next((e for e in entries if e.resource_type == "MessageHeader"), None)
    warnings: list[str] = []
    if bundle_type == "message" and (not entries or entries[0].resource_type != "MessageHeader"):
        # FHIR requires it, but nothing we map depends on it: accept and say so.
        warnings.append("message Bundle does not start with a MessageHeader")
    header_meta = header.model.meta if header is not None else None
    sender, control_id = message_key(data, raw, default_sender=default_sender)
    context = MessageContext(
        message_type=f"Bundle/{bundle_type}",
        sender=sender,
        control_id=control_id,
        timestamp=envelope.timestamp,
        fallback_times=(envelope.meta.lastUpdated if envelope.meta else None,
                        header_meta.lastUpdated if header_meta else None),
        source_type=source_type_from_tags(header_meta) or source_type_from_tags(envelope.meta),
        warnings=tuple(warnings),
    )
    return assemble_events(entries, context)


def _parse_encounter_data(data: dict[str, Any], raw: bytes,
                          default_sender: str | None) -> list[ParsedFhirEvent]:
    model = validate_resource(data, base_path="Encounter")
    entry = Entry(resource_type="Encounter", path="Encounter", id=model.id, model=model)
    entry.contained = contained_entries(entry)
    sender, control_id = message_key(data, raw, default_sender=default_sender)
    context = MessageContext(message_type="Encounter", sender=sender, control_id=control_id)
    return assemble_events([entry], context)


def _bundle_entries(data: dict[str, Any]) -> list[Entry]:
    """The entries that carry a resource, each validated if it is a type we map."""
    entries: list[Entry] = []
    for i, item in enumerate(data.get("entry") or []):
        resource = item.get("resource")
        if resource is None:
            continue  # e.g. a transaction DELETE: nothing to read
        path = f"Bundle.entry[{i}].resource"
        resource_type = check_known_resource_type(resource, path)
        model = validate_resource(resource, base_path=path) if resource_type in MAPPED_TYPES else None
        resource_id = resource.get("id")
        entry = Entry(resource_type=resource_type, path=path, model=model, full_url=item.get("fullUrl"),
                      id=resource_id if isinstance(resource_id, str) else None)
        entry.contained = contained_entries(entry) if model is not None else []
        entries.append(entry)
    return entries
