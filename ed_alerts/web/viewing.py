"""Auditing what pages show. A page about one child records `record.viewed` on every view (the
audit helper's `record_view`). A list that names children (the ED board, which refreshes itself
every few seconds) records one `record.viewed` per child per user per shift instead of one per
refresh: the first time a row is shown to that user, and again after `LIST_VIEW_WINDOW`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ed_alerts.audit.models import AuditEntry
from ed_alerts.audit.service import Actor
from ed_alerts.audit.views import record_view

LIST_VIEW_WINDOW = timedelta(hours=12)


def record_list_views(session: Session, actor: Actor, rows: Iterable[tuple[int, int]], *, reason: str,
                      now: datetime, window: timedelta = LIST_VIEW_WINDOW) -> int:
    """`rows` are (attendance id, patient id) shown to `actor`. Returns how many entries were written."""
    shown = {str(attendance_id): patient_id for attendance_id, patient_id in rows}
    if not shown:
        return 0
    already = set(session.scalars(select(AuditEntry.entity_id).where(
        AuditEntry.entity_type == "attendance", AuditEntry.entity_id.in_(list(shown)),
        AuditEntry.action == "record.viewed", AuditEntry.actor == actor.name, AuditEntry.at >= now - window)))
    written = 0
    for attendance_id, patient_id in shown.items():
        if attendance_id not in already:
            record_view(session, actor, "attendance", attendance_id, patient_id=patient_id, reason=reason)
            written += 1
    return written
