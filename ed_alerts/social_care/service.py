"""Deciding to look a child up (in the ingest transaction), and reading answers back for evaluation.

`CpisTrigger` is an ingest AttendanceHook. For an attendance that is not cancelled, arrived recently,
of a child under 18 (or of unknown age) with a valid NHS number, and with no lookup yet, it writes a
pending `CpisLookup`; it never calls CP-IS itself, so the ACK never waits on it. One lookup per
attendance: each unscheduled attendance is one access event for the local authority.

`CpisObservations` is a FlagEvaluator observation source: the attendance's own answer, or else the
child's most recent answer within ED_ALERTS_CPIS_CACHE_HOURS before the arrival, as observations.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ed_alerts import domain
from ed_alerts.attendances.models import Attendance, AttendanceStatus
from ed_alerts.db.base import utcnow
from ed_alerts.evaluation.ages import age_in_years, arrival_date
from ed_alerts.patients.models import Patient, PatientIdentifier
from ed_alerts.settings import Settings
from ed_alerts.social_care.models import CpisLookup, LookupStatus
from ed_alerts.social_care.observations import plan_observations
from integrations.cpis.result import CpisPlan

log = logging.getLogger(__name__)

ADULT_AGE = 18


def latest_answer(session: Session, patient_id: int, around: datetime, cache: timedelta) -> CpisLookup | None:
    """The child's most recent answered lookup (any attendance, any site) answered within `cache` of
    `around` (an arrival), or None. Bounded on both sides: re-evaluating an old attendance must not
    borrow an answer given long after it.

    Joined through the attendance, so an A40 merge (which moves attendances) carries answers along.
    """
    return session.scalar(
        select(CpisLookup).join(Attendance, Attendance.id == CpisLookup.attendance_id)
        .where(Attendance.patient_id == patient_id, CpisLookup.status == LookupStatus.DONE,
               CpisLookup.answered_at >= around - cache, CpisLookup.answered_at <= around + cache)
        .order_by(CpisLookup.answered_at.desc(), CpisLookup.id.desc()).limit(1))


def answer_for(session: Session, att: Attendance, arrival: datetime, cache: timedelta) -> CpisLookup | None:
    """The answer that applies to this attendance: its own, else a recent one for the child."""
    own = session.scalar(select(CpisLookup).where(CpisLookup.attendance_id == att.id,
                                                  CpisLookup.status == LookupStatus.DONE))
    if own is not None:
        return own
    if cache <= timedelta(0):
        return None
    return latest_answer(session, att.patient_id, arrival, cache)


def _nhs_identifier(session: Session, patient: Patient, event: domain.InboundEvent
                    ) -> PatientIdentifier | None:
    """The stored NHS number to search: the one this message carries if valid, else one the child
    already holds. Only valid (Modulus 11) NHS numbers are ever stored, so an invalid one never gets here."""
    wanted = event.patient.nhs_number
    rows = list(session.scalars(select(PatientIdentifier).where(
        PatientIdentifier.patient_id == patient.id, PatientIdentifier.system == domain.NHS_NUMBER_SYSTEM)
        .order_by(PatientIdentifier.id)))
    if wanted is not None:
        return next((row for row in rows if row.value == wanted), None)
    return rows[0] if rows else None


class CpisTrigger:
    """AttendanceHook: queue one CP-IS lookup for an eligible attendance, in the ingest transaction."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def __call__(self, session: Session, att: Attendance, patient: Patient,
                 event: domain.InboundEvent) -> None:
        if event.kind is domain.EventKind.CANCEL or att.status == AttendanceStatus.CANCELLED:
            return
        if session.scalar(select(CpisLookup.id).where(CpisLookup.attendance_id == att.id)) is not None:
            return  # updates, discharges and resends of this attendance never ask again
        now = utcnow()
        arrival = att.arrival_time or now
        if arrival < now - timedelta(hours=self._settings.cpis_max_attendance_age_hours):
            return  # an old attendance (a backlog, a bulk load): an access event now would mislead
        age = age_in_years(patient.birth_date, arrival_date(arrival))
        if age is not None and age >= ADULT_AGE:
            return  # CP-IS holds children; an unknown age is asked, as the rules treat it as a child
        identifier = _nhs_identifier(session, patient, event)
        if identifier is None:
            return  # no valid NHS number: CP-IS can only be searched by one
        recent = None
        if not self._settings.cpis_requery_each_attendance:
            recent = latest_answer(session, patient.id, arrival,
                                   timedelta(hours=self._settings.cpis_cache_hours))
        lookup = CpisLookup(attendance_id=att.id, identifier_id=identifier.id, next_attempt_at=now,
                            created_at=now, access_event=True, plans=[], attempts=0)
        if recent is not None:
            # Configured not to ask again: no request, so no access event for this attendance.
            lookup.status = LookupStatus.SKIPPED
            lookup.access_event = False
            lookup.source_lookup_id = recent.id
            lookup.finished_at = now
        else:
            lookup.status = LookupStatus.PENDING
        session.add(lookup)
        session.flush()
        log.debug("CP-IS lookup %s %s for attendance %s", lookup.id, lookup.status, att.id)


class CpisObservations:
    """FlagEvaluator observation source: the CP-IS answer that applies to an attendance."""

    def __init__(self, settings: Settings) -> None:
        self._cache = timedelta(hours=settings.cpis_cache_hours)

    def __call__(self, session: Session, att: Attendance, arrival: datetime) -> list[domain.Observation]:
        answer = answer_for(session, att, arrival, self._cache)
        if answer is None or not answer.plans:
            return []
        plans = [CpisPlan.model_validate(p) for p in answer.plans]
        return plan_observations(plans, arrival_date(arrival))
