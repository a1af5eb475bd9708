"""Evaluates the rule pack for a stored attendance and keeps its flags in step, idempotently.

Runs inside the ingest transaction (as a pipeline hook), so a message, its attendance, its flags and
the decisions they require are committed together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, case, func, insert, select
from sqlalchemy.orm import Session

from ed_alerts import domain
from ed_alerts.attendances.models import Attendance, AttendanceStatus
from ed_alerts.attendances.service import created_in_this_transaction
from ed_alerts.audit.service import Actor, Entry, record_many
from ed_alerts.db.base import UTCDateTime, utcnow
from ed_alerts.evaluation import EvaluationContext, FlagResult, RulePack, TextDetector, evaluate
from ed_alerts.evaluation.conditions import walk
from ed_alerts.evaluation.schema import PriorAttendances
from ed_alerts.flags.models import Decision, DecisionStatus, Flag, FlagStatus
from ed_alerts.flags.writes import write_new_flags
from ed_alerts.patients.models import Patient
from ed_alerts.sites.registry import SiteRegistry

INGEST = Actor.system("rules")


def canonical_patient(patient: Patient) -> domain.Patient:
    return domain.Patient(
        family_name=patient.family_name, given_names=(patient.given_names or "").split(),
        birth_date=patient.birth_date, sex=patient.sex,
        address=domain.Address(lines=patient.address_lines or [], city=patient.city,
                               postcode=patient.postcode),
    )


def canonical_attendance(att: Attendance) -> domain.Attendance:
    clinical: dict[str, Any] = att.clinical or {}
    return domain.Attendance(
        visit_number=att.visit_number, patient_class=att.patient_class, arrival_time=att.arrival_time,
        discharge_time=att.discharge_time, reason=att.reason, reason_code=clinical.get("reason_code"),
        diagnoses=clinical.get("diagnoses", []), observations=clinical.get("observations", []),
        notes=clinical.get("notes", []), conveyed_to_hospital=att.conveyed_to_hospital,
    )


_FLAGS_OF = select(Flag).where(Flag.attendance_id == bindparam("attendance_id"))  # built once


@lru_cache(maxsize=32)
def _count_statement(windows: tuple[timedelta, ...]) -> Select[Any]:
    """Earlier attendances in each window (one SUM each) over the widest; built once per set of
    windows, so an evaluation only binds values (building the expression costs more than the query).
    """
    since = [bindparam(f"since_{i}", type_=UTCDateTime()) for i in range(len(windows))]
    sums = [func.coalesce(func.sum(case((Attendance.arrival_time >= s, 1), else_=0)), 0) for s in since]
    return select(*sums).where(
        Attendance.patient_id == bindparam("patient_id"),
        Attendance.arrival_time >= since[-1],
        Attendance.arrival_time < bindparam("arrival", type_=UTCDateTime()),
        Attendance.id != bindparam("attendance_id"),
        Attendance.status != AttendanceStatus.CANCELLED,
    )


class PriorAttendanceCounter:
    """Earlier attendances of the same child in a window, across every site and source.

    The first call counts every window the pack asks about (`windows`) in one query, one SUM per
    window over the widest range; a window outside that list gets a query of its own. Uses the
    (patient_id, arrival_time) index: the cost does not grow with the size of the table.
    """

    def __init__(self, session: Session, att: Attendance, arrival: datetime,
                 windows: Sequence[timedelta] = ()) -> None:
        self._session, self._att, self._arrival = session, att, arrival
        self._windows = tuple(sorted(set(windows)))
        self._counts: dict[timedelta, int] | None = None
        self.queries = 0  # database round trips, for the benchmark

    def _count(self, windows: tuple[timedelta, ...]) -> dict[timedelta, int]:
        params: dict[str, Any] = {f"since_{i}": self._arrival - w for i, w in enumerate(windows)}
        params.update(patient_id=self._att.patient_id, arrival=self._arrival, attendance_id=self._att.id)
        # On the connection, past the ORM's execution machinery (a third of this query's cost): the
        # statement reads no mapped objects, and the attendance under evaluation was flushed by
        # apply_event before any hook runs.
        row = self._session.connection().execute(_count_statement(windows), params).one()
        self.queries += 1
        return {w: int(n) for w, n in zip(windows, row, strict=True)}

    def __call__(self, window: timedelta) -> int:
        if self._counts is None and window in self._windows:
            self._counts = self._count(self._windows)
        if self._counts is not None and window in self._counts:
            return self._counts[window]
        return self._count((window,))[window]


def prior_attendance_counter(session: Session, att: Attendance, arrival: datetime,
                             windows: Sequence[timedelta] = ()) -> PriorAttendanceCounter:
    return PriorAttendanceCounter(session, att, arrival, windows)


def prior_windows(pack: RulePack) -> tuple[timedelta, ...]:
    """Every repeat-attendance window the pack's rules ask about."""
    return tuple(sorted({node.within for rule in pack.rules for node in walk(rule.conditions)
                         if isinstance(node, PriorAttendances)}))


# Observations the message did not carry but another source vouches for, for one attendance (the
# child's CP-IS answer, for instance): (session, attendance, arrival) -> observations with an origin.
ObservationSource = Callable[[Session, Attendance, datetime], Sequence[domain.Observation]]


