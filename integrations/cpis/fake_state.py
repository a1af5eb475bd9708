"""The fake CP-IS service's memory and behaviour, without HTTP: the children it holds, what it was
told to do (mode), and every search it received, with the headers that matter.

All children, numbers and authorities here are synthetic: NHS numbers from the 999 test range
(valid Modulus 11), telephone numbers from Ofcom's drama range, authorities that do not exist.
Thread-safe: the HTTP server answers on its own thread while a test reads and steers it.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

import nhs_number as nhs

from ..loopback.answer import Answer
from .codes import (
    ERROR_ACCESS_DENIED,
    ERROR_INVALID_SEARCH_DATA,
    ERROR_PRECONDITION_FAILED,
    NHS_NUMBER_SYSTEM,
    ODS_ORGANISATION_SYSTEM,
    SCT_CHILD_PROTECTION_PLAN,
    SCT_LOOKED_AFTER,
    SCT_UNBORN_CHILD_PROTECTION_PLAN,
    SNOMED,
    SPINE_ERROR_SYSTEM,
)
from .result import PlanType


class FakeMode(StrEnum):
    OK = "ok"  # answer every search
    SLOW = "slow"  # wait delay_s, then answer: longer than a client's timeout is "CP-IS is slow"
    FAIL = "fail"  # 503 to every search (an outage behind a live front door)
    DOWN = "down"  # not listening at all (the server manager closes the socket)


_SNOMED_FOR = {
    PlanType.CHILD_PROTECTION_PLAN: (SCT_CHILD_PROTECTION_PLAN, "Subject to child protection plan"),
    PlanType.LOOKED_AFTER: (SCT_LOOKED_AFTER, "Looked after child"),
    PlanType.UNBORN_CHILD_PROTECTION_PLAN: (SCT_UNBORN_CHILD_PROTECTION_PLAN,
                                            "Unborn child subject to child protection plan"),
}


def synthetic_nhs_number(n: int) -> str:
    """The n-th NHS number of the fake's block of the 999 test range (valid Modulus 11); n >= 0."""
    found = -1
    stem = 990_000
    while True:
        stem += 1
        body = f"999{stem:06d}"
        total = sum(int(d) * (10 - i) for i, d in enumerate(body))
        check = (11 - total % 11) % 11
        if check == 10:
            continue  # no valid number has this stem
        found += 1
        if found == n:
            number = body + str(check)
            assert nhs.is_valid(number)
            return number


@dataclass(frozen=True)
class FakeAuthority:
    name: str
    ods: str
    emergency_phone: str  # out of hours: the emergency duty team
    office_phone: str


@dataclass(frozen=True)
class FakePlan:
    plan_type: PlanType
    start: date
    end: date | None = None


@dataclass(frozen=True)
class FakeChild:
    nhs_number: str
    plans: tuple[FakePlan, ...]
    authority: FakeAuthority
    label: str = ""  # what this child is for, e.g. "on a child protection plan" (never a name)


@dataclass(frozen=True)
class FakeRequest:
    """One search as received. The NHS number is kept (synthetic data only) so tests can match."""

    at: datetime
    nhs_number: str | None
    access_event: str | None  # the IsUnscheduledAccessEvent header as sent, None when absent
    trace_id: str | None
    request_id: str | None
    correlation_id: str | None
    authorised: bool  # carried the configured bearer token (or none was required)
    asid: str | None
    ods_code: str | None
    status: int  # what it was answered

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return data


@dataclass
class FakeSettings:
    mode: FakeMode = FakeMode.OK
    delay_s: float = 10.0  # slow mode
    fail_next: int = 0  # answer the next N searches 503, whatever the mode
    retry_after_s: int | None = None  # Retry-After on 503s


EXAMPLESHIRE = FakeAuthority("Exampleshire County Council (fake)", "X9A", "01632 960001", "01632 960002")
TESTBOROUGH = FakeAuthority("Testborough Borough Council (fake)", "X9B", "01632 960101", "01632 960102")


