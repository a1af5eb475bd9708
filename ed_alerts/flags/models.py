"""Flags raised by the rule pack, and the pending referral decisions they create."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ed_alerts.db.base import Base, utcnow


class FlagStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"  # the attendance was cancelled; kept, never deleted


class DecisionStatus(StrEnum):
    PENDING = "pending"
    REFER = "refer"
    NOT_REFER = "not_refer"


class Flag(Base):
    __tablename__ = "flag"
    __table_args__ = (
        # Re-evaluation is idempotent: one flag per rule per attendance, updated in place.
        UniqueConstraint("attendance_id", "rule_id"),
        Index("ix_flag_patient_status", "patient_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attendance_id: Mapped[int] = mapped_column(ForeignKey("attendance.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    rule_id: Mapped[str] = mapped_column(String(100))
    rule_version: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=FlagStatus.ACTIVE)
    uncertain: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    requires_decision: Mapped[bool] = mapped_column(default=False)
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # What a nurse recorded on the flag: never touched by re-evaluation.
    nurse_note: Mapped[str | None] = mapped_column(Text)
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    acknowledged_at: Mapped[datetime | None]


class Decision(Base):
    """A referral decision a flag requires: pending until a named user decides.

    "Not refer" needs a rationale and goes to the safeguarding nurse's review queue; "refer" links
    the decision to its attendance's referral (ed_alerts/referrals/decisions.py).
    """

    __tablename__ = "decision"
    __table_args__ = (Index("ix_decision_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("flag.id"), unique=True)
    attendance_id: Mapped[int] = mapped_column(ForeignKey("attendance.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=DecisionStatus.PENDING)
    due_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_role: Mapped[str | None] = mapped_column(String(40))
    decided_at: Mapped[datetime | None]
    rationale: Mapped[str | None] = mapped_column(Text)
    child_words: Mapped[str | None] = mapped_column(Text)  # verbatim, where the nurse has them
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id"), index=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[datetime | None]
    review_comment: Mapped[str | None] = mapped_column(Text)
