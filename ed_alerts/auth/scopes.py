"""Which attendances and feeds a principal may see: plain functions, usable by routes and services.

Rules (docs/auth.md):
- ed_nurse: attendances at their sites.
- safeguarding_nurse of trust T: attendances whose trust is T (its own sites; for an ambulance trust,
  all its incidents), plus ambulance attendances of children whose home postcode district lies in the
  area T's sites serve (the registry's `area`). An ambulance attendance without a usable postcode is
  seen by the ambulance trust's own safeguarding nurses only.
- icb_lead, integration, admin: no attendance at all.
- integration: ingest only for the site codes it is scoped to (none: any sender).

`can_see_attendance` decides one attendance; `visible_attendances` is the same rule as a SQL
condition over `Attendance` joined to `Patient`, for queues and lists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Request
from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select
from sqlalchemy.orm import Session

from ed_alerts.attendances.models import Attendance
from ed_alerts.auth.policy import Scope
from ed_alerts.auth.principal import Principal
from ed_alerts.db.ids import row_id
from ed_alerts.auth.roles import Role
from ed_alerts.domain import SourceType
from ed_alerts.evaluation.postcodes import in_area, outward_code
from ed_alerts.patients.models import Patient
from ed_alerts.sites.registry import SiteRegistry

if TYPE_CHECKING:
    from ed_alerts.services import Services

AMBULANCE = SourceType.AMBULANCE.value


@dataclass(frozen=True)
class AttendanceRef:
    """What the scope rules need to know about an attendance, and nothing more."""

    site_code: str
    trust: str
    source_type: str
    patient_postcode: str | None = None


def trust_area(sites: SiteRegistry, trust: str) -> list[str]:
    """The postcode districts (or areas) served by a trust's sites, from the registry."""
    area: list[str] = []
    for site in sites.sites:
        if site.trust.upper() == trust.upper():
            area.extend(d.strip().upper() for d in site.area if d.strip() and d.strip().upper() not in area)
    return area


def attendance_refusal(principal: Principal, att: AttendanceRef, sites: SiteRegistry) -> str | None:
    """None when the principal may see the attendance, otherwise the reason they may not."""
    if principal.role is Role.ED_NURSE:
        if principal.has_site(att.site_code):
            return None
        return f"this attendance is at site {att.site_code}; you are scoped to {', '.join(sorted(principal.sites))}"
    if principal.role is Role.SAFEGUARDING_NURSE and principal.trust:
        if att.trust.upper() == principal.trust.upper():
            return None
        if att.source_type == AMBULANCE:
            district = outward_code(att.patient_postcode)
            if district is not None and in_area(district, trust_area(sites, principal.trust)):
                return None
            return (f"this ambulance attendance is of trust {att.trust} and the child's home is not in "
                    f"the area of trust {principal.trust}")
        return f"this attendance is of trust {att.trust}; you are scoped to trust {principal.trust}"
    return f"a {principal.role.value} does not see individual attendances"


def can_see_attendance(principal: Principal, site_code: str, trust: str, source_type: str,
                       patient_postcode: str | None = None, *, sites: SiteRegistry) -> bool:
    ref = AttendanceRef(site_code=site_code, trust=trust, source_type=source_type,
                        patient_postcode=patient_postcode)
    return attendance_refusal(principal, ref, sites) is None


def attendance_ref(session: Session, attendance_id: int) -> AttendanceRef | None:
    row = session.execute(
        select(Attendance.site_code, Attendance.trust, Attendance.source_type, Patient.postcode)
        .join(Patient, Patient.id == Attendance.patient_id).where(Attendance.id == attendance_id)
    ).first()
    if row is None:
        return None
    return AttendanceRef(site_code=row[0], trust=row[1], source_type=row[2], patient_postcode=row[3])


def visible_attendances(principal: Principal, sites: SiteRegistry) -> ColumnElement[bool]:
    """The rule of `attendance_refusal` as a condition; the query must join `Patient`."""
    if principal.role is Role.ED_NURSE and principal.sites:
        return func.upper(Attendance.site_code).in_(sorted(principal.sites))
    if principal.role is Role.SAFEGUARDING_NURSE and principal.trust:
        own = func.upper(Attendance.trust) == principal.trust.upper()
        area = trust_area(sites, principal.trust)
        if not area:
            return own
        home = func.upper(func.replace(func.coalesce(Patient.postcode, ""), " ", ""))
        return or_(own, and_(Attendance.source_type == AMBULANCE, or_(*(_in_district(home, d) for d in area))))
    return false()


def _between(expr: ColumnElement[str], low: str, high: str) -> ColumnElement[bool]:
    return expr.between(low, high)