def default_children(today: date | None = None) -> list[FakeChild]:
    """The children a new fake holds, with dates relative to `today` so that plans stay current."""
    today = today or datetime.now(UTC).date()

    def plan(kind: PlanType, started_days_ago: int, ends_in_days: int) -> FakePlan:
        return FakePlan(kind, today - timedelta(days=started_days_ago), today + timedelta(days=ends_in_days))

    cpp, lac, ucpp = (PlanType.CHILD_PROTECTION_PLAN, PlanType.LOOKED_AFTER,
                      PlanType.UNBORN_CHILD_PROTECTION_PLAN)
    return [
        FakeChild(synthetic_nhs_number(0), (plan(cpp, 120, 245),), EXAMPLESHIRE,
                  "on a child protection plan"),
        FakeChild(synthetic_nhs_number(1), (plan(lac, 400, 330),), TESTBOROUGH, "looked after"),
        FakeChild(synthetic_nhs_number(2), (plan(cpp, 500, -60),), EXAMPLESHIRE,
                  "child protection plan ended 60 days ago"),
        FakeChild(synthetic_nhs_number(3), (plan(ucpp, 30, 150),), EXAMPLESHIRE,
                  "unborn child protection plan (a pregnant young person)"),
        FakeChild(synthetic_nhs_number(4), (plan(cpp, 90, 275), plan(lac, 10, 355)), TESTBOROUGH,
                  "on a child protection plan and looked after"),
    ]


def operation_outcome(code: str, issue_type: str, text: str) -> dict[str, Any]:
    """A UKCore-style OperationOutcome with a Spine error code, as CP-IS answers errors."""
    return {"resourceType": "OperationOutcome", "id": str(uuid.uuid4()),
            "issue": [{"severity": "error", "code": issue_type, "diagnostics": text,
                       "details": {"coding": [{"system": SPINE_ERROR_SYSTEM, "code": code,
                                               "display": text}]}}]}


def care_team(child: FakeChild, plan: FakePlan, index: int) -> dict[str, Any]:
    code, display = _SNOMED_FOR.get(plan.plan_type, ("", plan.plan_type.value))
    team_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"fake-cpis/{child.nhs_number}/{index}"))
    period: dict[str, str] = {"start": plan.start.isoformat()}
    if plan.end is not None:
        period["end"] = plan.end.isoformat()
    authority = child.authority
    return {
        "resourceType": "CareTeam",
        "id": team_id,
        "status": "active" if plan.end is None or plan.end >= datetime.now(UTC).date() else "inactive",
        "category": [{"coding": [{"system": SNOMED, "code": code, "display": display}]}],
        "name": authority.name,
        "subject": {"identifier": {"system": NHS_NUMBER_SYSTEM, "value": child.nhs_number}},
        "period": period,
        "managingOrganization": [{"identifier": {"system": ODS_ORGANISATION_SYSTEM, "value": authority.ods},
                                  "display": authority.name}],
        "telecom": [{"system": "phone", "value": authority.emergency_phone, "use": "mobile"},
                    {"system": "phone", "value": authority.office_phone, "use": "work"}],
    }


def searchset(child: FakeChild | None, base_url: str, query: str) -> dict[str, Any]:
    teams = [care_team(child, plan, i) for i, plan in enumerate(child.plans)] if child is not None else []
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": datetime.now(UTC).isoformat(timespec="seconds")},
        "type": "searchset",
        "total": len(teams),
        "link": [{"relation": "self", "url": f"{base_url}/CareTeam?{query}"}],
    }
    if teams:
        bundle["entry"] = [{"fullUrl": f"{base_url}/CareTeam/{t['id']}", "resource": t,
                            "search": {"mode": "match"}} for t in teams]
    return bundle


