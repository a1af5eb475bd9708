"""What the attendance API returns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel


class PatientView(BaseModel):
    id: int
    family_name: str | None
    given_names: str | None
    birth_date: date | None
    sex: str | None
    postcode: str | None
    identifiers: list[dict[str, str]]


class AttendanceView(BaseModel):
    id: int
    patient_id: int
    site_code: str
    trust: str
    source_type: str
    registered_site: bool
    visit_number: str
    status: str
    arrival_time: datetime | None
    discharge_time: datetime | None
    patient_class: str | None
    reason: str | None
    conveyed_to_hospital: bool | None
    clinical: dict[str, Any]


class FlagView(BaseModel):
    id: int
    rule_id: str
    rule_version: str
    title: str
    severity: str
    status: str
    uncertain: bool
    reason: str
    evidence: list[dict[str, Any]]
    requires_decision: bool
    decision_status: str | None
    decision_due_at: datetime | None
    raised_at: datetime
    nurse_note: str | None


class AttendanceDetail(BaseModel):
    attendance: AttendanceView
    patient: PatientView
    flags: list[FlagView]
    other_attendances: list[AttendanceView]
