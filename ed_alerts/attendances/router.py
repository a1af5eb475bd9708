"""Attendance read API. A view of an attendance shows the child's identity, so it is audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from ed_alerts.actors import get_actor
from ed_alerts.attendances.queries import attendance_detail
from ed_alerts.attendances.schemas import AttendanceDetail
from ed_alerts.audit.service import Actor
from ed_alerts.audit.views import get_access_reason, record_view
from ed_alerts.auth.policy import require
from ed_alerts.auth.principal import Principal
from ed_alerts.auth.roles import Role
from ed_alerts.auth.scopes import AttendanceRef, attendance_refusal, attendance_scope
from ed_alerts.deps import RowId, get_services
from ed_alerts.errors import NotFound
from ed_alerts.openapi import errors
from ed_alerts.services import Services

router = APIRouter(prefix="/api/attendances", tags=["attendances"])


@router.get("/{attendance_id}", responses=errors(404))
def get_attendance(attendance_id: RowId,
                   principal: Annotated[Principal, require(Role.ED_NURSE, Role.SAFEGUARDING_NURSE,
                                                           scope=attendance_scope())],
                   services: Annotated[Services, Depends(get_services)],
                   actor: Annotated[Actor, Depends(get_actor)],
                   reason: Annotated[str, Depends(get_access_reason)]) -> AttendanceDetail:
    with services.db.session() as session:
        detail = attendance_detail(session, attendance_id)
        if detail is None:
            raise NotFound(f"attendance {attendance_id} does not exist")
        record_view(session, actor, "attendance", attendance_id, patient_id=detail.patient.id, reason=reason)
    # The child's attendances elsewhere are shown only where the viewer's scope reaches; the
    # repeat-attendance flag still tells an ED nurse that there were others, and when.
    postcode = detail.patient.postcode
    visible = [a for a in detail.other_attendances if attendance_refusal(
        principal, AttendanceRef(a.site_code, a.trust, a.source_type, postcode), services.sites) is None]
    return detail.model_copy(update={"other_attendances": visible})