class FakeCpisState:
    def __init__(self, *, token: str | None = None, settings: FakeSettings | None = None,
                 children: list[FakeChild] | None = None) -> None:
        self.token = token
        self.settings = settings or FakeSettings()
        self._initial = FakeSettings(**asdict(self.settings))
        self._lock = threading.Lock()
        self._children: dict[str, FakeChild] = {
            c.nhs_number: c for c in (default_children() if children is None else children)}
        self._requests: list[FakeRequest] = []

    # --- steering ------------------------------------------------------------------------------

    def configure(self, **changes: Any) -> FakeSettings:
        with self._lock:
            for name, value in changes.items():
                if not hasattr(self.settings, name):
                    raise ValueError(f"unknown fake CP-IS setting {name!r}")
                setattr(self.settings, name, FakeMode(value) if name == "mode" else value)
            return FakeSettings(**asdict(self.settings))

    def seed(self, child: FakeChild) -> None:
        """Hold (or replace) a child's record."""
        if not nhs.is_valid(child.nhs_number):
            raise ValueError("a seeded child needs a valid NHS number")
        with self._lock:
            self._children[child.nhs_number] = child

    def forget(self, nhs_number: str) -> None:
        with self._lock:
            self._children.pop(nhs_number, None)

    def reset(self, *, settings: bool = False) -> None:
        """Forget the searches received; with `settings`, also go back to the starting settings."""
        with self._lock:
            if settings:
                self.settings = FakeSettings(**asdict(self._initial))
            self._requests.clear()

    # --- introspection -------------------------------------------------------------------------

    def children(self) -> list[FakeChild]:
        with self._lock:
            return list(self._children.values())

    def requests(self) -> list[FakeRequest]:
        with self._lock:
            return list(self._requests)

    def access_events(self) -> list[FakeRequest]:
        """Searches CP-IS would record as unscheduled accesses (and tell the local authority about):
        answered 200 with the header "true" or absent (absent means unscheduled)."""
        return [r for r in self.requests()
                if r.status == 200 and (r.access_event is None or r.access_event.lower() == "true")]

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"received": len(self._requests), "requests": [r.summary() for r in self._requests],
                    "settings": {**asdict(self.settings), "mode": self.settings.mode.value},
                    "children": [{"nhs_number": c.nhs_number, "label": c.label}
                                 for c in self._children.values()]}

    # --- a search arrives ----------------------------------------------------------------------

    def search(self, identifier: str | None, headers: dict[str, str], base_url: str, query: str
               ) -> tuple[Answer, float]:
        """Decide the answer to GET /CareTeam and how long to stall before giving it."""
        with self._lock:
            authorised = self.token is None or headers.get("authorization") == f"Bearer {self.token}"
            number = _nhs_number_of(identifier)
            answer, delay = self._decide(identifier, number, headers, authorised, base_url, query)
            self._requests.append(FakeRequest(
                at=datetime.now(UTC), nhs_number=number, access_event=headers.get("isunscheduledaccessevent"),
                trace_id=headers.get("traceid"), request_id=headers.get("x-request-id"),
                correlation_id=headers.get("x-correlation-id"), authorised=authorised,
                asid=headers.get("nhsd-asid"), ods_code=headers.get("nhsd-end-user-organisation-ods"),
                status=answer.status))
            return answer, delay

    def _decide(self, identifier: str | None, number: str | None, headers: dict[str, str], authorised: bool,
                base_url: str, query: str) -> tuple[Answer, float]:
        if not authorised:
            return Answer(401, operation_outcome(ERROR_ACCESS_DENIED, "forbidden",
                                                 "Access has been denied to process this request")), 0.0
        settings = self.settings
        if settings.fail_next > 0 or settings.mode is FakeMode.FAIL:
            settings.fail_next = max(0, settings.fail_next - 1)
            extra = {} if settings.retry_after_s is None else {"Retry-After": str(settings.retry_after_s)}
            return Answer(503, operation_outcome("SERVICE_UNAVAILABLE", "transient",
                                                 "Service unavailable (fake outage)"), extra), 0.0
        event = headers.get("isunscheduledaccessevent")
        if event is not None and event.lower() not in ("true", "false"):
            return Answer(400, operation_outcome(ERROR_PRECONDITION_FAILED, "invalid",
                                                 "Missing or invalid head parameter")), 0.0
        if identifier is None or number is None:
            invalid = operation_outcome(ERROR_INVALID_SEARCH_DATA, "invalid", "Invalid NHS number")
            return Answer(400, invalid), 0.0
        delay = settings.delay_s if settings.mode is FakeMode.SLOW else 0.0
        return Answer(200, searchset(self._children.get(number), base_url, query)), delay


def _nhs_number_of(identifier: str | None) -> str | None:
    """The NHS number of "https://fhir.nhs.uk/Id/nhs-number|9990000018" if it is a valid one."""
    if not identifier or "|" not in identifier:
        return None
    system, _, value = identifier.partition("|")
    value = value.strip()
    if system != NHS_NUMBER_SYSTEM or not (len(value) == 10 and value.isdigit() and nhs.is_valid(value)):
        return None
    return value