def _inward(home: ColumnElement[str]) -> ColumnElement[bool]:
    """The last three characters are an inward code: a digit and two letters (2AB)."""
    length = func.length(home)
    return and_(_between(func.substr(home, length - 2, 1), "0", "9"),
                _between(func.substr(home, length - 1, 1), "A", "Z"),
                _between(func.substr(home, length, 1), "A", "Z"))


def _in_district(home: ColumnElement[str], entry: str) -> ColumnElement[bool]:
    """A space-free upper-case postcode in an area entry, as `in_area(outward_code(...))` decides:
    a district (CB1) matches "CB1" + an inward code, or the bare district; a letters-only area (CB)
    matches any district of it (CB1, CB10, CB2A), with or without the inward code."""
    n = len(entry)
    if not entry.isalpha():
        return or_(home == entry, and_(func.length(home) == n + 3, home.like(entry + "___"), _inward(home)))
    district_digit = _between(func.substr(home, n + 1, 1), "0", "9")
    bare = and_(func.length(home).between(n + 1, n + 2), home.like(entry + "%"), district_digit)
    full = and_(func.length(home).between(n + 4, n + 5), home.like(entry + "%"), district_digit, _inward(home))
    return or_(bare, full)


def feed_refusal(principal: Principal, sender: str | None) -> str | None:
    """None when the principal may send messages as `sender` (MSH-4, or the FHIR source)."""
    if principal.role is not Role.INTEGRATION:
        return f"a {principal.role.value} does not send messages"
    if not principal.sites:
        return None
    allowed = ", ".join(sorted(principal.sites))
    if sender is None:
        return f"the message's sender could not be read; this credential may send only for {allowed}"
    if principal.has_site(sender):
        return None
    return f"this credential may send only for {allowed}, not for {sender}"


def visible_senders(principal: Principal) -> list[str] | None:
    """The senders whose message health a principal sees (None: all)."""
    return sorted(principal.sites) if principal.sites else None


# --- scopes for `require(..., scope=...)` --------------------------------------------------------

AttendanceResolver = Callable[[Session, str], "int | None"]


def _attendance_id(_: Session, value: str) -> int | None:
    # row_id, not str.isdigit: a number past a BIGINT would overflow the query ("²" passes isdigit).
    return row_id(value)


def attendance_of(id_column: Any, attendance_column: Any) -> AttendanceResolver:
    """A resolver for `attendance_scope`: the attendance of a row found by its id, for example
    `attendance_of(Referral.id, Referral.attendance_id)` or `attendance_of(Flag.id, Flag.attendance_id)`."""

    def resolve(session: Session, value: str) -> int | None:
        number = row_id(value)
        if number is None:
            return None
        found: int | None = session.scalar(select(attendance_column).where(id_column == number))
        return found

    return resolve


def attendance_scope(param: str = "attendance_id", resolve: AttendanceResolver | None = None) -> Scope:
    """The attendance named by a path parameter must be visible to the principal.

    `resolve` maps the parameter to an attendance id (for example a referral id to its attendance);
    when it finds nothing the check lets the route answer its own 404 or 422.
    """
    to_attendance = resolve or _attendance_id

    def check(principal: Principal, request: Request, services: Services) -> str | None:
        value = request.path_params.get(param)
        if value is None:
            raise RuntimeError(f"attendance_scope: the route has no path parameter {param!r}")
        with services.db.session() as session:
            attendance_id = to_attendance(session, str(value))
            ref = attendance_ref(session, attendance_id) if attendance_id is not None else None
        if ref is None:
            return None
        return attendance_refusal(principal, ref, services.sites)

    return Scope(name=f"attendance of {{{param}}}", check=check)


def can_see_patient(session: Session, principal: Principal, patient_id: int, sites: SiteRegistry) -> bool:
    """A child is visible to whoever may see at least one of the child's attendances."""
    visible = select(Attendance.id).join(Patient, Patient.id == Attendance.patient_id).where(
        Attendance.patient_id == patient_id, visible_attendances(principal, sites))
    return bool(session.scalar(select(exists(visible))))


def patient_scope(param: str = "patient_id") -> Scope:
    """The child named by a path parameter must have an attendance the principal may see.
    A child that does not exist passes, so that the route answers its own 404."""

    def check(principal: Principal, request: Request, services: Services) -> str | None:
        value = str(request.path_params.get(param, ""))
        number = row_id(value)
        if number is None:
            return None
        with services.db.session() as session:
            if session.get(Patient, number) is None or can_see_patient(session, principal, number,
                                                                         services.sites):
                return None
        return "none of this child's attendances is within your scope"

    return Scope(name=f"child of {{{param}}}", check=check)
