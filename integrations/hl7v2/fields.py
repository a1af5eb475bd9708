"""Typed reads of date fields that reject the message (AE 102, with location) when malformed.

Reasons name the field, never its value: rejection reasons go into ACKs and logs, and a birth
date is a patient identifier.
"""

from __future__ import annotations

from datetime import date, datetime

from ed_alerts.errors import MessageRejected
from integrations.hl7v2.er7 import Segment
from integrations.hl7v2.timestamps import parse_date, parse_ts


def ts_field(segment: Segment, n: int, label: str) -> datetime | None:
    """Field n's first repetition (its TS-1 component) as an aware UTC datetime."""
    value = segment.get(n, 1)
    try:
        return parse_ts(value)
    except ValueError:
        raise _bad_date(segment, n, label) from None


def date_field(segment: Segment, n: int, label: str) -> date | None:
    value = segment.get(n, 1)
    try:
        return parse_date(value)
    except ValueError:
        raise _bad_date(segment, n, label) from None


def _bad_date(segment: Segment, n: int, label: str) -> MessageRejected:
    location = f"{segment.id}-{n}"
    return MessageRejected(f"{location} ({label}) is not a valid HL7 date/time",
                           ack_code="AE", hl7_error_code="102", location=location)
