"""Evaluates the rule pack for a stored attendance and keeps its flags in step, idempotently.

Runs inside the ingest transaction (as a pipeline hook), so a message, its attendance, its flags and
the decisions they require are committed together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ed_alerts import domain
from ed_alerts.attendances.models import Attendance, AttendanceStatus
from ed_alerts.audit.service import Actor, record
from ed_alerts.db.base import utcnow
from ed_alerts.evaluation import EvaluationContext, FlagResult, RulePack, TextDetector, evaluate
from ed_alerts.evaluation.conditions import walk
from ed_alerts.evaluation.schema import PriorAttendances
from ed_alerts.flags.models import Decision, DecisionStatus, Flag, FlagStatus
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

    def _where(self, widest: timedelta) -> tuple[Any, ...]:
        return (Attendance.patient_id == self._att.patient_id,
                Attendance.arrival_time >= self._arrival - widest,
                Attendance.arrival_time < self._arrival,
                Attendance.id != self._att.id,
                Attendance.status != AttendanceStatus.CANCELLED)

    def __call__(self, window: timedelta) -> int:
        if self._counts is None and window in self._windows:
            sums = [func.coalesce(func.sum(case((Attendance.arrival_time >= self._arrival - w, 1), else_=0)), 0)
                    for w in self._windows]
            row = self._session.execute(select(*sums).where(*self._where(self._windows[-1]))).one()
            self.queries += 1
            self._counts = {w: int(n) for w, n in zip(self._windows, row, strict=True)}
        if self._counts is not None and window in self._counts:
            return self._counts[window]
        self.queries += 1
        return self._session.scalar(select(func.count()).select_from(Attendance).where(*self._where(window))) or 0


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
                 _event: domain.InboundEvent | None = None) -> list[Flag]:
        existing = {f.rule_id: f for f in session.scalars(select(Flag).where(Flag.attendance_id == att.id))}
        if att.status == AttendanceStatus.CANCELLED:
            # A cancelled registration withdraws its flags; they stay, with what nurses recorded on them.
            for flag in existing.values():
                if flag.status != FlagStatus.WITHDRAWN:
                    flag.status = FlagStatus.WITHDRAWN
                    record(session, INGEST, "flag.withdrawn", "flag", flag.id, patient_id=flag.patient_id,
                           reason="attendance cancelled", details={"rule_id": flag.rule_id}, flush=False)
            session.flush()
            return []
        results = evaluate(self.pack, self.context(session, att, patient))
        flags, before_states = [], []
        for result in results:
            before = existing.get(result.rule_id)
            before_states.append((before.status, before.reason, before.rule_version) if before is not None else None)
            flags.append(self._upsert(session, att, before, result))
        session.flush()  # new flags' ids for the audit, in one round of inserts
        for flag, result, was in zip(flags, results, before_states, strict=True):
            if was != (flag.status, flag.reason, flag.rule_version):
                record(session, INGEST, "flag.raised" if was is None else "flag.updated", "flag", flag.id,
                       patient_id=flag.patient_id, flush=False, details={
                           "rule_id": result.rule_id, "rule_version": result.rule_version,
                           "attendance_id": att.id, "severity": result.severity.value})
        for flag, result in zip(flags, results, strict=True):
            if result.requires_decision:
                self._ensure_decision(session, flag, result, new=result.rule_id not in existing)
        session.flush()
        return flags

    @staticmethod
    def _upsert(session: Session, att: Attendance, flag: Flag | None, result: FlagResult) -> Flag:
        if flag is None:
            flag = Flag(attendance_id=att.id, rule_id=result.rule_id, raised_at=utcnow())
            session.add(flag)
        # Only what the rule decides is refreshed; the nurse's fields on the flag are left alone.
        flag.patient_id = att.patient_id
        flag.rule_version = str(result.rule_version)
        flag.title = result.title
        flag.severity = result.severity.value
        flag.status = FlagStatus.ACTIVE
        flag.uncertain = result.uncertain
        flag.reason = result.reason
        flag.evidence = [e.model_dump(mode="json", exclude_none=True) for e in result.evidence]
        flag.requires_decision = result.requires_decision
        return flag

    @staticmethod
    def _ensure_decision(session: Session, flag: Flag, result: FlagResult, *, new: bool) -> None:
        # A flag raised just now has no decision yet: only an existing one needs looking up.
        if not new and session.scalar(select(Decision.id).where(Decision.flag_id == flag.id)) is not None:
            return
        due = flag.raised_at + result.decision_due if result.decision_due else None
        session.add(Decision(flag_id=flag.id, attendance_id=flag.attendance_id,
                             status=DecisionStatus.PENDING, due_at=due))
