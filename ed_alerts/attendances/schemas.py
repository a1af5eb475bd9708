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


class AttendanceDetail(BaseModel):
    attendance: AttendanceView
    patient: PatientView
    other_attendances: list[AttendanceView]
