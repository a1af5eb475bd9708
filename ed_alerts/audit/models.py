"""Audit entries. Rows are never updated or deleted (database triggers refuse it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ed_alerts.db.base import Base, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_entity", "entity_type", "entity_id"),
        Index("ix_audit_entry_patient", "patient_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))  # a named user, or "system:<component>"
    role: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(60))  # e.g. flag.raised, referral.sent, record.viewed
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(60))
    patient_id: Mapped[int | None]  # so a child's timeline can include every entry about them
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
