"""One CP-IS lookup per attendance: pending until CP-IS answers, retried a bounded number of times.

The row is the durable queue: it is written with the attendance, so a crash loses no lookup, and
the worker claims it with a lease (as the referral outbox does). It holds the answer (the plans,
with their local authority and dates) but no identifier: the NHS number searched stays in
`patient_identifier` and is referenced by id.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ed_alerts.db.base import Base, utcnow


class LookupStatus(StrEnum):
    PENDING = "pending"  # to be asked (again) at next_attempt_at
    DONE = "done"  # CP-IS answered: outcome found or not_found
    FAILED = "failed"  # no answer after the last attempt, or one that retrying cannot change
    SKIPPED = "skipped"  # not asked: a recent answer for the child was reused (source_lookup_id)


class CpisLookup(Base):
    __tablename__ = "cpis_lookup"
    __table_args__ = (Index("ix_cpis_lookup_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # One per attendance: updates, resends and replays of the same attendance never ask again.
    attendance_id: Mapped[int] = mapped_column(ForeignKey("attendance.id"), unique=True)
    # The NHS number to search, by reference: its value stays in patient_identifier.
    identifier_id: Mapped[int] = mapped_column(ForeignKey("patient_identifier.id"))
    status: Mapped[str] = mapped_column(String(16), default=LookupStatus.PENDING)
    outcome: Mapped[str | None] = mapped_column(String(16))  # found, not_found, error
    plans: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # CpisPlan dumps
    access_event: Mapped[bool] = mapped_column(default=True)  # asked with IsUnscheduledAccessEvent: true
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    leased_until: Mapped[datetime | None]
    lease_token: Mapped[str | None] = mapped_column(String(36))
    last_attempt_at: Mapped[datetime | None]
    last_cause: Mapped[str | None] = mapped_column(String(60))
    last_http_status: Mapped[int | None]
    last_reason: Mapped[str | None] = mapped_column(Text)  # names codes and statuses, never the child
    trace_id: Mapped[str | None] = mapped_column(String(64))  # the last TraceID sent, for CP-IS support
    source_lookup_id: Mapped[int | None] = mapped_column(ForeignKey("cpis_lookup.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
