"""What the patient timeline API returns."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class TimelineEntry(BaseModel):
    at: datetime
    kind: Literal["attendance", "flag", "decision", "referral", "audit"]
    id: int
    summary: str
    data: dict[str, Any] = Field(default_factory=dict)


class Timeline(BaseModel):
    patient_id: int
    entries: list[TimelineEntry]