@dataclass
class FlagEvaluator:
    pack: RulePack
    detector: TextDetector | None
    sites: SiteRegistry
    observation_sources: list[ObservationSource] = field(default_factory=list)
    windows: tuple[timedelta, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        self.windows = prior_windows(self.pack)

    def read_texts(self, event: domain.InboundEvent) -> None:
        """Run the clinical NLP over the event's free text ahead of the evaluation, which then finds
        the results in the detector's cache (an IngestContext preparer, outside the transaction)."""
        if self.detector is None:
            return
        attendance = event.attendance
        for text in (attendance.reason or "", *(note.text for note in attendance.notes)):
            if text.strip():
                self.detector.detect(text)

    def context(self, session: Session, att: Attendance, patient: Patient) -> EvaluationContext:
        arrival = att.arrival_time or att.created_at or utcnow()
        site = self.sites.lookup(att.site_code)
        attendance = canonical_attendance(att)
        extra = [obs for source in self.observation_sources for obs in source(session, att, arrival)]
        if extra:
            # Added for this evaluation only: the stored attendance keeps what the messages said.
            attendance = attendance.model_copy(update={"observations": [*attendance.observations, *extra]})
        return EvaluationContext(
            patient=canonical_patient(patient), attendance=attendance, arrival=arrival,
            count_prior_attendances=prior_attendance_counter(session, att, arrival, self.windows),
            source_type=domain.SourceType(att.source_type), site_area=tuple(site.area) if site else (),
            text_detector=self.detector,
        )

    def __call__(self, session: Session, att: Attendance, patient: Patient,
                 _event: domain.InboundEvent | None = None) -> list[int]:
        """Evaluate the pack; raise, refresh or withdraw flags. Returns the ids of the flags raised
        or refreshed, in rule order."""
        # A registration inserted by this very transaction can have no flags yet: don't ask.
        existing = {} if created_in_this_transaction(session, att) else {
            f.rule_id: f for f in session.scalars(_FLAGS_OF, {"attendance_id": att.id})}
        if att.status == AttendanceStatus.CANCELLED:
            # A cancelled registration withdraws its flags; they stay, with what nurses recorded on them.
            withdrawn = [f for f in existing.values() if f.status != FlagStatus.WITHDRAWN]
            for flag in withdrawn:
                flag.status = FlagStatus.WITHDRAWN
            session.flush()
            record_many(session, [Entry(INGEST, "flag.withdrawn", "flag", f.id, patient_id=f.patient_id,
                                        reason="attendance cancelled", details={"rule_id": f.rule_id})
                                  for f in withdrawn])
            return []
        results = evaluate(self.pack, self.context(session, att, patient))
        if not results:
            return []
        now = utcnow()
        ids: dict[str, int] = {}
        audit: list[Entry] = []
        decisions: list[dict[str, Any]] = []
        # Which of the flags kept already have their decision: one query, not one per flag.
        asking = [existing[r.rule_id].id for r in results if r.requires_decision and r.rule_id in existing]
        decided = set(session.scalars(select(Decision.flag_id).where(Decision.flag_id.in_(asking))) if asking else ())
        for result in results:  # flags this attendance already has: refreshed in place
            before = existing.get(result.rule_id)
            if before is None:
                continue
            flag = before
            was = (flag.status, flag.reason, flag.rule_version)
            flag.patient_id = att.patient_id
            for name, value in self._rule_fields(result).items():
                setattr(flag, name, value)
            if was != (flag.status, flag.reason, flag.rule_version):
                audit.append(self._audit("flag.updated", flag.id, result, att))
            if result.requires_decision and flag.id not in decided:
                decisions.append(self._decision(flag.id, att.id, flag.raised_at, result, now))
            ids[result.rule_id] = flag.id
        if ids:
            session.flush()
            record_many(session, audit)
            if decisions:
                session.execute(insert(Decision), decisions)
        fresh = [r for r in results if r.rule_id not in existing]
        ids.update(write_new_flags(
            session, [self._new_row(att, r, now) for r in fresh],
            audit=lambda new: [self._audit("flag.raised", new[r.rule_id], r, att) for r in fresh],
            decisions=lambda new: [self._decision(new[r.rule_id], att.id, now, r, now)
                                   for r in fresh if r.requires_decision]))
        return [ids[r.rule_id] for r in results]

    @staticmethod
    def _rule_fields(result: FlagResult) -> dict[str, Any]:
        # Only what the rule decides; the nurse's fields on a flag are never refreshed.
        return dict(rule_version=str(result.rule_version), title=result.title, severity=result.severity.value,
                    status=FlagStatus.ACTIVE, uncertain=result.uncertain, reason=result.reason,
                    evidence=[e.model_dump(mode="json", exclude_none=True) for e in result.evidence],
                    requires_decision=result.requires_decision)

    def _new_row(self, att: Attendance, result: FlagResult, now: datetime) -> dict[str, Any]:
        return dict(attendance_id=att.id, patient_id=att.patient_id, rule_id=result.rule_id, raised_at=now,
                    updated_at=now, **self._rule_fields(result))

    @staticmethod
    def _audit(action: str, flag_id: int, result: FlagResult, att: Attendance) -> Entry:
        # A flag's patient is its attendance's (set on every evaluation).
        return Entry(INGEST, action, "flag", flag_id, patient_id=att.patient_id, details={
            "rule_id": result.rule_id, "rule_version": result.rule_version, "attendance_id": att.id,
            "severity": result.severity.value})

    @staticmethod
    def _decision(flag_id: int, attendance_id: int, raised_at: datetime, result: FlagResult,
                  now: datetime) -> dict[str, Any]:
        return dict(flag_id=flag_id, attendance_id=attendance_id, status=DecisionStatus.PENDING,
                    created_at=now, due_at=raised_at + result.decision_due if result.decision_due else None)
