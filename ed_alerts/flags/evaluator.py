"""Evaluates the rule pack for a stored attendance and keeps its flags in step, idempotently.

Runs inside the ingest transaction (as a pipeline hook), so a message, its attendance, its flags and
the decisions they require are committed together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ed_alerts import domain
from ed_alerts.attendances.models import Attendance, AttendanceStatus
from ed_alerts.audit.service import Actor, record
from ed_alerts.db.base import utcnow
from ed_alerts.evaluation import EvaluationContext, FlagResult, RulePack, TextDetector, evaluate
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


def prior_attendance_counter(session: Session, att: Attendance, arrival: datetime):  # type: ignore[no-untyped-def]
    """Earlier attendances of the same child in a window, across every site and source.

    Uses the (patient_id, arrival_time) index: the cost does not grow with the size of the table.
    """

    def count(window: timedelta) -> int:
        return session.scalar(
            select(func.count()).select_from(Attendance).where(
                Attendance.patient_id == att.patient_id,
                Attendance.arrival_time >= arrival - window,
                Attendance.arrival_time < arrival,
                Attendance.id != att.id,
                Attendance.status != AttendanceStatus.CANCELLED,
            )
        ) or 0

    return count


@dataclass
class FlagEvaluator:
    pack: RulePack
    detector: TextDetector | None
    sites: SiteRegistry

    def context(self, session: Session, att: Attendance, patient: Patient) -> EvaluationContext:
        arrival = att.arrival_time or att.created_at or utcnow()
        site = self.sites.lookup(att.site_code)
        return EvaluationContext(
            patient=canonical_patient(patient), attendance=canonical_attendance(att), arrival=arrival,
            count_prior_attendances=prior_attendance_counter(session, att, arrival),
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
                           reason="attendance cancelled", details={"rule_id": flag.rule_id})
            session.flush()
            return []
        results = evaluate(self.pack, self.context(session, att, patient))
        flags = []
        for result in results:
            before = existing.get(result.rule_id)
            was = (before.status, before.reason, before.rule_version) if before is not None else None
            flag = self._upsert(session, att, before, result)
            session.flush()
            now = (flag.status, flag.reason, flag.rule_version)
            if was != now:
                record(session, INGEST, "flag.raised" if was is None else "flag.updated", "flag", flag.id,
                       patient_id=flag.patient_id, details={
                           "rule_id": result.rule_id, "rule_version": result.rule_version,
                           "attendance_id": att.id, "severity": result.severity.value})
            flags.append(flag)
        for flag, result in zip(flags, results, strict=True):
            if result.requires_decision:
                self._ensure_decision(session, flag, result)
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
    def _ensure_decision(session: Session, flag: Flag, result: FlagResult) -> None:
        if session.scalar(select(Decision.id).where(Decision.flag_id == flag.id)) is not None:
            return
        due = flag.raised_at + result.decision_due if result.decision_due else None
        session.add(Decision(flag_id=flag.id, attendance_id=flag.attendance_id,
                             status=DecisionStatus.PENDING, due_at=due))
