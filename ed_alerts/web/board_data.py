"""The ED board's rows: the active attendances a nurse may see, flagged children first.

Recent means arrived within `ED_ALERTS_BOARD_HOURS` (24 by default) and still active (not discharged
or cancelled). Flagged rows come first, most severe first, then the newest.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ed_alerts.attendances.models import Attendance, AttendanceStatus
from ed_alerts.auth.principal import Principal
from ed_alerts.auth.scopes import visible_attendances
from ed_alerts.flags.models import Decision, DecisionStatus, Flag, FlagStatus
from ed_alerts.patients.models import Patient
from ed_alerts.referrals.due import SEVERITY_ORDER, decision_due
from ed_alerts.referrals.models import Referral
from ed_alerts.settings import Settings
from ed_alerts.sites.registry import SiteRegistry

MAX_ROWS = 300


@dataclass(frozen=True)
class BoardFlag:
    title: str
    severity: str
    reason: str
    uncertain: bool


@dataclass
class BoardRow:
    attendance_id: int
    patient_id: int
    site_code: str
    arrival: datetime | None
    child_name: str
    birth_date: date | None
    sex: str | None
    complaint: str | None
    flags: list[BoardFlag] = field(default_factory=list)
    decisions_pending: int = 0
    decision_overdue: bool = False
    next_due: datetime | None = None
    referral_state: str | None = None

    @property
    def flagged(self) -> bool:
        return bool(self.flags)

    @property
    def worst(self) -> str | None:
        return self.flags[0].severity if self.flags else None

    @property
    def sort_key(self) -> tuple[object, ...]:
        arrival = self.arrival.timestamp() if self.arrival else 0.0
        return (not self.flagged, SEVERITY_ORDER.get(self.worst or "", 9), not self.decision_overdue, -arrival)


def child_name(family: str | None, given: str | None) -> str:
    family = (family or "").strip().upper()
    given = (given or "").strip()
    if family and given:
        return f"{family}, {given}"
    return family or given or "Name not given"


def board_rows(session: Session, principal: Principal, sites: SiteRegistry, settings: Settings,
               now: datetime) -> list[BoardRow]:
    since = now - timedelta(hours=settings.board_hours)
    arrived = func.coalesce(Attendance.arrival_time, Attendance.created_at)
    result = session.execute(
        select(Attendance.id, Attendance.patient_id, Attendance.site_code, arrived, Attendance.reason,
               Patient.family_name, Patient.given_names, Patient.birth_date, Patient.sex)
        .join(Patient, Patient.id == Attendance.patient_id)
        .where(visible_attendances(principal, sites), Attendance.status == AttendanceStatus.ACTIVE,
               arrived >= since)
        .order_by(arrived.desc()).limit(MAX_ROWS)).all()
    rows = {r[0]: BoardRow(attendance_id=r[0], patient_id=r[1], site_code=r[2], arrival=r[3], complaint=r[4],
                           child_name=child_name(r[5], r[6]), birth_date=r[7], sex=r[8]) for r in result}
    if not rows:
        return []
    flags: dict[int, list[BoardFlag]] = defaultdict(list)
    for attendance_id, title, severity, reason, uncertain in session.execute(
            select(Flag.attendance_id, Flag.title, Flag.severity, Flag.reason, Flag.uncertain)
            .where(Flag.attendance_id.in_(list(rows)), Flag.status == FlagStatus.ACTIVE)):
        flags[attendance_id].append(BoardFlag(title, severity, reason, uncertain))
    for attendance_id, found in flags.items():
        rows[attendance_id].flags = sorted(found, key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.title))
    for attendance_id, severity, raised_at, due_at in session.execute(
            select(Decision.attendance_id, Flag.severity, Flag.raised_at, Decision.due_at)
            .join(Flag, Flag.id == Decision.flag_id)
            .where(Decision.attendance_id.in_(list(rows)), Decision.status == DecisionStatus.PENDING,
                   Flag.status == FlagStatus.ACTIVE)):
        row = rows[attendance_id]
        due = decision_due(settings, severity, raised_at, due_at)
        row.decisions_pending += 1
        row.decision_overdue = row.decision_overdue or due <= now
        row.next_due = due if row.next_due is None else min(row.next_due, due)
    for attendance_id, state in session.execute(
            select(Referral.attendance_id, Referral.state).where(Referral.attendance_id.in_(list(rows)))):
        rows[attendance_id].referral_state = state
    return sorted(rows.values(), key=lambda r: r.sort_key)
