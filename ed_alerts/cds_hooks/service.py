"""Answers one hook request: match the child, read their active flags, make the cards.

Two indexed queries in the common case: the NHS number (or our id) to the child, then the child's
attendances joined to their active flags.
"""

from __future__ import annotations

from ed_alerts.cds_hooks.cards import CardSet, cards_for
from ed_alerts.cds_hooks.hook_request import HookRequest
from ed_alerts.cds_hooks.patient_match import find_patient_id
from ed_alerts.cds_hooks.queries import active_flags_by_attendance
from ed_alerts.db.session import Database
from ed_alerts.sites.registry import SiteRegistry


def answer_hook(db: Database, sites: SiteRegistry, hook: HookRequest, base_url: str) -> CardSet:
    with db.session() as session:
        patient_id = find_patient_id(session, hook.context.patientId, hook.prefetch)
        flagged = active_flags_by_attendance(session, patient_id) if patient_id is not None else []
    return cards_for(flagged, sites, base_url)
