"""The raw INSERT on the acknowledgement path stores what the ORM would, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ed_alerts.ingest.models import ContentType, InboundMessage, MessageStatus, Transport
from ed_alerts.ingest.pipeline import IngestContext, store


def _row(ctx: IngestContext, message_id: int) -> InboundMessage:
    with ctx.db.session() as session:
        return session.get_one(InboundMessage, message_id)


def test_a_stored_message_reads_back_through_the_orm_as_written(ctx: IngestContext) -> None:
    raw = b"MSH|^~\\&|EDIS|RGT01|ED-ALERTS|RGT|20260101120000||ADT^A04^ADT_A01|INS-1|P|2.4\r\xc3\xa9"
    before = datetime.now(UTC)
    message_id, duplicate = store(ctx, raw, ContentType.HL7V2, Transport.MLLP)
    assert not duplicate
    msg = _row(ctx, message_id)
    assert (msg.sender, msg.control_id, msg.message_type) == ("RGT01", "INS-1", "ADT^A04")
    assert msg.raw == raw and msg.size == len(raw)
    assert (msg.transport, msg.content_type, msg.status) == ("mllp", "hl7v2", MessageStatus.RECEIVED)
    assert msg.registered_sender is True  # RGT01 is in the test site registry
    assert msg.unmapped == [] and msg.attendance_ids == []
    assert (msg.attempts, msg.duplicate_count) == (0, 0)
    # UTC and timezone-aware on both databases, as every other timestamp is read back
    assert msg.received_at.tzinfo is not None
    assert before - timedelta(seconds=1) <= msg.received_at <= datetime.now(UTC) + timedelta(seconds=1)


def test_a_resend_is_counted_on_the_stored_message_not_stored_again(ctx: IngestContext) -> None:
    raw = b"MSH|^~\\&|EDIS|UNKNOWN-SITE|ED-ALERTS|RGT|20260101120000||ADT^A08|INS-2|P|2.4\r"
    first, _ = store(ctx, raw, ContentType.HL7V2, Transport.MLLP)
    again, duplicate = store(ctx, raw, ContentType.HL7V2, Transport.HTTP)
    assert (again, duplicate) == (first, True)
    msg = _row(ctx, first)
    assert msg.duplicate_count == 1 and msg.last_duplicate_at is not None
    assert msg.registered_sender is False and msg.transport == "mllp"
    with ctx.db.session() as session:
        assert len(session.scalars(select(InboundMessage.id)).all()) == 1


def test_a_failed_insert_leaves_nothing_and_releases_the_connection(ctx: IngestContext) -> None:
    """A statement error rolls the transaction back and the pool's connection is usable again."""
    with pytest.raises(Exception, match=r"(?i)not.null"), ctx.db.dbapi_cursor() as cursor:
        cursor.execute("INSERT INTO inbound_message (id) VALUES (NULL)")  # NOT NULL columns missing
    message_id, _ = store(ctx, b"MSH|^~\\&|EDIS|RGT01|X|Y|20260101||ADT^A04|INS-3|P|2.4\r",
                          ContentType.HL7V2, Transport.MLLP)
    assert _row(ctx, message_id).control_id == "INS-3"
