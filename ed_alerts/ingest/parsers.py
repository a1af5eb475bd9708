"""Dispatches a raw message to its adapter in `integrations/` by content type."""

from __future__ import annotations

from dataclasses import dataclass

from ed_alerts import domain
from ed_alerts.ingest.models import ContentType
from ed_alerts.sites.registry import Site
from integrations import fhir_r4, hl7v2


@dataclass(frozen=True)
class Header:
    sender: str | None
    control_id: str | None
    message_type: str | None


def peek(content_type: ContentType, raw: bytes) -> Header:
    """Who sent it and its control id, read cheaply even from a message whose body is broken."""
    if content_type is ContentType.HL7V2:
        return hl7v2_header(hl7v2.peek_header(raw))
    try:
        sender, control_id = fhir_r4.bundle_dedupe_key(raw)
    except ValueError:
        return Header(None, None, None)
    kind = "Bundle" if content_type is ContentType.FHIR_BUNDLE else "Encounter"
    return Header(sender, control_id, kind)


def hl7v2_header(info: hl7v2.HeaderInfo | None) -> Header:
    """What `peek` gives for HL7 v2, from a header the caller has already read."""
    if info is None:
        return Header(None, None, None)
    return Header(info.sender, info.control_id, info.message_type)


def parse(content_type: ContentType, raw: bytes, *, site: Site | None) -> list[domain.InboundEvent]:
    if content_type is ContentType.HL7V2:
        feed = hl7v2.FeedConfig(nhs_number_authorities=site.nhs_number_authorities) if site else None
        return [hl7v2.parse_message(raw, feed=feed).event]
    sender = site.code if site else None
    if content_type is ContentType.FHIR_BUNDLE:
        return [p.event for p in fhir_r4.parse_bundle(raw, default_sender=sender)]
    return [p.event for p in fhir_r4.parse_encounter(raw, default_sender=sender)]
