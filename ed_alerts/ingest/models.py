"""The inbound store: every received message, raw, before anything else is done with it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ed_alerts.db.base import Base, utcnow


class MessageStatus(StrEnum):
    RECEIVED = "received"  # stored, not yet processed (or the process died while processing it)
    PROCESSED = "processed"
    QUARANTINED = "quarantined"  # could not be parsed or processed; kept with the reason, replayable


class Transport(StrEnum):
    MLLP = "mllp"
    HTTP = "http"
    FILE = "file"


class ContentType(StrEnum):
    HL7V2 = "hl7v2"
    FHIR_BUNDLE = "fhir_bundle"
    FHIR_ENCOUNTER = "fhir_encounter"


class InboundMessage(Base):
    __tablename__ = "inbound_message"
    __table_args__ = (
        # Deduplication: one row per sender and control id (MSH-10, Bundle or MessageHeader id).
        UniqueConstraint("sender", "control_id"),
        Index("ix_inbound_message_status_id", "status", "id"),
        # Following one message after its ACK (GET /api/messages?control_id=): the unique key above
        # leads with the sender, so without this the look-up read the whole store, 31 ms at 100,000
        # messages on SQLite, and in a write transaction there.
        Index("ix_inbound_message_control_id", "control_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transport: Mapped[str] = mapped_column(String(16))
    content_type: Mapped[str] = mapped_column(String(20))
    sender: Mapped[str] = mapped_column(String(200))
    control_id: Mapped[str] = mapped_column(String(200))
    message_type: Mapped[str | None] = mapped_column(String(60))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=MessageStatus.RECEIVED)
    ack_code: Mapped[str | None] = mapped_column(String(2))
    error_code: Mapped[str | None] = mapped_column(String(10))
    error_location: Mapped[str | None] = mapped_column(String(60))
    error_reason: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    duplicate_count: Mapped[int] = mapped_column(default=0)
    last_duplicate_at: Mapped[datetime | None]
    registered_sender: Mapped[bool] = mapped_column(default=True)
    unmapped: Mapped[list[str]] = mapped_column(JSON, default=list)
    attendance_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
