"""The canonical attendance as stored."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ed_alerts.db.base import Base, utcnow


class AttendanceStatus(StrEnum):
    ACTIVE = "active"
    DISCHARGED = "discharged"
    CANCELLED = "cancelled"  # kept, never deleted


class Attendance(Base):
    __tablename__ = "attendance"
    __table_args__ = (
        UniqueConstraint("site_code", "visit_number"),
        # Repeat attendance: the same child's earlier attendances in a window, by index not by scan.
        Index("ix_attendance_patient_arrival", "patient_id", "arrival_time"),
        Index("ix_attendance_site_arrival", "site_code", "arrival_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    site_code: Mapped[str] = mapped_column(String(200))
    trust: Mapped[str] = mapped_column(String(100))
    source_type: Mapped[str] = mapped_column(String(30))
    registered_site: Mapped[bool] = mapped_column(default=True)
    visit_number: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=AttendanceStatus.ACTIVE)
    arrival_time: Mapped[datetime | None]
    discharge_time: Mapped[datetime | None]
    patient_class: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    conveyed_to_hospital: Mapped[bool | None]
    # The coded and free-text clinical content (diagnoses, observations, notes) as canonical JSON.
    clinical: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_event_time: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
