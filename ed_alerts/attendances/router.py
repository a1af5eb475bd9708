"""Attendance read API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from ed_alerts.attendances.queries import attendance_detail
from ed_alerts.attendances.schemas import AttendanceDetail
from ed_alerts.deps import get_services
from ed_alerts.errors import NotFound
from ed_alerts.services import Services

router = APIRouter(prefix="/api/attendances", tags=["attendances"])


@router.get("/{attendance_id}")
def get_attendance(attendance_id: int,
                   services: Annotated[Services, Depends(get_services)]) -> AttendanceDetail:
    with services.db.session() as session:
        detail = attendance_detail(session, attendance_id)
    if detail is None:
        raise NotFound(f"attendance {attendance_id} does not exist")
    return detail
