"""Turns an ingest outcome into the HL7 acknowledgement the sender receives."""

from __future__ import annotations

from ed_alerts.ingest.pipeline import IngestOutcome
from integrations import hl7v2


def hl7_ack(raw: bytes, outcome: IngestOutcome) -> bytes:
    header = hl7v2.peek_header(raw)
    if outcome.accepted or outcome.queued:
        return hl7v2.build_ack(header, "AA")
    return hl7v2.build_ack(header, outcome.ack_code, text=outcome.reason, error_code=outcome.error_code,
                           error_location=outcome.error_location)
