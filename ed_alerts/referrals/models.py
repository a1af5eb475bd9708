"""Referral tables: the referral (one per attendance), its delivery outbox, and escalations.

A referral holds what a MASH needs; its `state` moves only along the transition table in
transitions.py. Delivery is a separate, durable fact: each "send" writes an outbox row in the same
transaction, and the scheduler's drainer delivers it (outbox.py).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ed_alerts.db.base import Base, utcnow


class DeliveryStatus(StrEnum):
    """Where the authority's copy stands, separate from the workflow state.

    `sent` (the state) means a named user sent a complete referral and its outbox row is committed:
    the trust has irrevocably handed it to delivery. `delivered` means the authority acknowledged it,
    with its reference. Only a delivered referral can be audited.
    """

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Referral(Base):
    __tablename__ = "referral"
    __table_args__ = (Index("ix_referral_state_due", "state", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # One referral per attendance, covering every flag whose decision was "refer".
    attendance_id: Mapped[int] = mapped_column(ForeignKey("attendance.id"), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    site_code: Mapped[str] = mapped_column(String(200))
    trust: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(20))  # the highest of its flags'
    due_at: Mapped[datetime | None]  # when it must be sent by
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Generated once when the referral is created and sent with every attempt and every re-send,
    # so the authority can recognise a repeat of the same referral.
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)

    # What a MASH needs (completeness.py lists them with readable labels).
    local_authority_code: Mapped[str | None] = mapped_column(String(64))
    what_happened: Mapped[str | None] = mapped_column(Text)
    child_words: Mapped[str | None] = mapped_column(Text)
    risk_factors: Mapped[list[str]] = mapped_column(JSON, default=list)
    injuries: Mapped[str | None] = mapped_column(Text)
    others_involved: Mapped[str | None] = mapped_column(Text)
    parents_aware: Mapped[bool | None]
    parents_not_aware_reason: Mapped[str | None] = mapped_column(Text)
    referrer_name: Mapped[str | None] = mapped_column(String(200))
    referrer_role: Mapped[str | None] = mapped_column(String(200))
    referrer_contact: Mapped[str | None] = mapped_column(String(200))
    decision_rationale: Mapped[str | None] = mapped_column(Text)

    # not_required: who closed it and why; the safeguarding nurse reviews it.
    not_required_rationale: Mapped[str | None] = mapped_column(Text)
    not_required_by: Mapped[str | None] = mapped_column(String(200))
    not_required_at: Mapped[datetime | None]
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[datetime | None]
    review_comment: Mapped[str | None] = mapped_column(Text)

    sent_by: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime | None]
    delivery_status: Mapped[str | None] = mapped_column(String(20))
    delivery_attempts: Mapped[int] = mapped_column(default=0)
    delivery_reference: Mapped[str | None] = mapped_column(String(200))  # the authority's
    delivered_at: Mapped[datetime | None]
    last_delivery_error: Mapped[str | None] = mapped_column(Text)  # the authority's words, for people

    audited_by: Mapped[str | None] = mapped_column(String(200))
    audited_at: Mapped[datetime | None]
    audit_comment: Mapped[str | None] = mapped_column(Text)


class OutboxStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # rejected, or retries exhausted


class ReferralOutbox(Base):
    """One delivery job: written in the transaction that sends the referral, drained by the scheduler.

    `payload` is the referral exactly as sent (a snapshot), so what the authority received can be
    shown later whatever happens to the referral.
    """

    __tablename__ = "referral_outbox"
    __table_args__ = (
        Index("ix_referral_outbox_status_next", "status", "next_attempt_at"),
        # Per-child ordering: "is an older referral of this child still pending?"
        Index("ix_referral_outbox_patient_status", "patient_id", "status", "referral_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    local_authority_code: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    leased_until: Mapped[datetime | None]
    lease_token: Mapped[str | None] = mapped_column(String(36))
    last_attempt_at: Mapped[datetime | None]
    last_cause: Mapped[str | None] = mapped_column(String(60))
    last_http_status: Mapped[int | None]
    reference: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class EscalationKind(StrEnum):
    DECISION_OVERDUE = "decision_overdue"  # no decision by its due time
    REFERRAL_OVERDUE = "referral_overdue"  # "refer" decided, not sent by its due time
    DELIVERY_FAILED = "delivery_failed"  # the authority rejected it, or retries ran out


class Escalation(Base):
    """Something that passed its due time or failed, recorded once per item (the unique key)."""

    __tablename__ = "escalation"
    __table_args__ = (UniqueConstraint("kind", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    entity_type: Mapped[str] = mapped_column(String(30))  # decision, referral, referral_outbox
    entity_id: Mapped[int]
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id"))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decision.id"))
    attendance_id: Mapped[int] = mapped_column(ForeignKey("attendance.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    site_code: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    detail: Mapped[str] = mapped_column(Text)  # readable, without patient identifiers
    notified_at: Mapped[datetime | None]  # posted to the escalation webhook
    notify_attempts: Mapped[int] = mapped_column(default=0)
