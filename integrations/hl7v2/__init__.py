"""HL7 v2 adapter: ADT messages (v2.3-2.5.1) -> canonical InboundEvents, and ACKs back.

No HTTP, no database. Public API:

- parse_message(raw, *, feed=None) -> ParsedHL7, or raises ed_alerts.errors.MessageRejected
- peek_header(raw) -> HeaderInfo | None, for deduplicating and answering messages that fail to parse
- build_ack(header, ack_code, *, text=None, error_code=None, error_location=None, version=None) -> bytes
- split_batch(raw) -> list[bytes], for FHS/BHS batch files
- FeedConfig, the per-feed options
"""

from integrations.hl7v2.ack import build_ack
from integrations.hl7v2.batch import split_batch
from integrations.hl7v2.config import FeedConfig
from integrations.hl7v2.header import HeaderInfo, peek_header
from integrations.hl7v2.parser import ParsedHL7, parse_message
from integrations.hl7v2.structure import SUPPORTED_EVENTS, SUPPORTED_VERSIONS, warm_up

__all__ = [
    "FeedConfig",
    "HeaderInfo",
    "ParsedHL7",
    "SUPPORTED_EVENTS",
    "SUPPORTED_VERSIONS",
    "build_ack",
    "parse_message",
    "peek_header",
    "split_batch",
    "warm_up",
]
