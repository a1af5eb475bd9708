"""What the ingest API returns: message metadata and feed health, never message content."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class MessageSummary(BaseModel):
    id: int
    transport: str
    content_type: str
    sender: str
    control_id: str
    message_type: str | None
    received_at: datetime
    size: int
    status: str
    ack_code: str | None
    error_reason: str | None
    error_location: str | None
    attempts: int
    duplicate_count: int
    registered_sender: bool
    unmapped: list[str]
    attendance_ids: list[int]


class FeedHealth(BaseModel):
    sender: str
    registered: bool
    received: int
    processed: int
    quarantined: int
    pending: int
    duplicates: int
    last_received_at: datetime | None
