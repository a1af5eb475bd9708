"""Read-side queries over the inbound store."""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ed_alerts.ingest.models import InboundMessage, MessageStatus
from ed_alerts.ingest.schemas import FeedHealth, MessageSummary


def _summary(msg: InboundMessage) -> MessageSummary:
    return MessageSummary.model_validate(msg, from_attributes=True)


def list_messages(session: Session, *, status: MessageStatus | None, limit: int,
                  senders: list[str] | None = None, control_id: str | None = None) -> list[MessageSummary]:
    """`senders`: only messages from these (upper-case) senders; None for all. `control_id`: the
    message(s) with that control id (one per sender), e.g. to follow one message after its ACK."""
    stmt = select(InboundMessage).order_by(InboundMessage.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(InboundMessage.status == status)
    if control_id is not None:
        stmt = stmt.where(InboundMessage.control_id == control_id)
    if senders is not None:
        stmt = stmt.where(func.upper(InboundMessage.sender).in_(senders))
    return [_summary(m) for m in session.scalars(stmt)]


def get_message(session: Session, message_id: int) -> MessageSummary | None:
    msg = session.get(InboundMessage, message_id)
    return _summary(msg) if msg is not None else None


def feed_health(session: Session, *, senders: list[str] | None = None) -> list[FeedHealth]:
    def count(status: MessageStatus):  # type: ignore[no-untyped-def]
        return func.sum(case((InboundMessage.status == status, 1), else_=0))

    stmt = (
        select(
            InboundMessage.sender,
            func.min(case((InboundMessage.registered_sender, 1), else_=0)),
            func.count(),
            count(MessageStatus.PROCESSED),
            count(MessageStatus.QUARANTINED),
            count(MessageStatus.RECEIVED),
            func.sum(InboundMessage.duplicate_count),
            func.max(InboundMessage.received_at),
        ).group_by(InboundMessage.sender).order_by(InboundMessage.sender)
    )
    if senders is not None:
        stmt = stmt.where(func.upper(InboundMessage.sender).in_(senders))
    rows = session.execute(stmt).all()
    return [
        FeedHealth(sender=r[0], registered=bool(r[1]), received=r[2], processed=r[3] or 0,
                   quarantined=r[4] or 0, pending=r[5] or 0, duplicates=r[6] or 0,
                   last_received_at=r[7])
        for r in rows
    ]
