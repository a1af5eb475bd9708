"""Aggregates for the ICB lead: referral timeliness and completeness by site, source and month,
flag volumes by rule, median times between steps, and what is overdue now.

Privacy by construction: every query here selects codes, states, flags and times only, never a
name, NHS number, date of birth, address or free-text column (the child's words are reduced to
"recorded or not" in SQL). So nothing that identifies a child can reach a page or an export through
this module. Small numbers are suppressed afterwards (suppression.py), before anything is shown.

Grouping: everything about an attendance (its flags, their decisions, its referral) counts in the
month, site and source of the attendance's arrival, in the display time zone.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from statistics import median
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ed_alerts.attendances.models import Attendance, AttendanceStatus
from ed_alerts.flags.models import Decision, DecisionStatus, Flag, FlagStatus
from ed_alerts.referrals.due import decision_due
from ed_alerts.referrals.models import DeliveryStatus, Referral
from ed_alerts.referrals.transitions import ReferralState
from ed_alerts.settings import Settings

# The steps a referral goes through, in order, with the label the dashboard shows.
STEPS: dict[str, str] = {
    "arrival_to_decision": "Arrival to referral decision",
    "decision_to_sent": "Decision to referral sent",
    "sent_to_delivered": "Sent to acknowledged by the local authority",
    "delivered_to_audited": "Acknowledged to audited as sent",
}
_SENT_STATES = {ReferralState.SENT.value, ReferralState.AUDITED.value, ReferralState.FAILED.value}
_WAITING_STATES = (ReferralState.REQUIRED.value, ReferralState.DRAFTED.value)


@dataclass(frozen=True)
class Period:
    """Whole months, from `first` to `last` inclusive (each the first day of its month)."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.first.day != 1 or self.last.day != 1:
            raise ValueError("a period runs from the first day of a month to the first day of a month")
        if self.last < self.first:
            raise ValueError("the period ends before it starts")

    @classmethod
    def last_months(cls, count: int, today: date) -> Period:
        last = today.replace(day=1)
        return cls(add_months(last, -(count - 1)), last)

    def months(self) -> list[date]:
        out, month = [], self.first
        while month <= self.last:
            out.append(month)
            month = add_months(month, 1)
        return out

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) in UTC: midnight of the first day to midnight after the last month, local time."""
        start = datetime(self.first.year, self.first.month, 1, tzinfo=zone)
        end_month = add_months(self.last, 1)
        end = datetime(end_month.year, end_month.month, 1, tzinfo=zone)
        return start.astimezone(UTC), end.astimezone(UTC)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


@dataclass
class Tally:
    """Counts for one group (a site, a source, a month, or everything)."""

    flags: int = 0
    decisions: int = 0  # referral decisions the flags required
    decided: int = 0
    decided_on_time: int = 0
    words_recorded: int = 0  # decided with the child's own words recorded
    not_referred: int = 0
    not_referred_reviewed: int = 0
    referrals: int = 0
    referrals_due: int = 0  # sent, or past their due time (closed as not required: neither)
    sent_on_time: int = 0
    sent: int = 0
    delivered: int = 0
    audited: int = 0
    hours: dict[str, list[float]] = field(default_factory=lambda: {step: [] for step in STEPS})

    def median_hours(self, step: str) -> float | None:
        values = self.hours[step]
        return median(values) if values else None


@dataclass
class Overdue:
    decisions: int = 0  # pending past their due time
    referrals: int = 0  # required or drafted past their due time
    failed: int = 0  # delivery failed: waiting for someone to resend or correct

    @property
    def total(self) -> int:
        return self.decisions + self.referrals + self.failed


@dataclass
class Metrics:
    period: Period
    generated_at: datetime
    total: Tally
    by_site: dict[str, Tally]
    by_source: dict[str, Tally]
    by_month: dict[date, Tally]
    flags_by_rule: dict[str, int]
    overdue_by_site: dict[str, Overdue]

    @property
    def overdue_total(self) -> Overdue:
        out = Overdue()
        for o in self.overdue_by_site.values():
            out.decisions += o.decisions
            out.referrals += o.referrals
            out.failed += o.failed
        return out


@dataclass(frozen=True)
class _Where:
    site: str
    source: str
    month: date


def _hours(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return max(0.0, (later - earlier).total_seconds() / 3600)


def compute(session: Session, settings: Settings, period: Period, now: datetime) -> Metrics:
    zone = ZoneInfo(settings.display_timezone)
    start, end = period.bounds(zone)
    arrived = func.coalesce(Attendance.arrival_time, Attendance.created_at)
    in_period = (arrived >= start, arrived < end, Attendance.status != AttendanceStatus.CANCELLED)

    total = Tally()
    groups: dict[str, dict] = {"site": defaultdict(Tally), "source": defaultdict(Tally),
                               "month": {m: Tally() for m in period.months()}}

    def tallies(where: _Where) -> list[Tally]:
        found = [total, groups["site"][where.site], groups["source"][where.source]]
        month = groups["month"].get(where.month)
        return found + ([month] if month is not None else [])

    def where_of(site: str, source: str, arrival: datetime) -> _Where:
        local = arrival.astimezone(zone)
        return _Where(site=site, source=source, month=date(local.year, local.month, 1))

    flags_by_rule: dict[str, int] = defaultdict(int)
    for rule_id, site, source, arrival in session.execute(
            select(Flag.rule_id, Attendance.site_code, Attendance.source_type, arrived)
            .join(Attendance, Attendance.id == Flag.attendance_id)
            .where(Flag.status == FlagStatus.ACTIVE, *in_period)):
        flags_by_rule[rule_id] += 1
        for t in tallies(where_of(site, source, arrival)):
            t.flags += 1

    for (status, due_at, decided_at, words, reviewed_at, severity, raised_at, site, source,
         arrival) in session.execute(
            select(Decision.status, Decision.due_at, Decision.decided_at, Decision.child_words.is_not(None),
                   Decision.reviewed_at, Flag.severity, Flag.raised_at, Attendance.site_code,
                   Attendance.source_type, arrived)
            .join(Flag, Flag.id == Decision.flag_id).join(Attendance, Attendance.id == Decision.attendance_id)
            .where(Flag.status == FlagStatus.ACTIVE, *in_period)):
        due = decision_due(settings, severity, raised_at, due_at)
        decided = status != DecisionStatus.PENDING and decided_at is not None
        to_decision = _hours(decided_at, arrival) if decided else None
        for t in tallies(where_of(site, source, arrival)):
            t.decisions += 1
            if decided and decided_at is not None:
                t.decided += 1
                t.decided_on_time += decided_at <= due
                t.words_recorded += bool(words)
                if to_decision is not None:
                    t.hours["arrival_to_decision"].append(to_decision)
            if status == DecisionStatus.NOT_REFER:
                t.not_referred += 1
                t.not_referred_reviewed += reviewed_at is not None

    for (state, due_at, created_at, sent_at, delivery, delivered_at, audited_at, site, source,
         arrival) in session.execute(
            select(Referral.state, Referral.due_at, Referral.created_at, Referral.sent_at,
                   Referral.delivery_status, Referral.delivered_at, Referral.audited_at,
                   Attendance.site_code, Attendance.source_type, arrived)
            .join(Attendance, Attendance.id == Referral.attendance_id).where(*in_period)):
        was_sent = sent_at is not None and state in _SENT_STATES
        due_passed = due_at is not None and due_at <= now
        counts_as_due = state != ReferralState.NOT_REQUIRED and (was_sent or due_passed)
        on_time = was_sent and due_at is not None and sent_at is not None and sent_at <= due_at
        delivered = delivery == DeliveryStatus.DELIVERED and delivered_at is not None
        audited = state == ReferralState.AUDITED and audited_at is not None
        steps = {
            "decision_to_sent": _hours(sent_at, created_at) if was_sent else None,
            "sent_to_delivered": _hours(delivered_at, sent_at) if delivered else None,
            "delivered_to_audited": _hours(audited_at, delivered_at) if audited and delivered else None,
        }
        for t in tallies(where_of(site, source, arrival)):
            t.referrals += 1
            t.referrals_due += counts_as_due
            t.sent += was_sent
            t.sent_on_time += on_time
            t.delivered += delivered
            t.audited += audited
            for step, value in steps.items():
                if value is not None:
                    t.hours[step].append(value)

    return Metrics(period=period, generated_at=now, total=total, by_site=dict(groups["site"]),
                   by_source=dict(groups["source"]), by_month=groups["month"],
                   flags_by_rule=dict(flags_by_rule), overdue_by_site=overdue_now(session, settings, now))


def overdue_now(session: Session, settings: Settings, now: datetime) -> dict[str, Overdue]:
    """What is late at this moment, by site, whatever month it began in."""
    out: dict[str, Overdue] = defaultdict(Overdue)
    rows = session.execute(
        select(Attendance.site_code, Flag.severity, Flag.raised_at, Decision.due_at)
        .join(Flag, Flag.id == Decision.flag_id).join(Attendance, Attendance.id == Decision.attendance_id)
        .where(Decision.status == DecisionStatus.PENDING, Flag.status == FlagStatus.ACTIVE,
               Attendance.status != AttendanceStatus.CANCELLED))
    for site, severity, raised_at, due_at in rows:
        if decision_due(settings, severity, raised_at, due_at) <= now:
            out[site].decisions += 1
    for site, state, due_at in session.execute(
            select(Referral.site_code, Referral.state, Referral.due_at)
            .where(Referral.state.in_([*_WAITING_STATES, ReferralState.FAILED.value]))):
        if state == ReferralState.FAILED:
            out[site].failed += 1
        elif due_at is not None and due_at <= now:
            out[site].referrals += 1
    return dict(out)


def default_period(settings: Settings, now: datetime, months: int = 12) -> Period:
    today = now.astimezone(ZoneInfo(settings.display_timezone)).date()
    return Period.last_months(months, today)


def parse_month(value: str | None) -> date | None:
    """"2026-03" to the first of that month; None for blank or malformed input."""
    if not value:
        return None
    try:
        year, month = (int(part) for part in value.strip().split("-", 1))
        return date(year, month, 1)
    except ValueError:
        return None


__all__ = ["STEPS", "Metrics", "Overdue", "Period", "Tally", "add_months", "compute", "default_period",
           "overdue_now", "parse_month"]
