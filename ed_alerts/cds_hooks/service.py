"""Answers one hook request: match the child, read their active flags, make the cards.

Two indexed queries in the common case: the NHS number (or our id) to the child, then the child's
attendances joined to their active flags.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ed_alerts.audit.service import record
from ed_alerts.auth.principal import Principal
from ed_alerts.auth.scopes import AttendanceRef, attendance_refusal
from ed_alerts.cds_hooks.cards import CardSet, cards_for
from ed_alerts.cds_hooks.hook_request import HookRequest
from ed_alerts.cds_hooks.patient_match import find_patient_id
from ed_alerts.cds_hooks.queries import FlaggedAttendance, active_flags_by_attendance
from ed_alerts.db.session import Database
from ed_alerts.patients.models import Patient
from ed_alerts.sites.registry import SiteRegistry


def answer_hook(db: Database, sites: SiteRegistry, hook: HookRequest, base_url: str,
                principal: Principal) -> CardSet:
    """Cards for the attendances the caller may see; the view is audited once per child shown."""
    with db.session() as session:
        patient_id = find_patient_id(session, hook.context.patientId, hook.prefetch)
        flagged = active_flags_by_attendance(session, patient_id) if patient_id is not None else []
        flagged = [item for item in flagged if attendance_refusal(principal, _ref(item, session), sites) is None]
        cards = cards_for(flagged, sites, base_url)
        if cards.shown_flag_ids and patient_id is not None:
            record(session, principal.actor, "record.viewed", "cds_card", hook.hookInstance[:60],
                   patient_id=patient_id, reason=f"CDS Hooks {hook.hook}",
                   details={"flag_ids": list(cards.shown_flag_ids)})
    return cards


def _ref(item: FlaggedAttendance, session: Session) -> AttendanceRef:
    att = item.attendance
    patient = session.get(Patient, att.patient_id)
    return AttendanceRef(att.site_code, att.trust, att.source_type, patient.postcode if patient else None)
