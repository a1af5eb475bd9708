"""CX identifiers (PID-3, MRG-1) -> canonical Identifiers; recognises and checks NHS numbers."""

from __future__ import annotations

import nhs_number

from ed_alerts.domain import NHS_NUMBER_SYSTEM, Identifier
from integrations.hl7v2.config import FeedConfig
from integrations.hl7v2.er7 import Segment

NHS_TYPE_CODES = frozenset({"NH", "NHSNMBR"})
NHS_AUTHORITIES = frozenset({"NHS", "NHSNBR", "2.16.840.1.113883.2.1.4.1"})


def identifier_from_cx(segment: Segment, raw: str, *, sender: str, feed: FeedConfig) -> Identifier | None:
    """One CX repetition -> Identifier, or None when it carries no id (e.g. the HL7 null)."""
    value = segment.part(raw, 1)
    if not value:
        return None
    namespace = segment.part(raw, 4, 1)
    universal_id = segment.part(raw, 4, 2)
    type_code = segment.part(raw, 5).upper()
    if _is_nhs_number(type_code, namespace, universal_id, feed):
        digits = nhs_number.standardise_format(value) or value
        return Identifier(system=NHS_NUMBER_SYSTEM, value=digits, is_nhs_number=True,
                          valid=nhs_number.is_valid(digits))
    # An identifier without an authority only means something within the sending site.
    return Identifier(system=namespace or universal_id or f"local:{sender}", value=value)


def identifiers_from_field(segment: Segment, n: int, *, sender: str, feed: FeedConfig) -> list[Identifier]:
    seen: set[tuple[str, str]] = set()
    result: list[Identifier] = []
    for rep in segment.repetitions(n):
        ident = identifier_from_cx(segment, rep, sender=sender, feed=feed)
        if ident is not None and (ident.system, ident.value) not in seen:
            seen.add((ident.system, ident.value))
            result.append(ident)
    return result


def _is_nhs_number(type_code: str, namespace: str, universal_id: str, feed: FeedConfig) -> bool:
    if type_code in NHS_TYPE_CODES:
        return True
    for authority in (namespace, universal_id):
        if authority and (authority.upper() in NHS_AUTHORITIES or feed.is_nhs_authority(authority)):
            return True
    return False
