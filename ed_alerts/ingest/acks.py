"""Turns an ingest outcome into the HL7 acknowledgement the sender receives."""

from __future__ import annotations

from ed_alerts.ingest.pipeline import IngestOutcome
from integrations import hl7v2


def hl7_ack(header: hl7v2.HeaderInfo | None, outcome: IngestOutcome) -> bytes:
    """`header`: the message's MSH as `hl7v2.peek_header` read it (None when it has none)."""
    if outcome.accepted or outcome.queued:
        return hl7v2.build_ack(header, "AA")
    return hl7v2.build_ack(header, outcome.ack_code, text=outcome.reason, error_code=outcome.error_code,
                           error_location=outcome.error_location)
