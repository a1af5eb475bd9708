"""What a CP-IS lookup means for us: the child's plans, nothing found, or could not tell (and why).

`CpisResult` carries no patient identifier: it can be stored, logged by its fields and compared
without care. `ChildProtectionLookup` is the port ed_alerts calls; `CpisClient` implements it over
HTTP and tests may pass any stand-in.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict


class PlanType(StrEnum):
    CHILD_PROTECTION_PLAN = "child_protection_plan"
    LOOKED_AFTER = "looked_after"
    UNBORN_CHILD_PROTECTION_PLAN = "unborn_child_protection_plan"
    # CP-IS holds only the three above; a category we do not recognise is still a CP-IS record,
    # kept (and flagged as "known to children's social care") rather than dropped.
    OTHER = "other"


PLAN_TITLES = {
    PlanType.CHILD_PROTECTION_PLAN: "Subject to a child protection plan",
    PlanType.LOOKED_AFTER: "Looked after child",
    PlanType.UNBORN_CHILD_PROTECTION_PLAN: "Unborn child subject to a child protection plan",
    PlanType.OTHER: "CP-IS record of an unrecognised type",
}


class CpisPlan(BaseModel):
    """One CareTeam of the answer: a plan, its dates and the responsible local authority."""

    model_config = ConfigDict(frozen=True)

    plan_type: PlanType
    code: str | None = None  # CareTeam.category as received
    system: str | None = None
    display: str | None = None
    start: date | None = None
    end: date | None = None  # CP-IS keeps plans for 12 months after they end
    status: str | None = None  # CareTeam.status
    local_authority: str | None = None  # CareTeam.name (else managingOrganization.display)
    local_authority_ods: str | None = None  # managingOrganization.identifier (ODS code)
    emergency_phone: str | None = None  # telecom use "mobile": the emergency duty team
    office_phone: str | None = None  # telecom use "work": office hours

    @property
    def title(self) -> str:
        return PLAN_TITLES[self.plan_type]

    def is_current(self, on: date) -> bool:
        """In force on `on`: started (or starting) and not yet ended. An unknown end is still open."""
        return self.end is None or self.end >= on


class CpisOutcome(StrEnum):
    FOUND = "found"  # one or more plans
    NOT_FOUND = "not_found"  # CP-IS answered, and holds nothing for this NHS number
    ERROR = "error"  # we could not tell: see cause (timeouts, refusals, unreadable answers)


class CpisResult(BaseModel):
    """One lookup attempt's answer. `cause` is a short token for logs and metrics ("ok",
    "read_timeout", "http_503", "invalid_search_data", ...); `reason` a sentence for the database."""

    model_config = ConfigDict(frozen=True)

    outcome: CpisOutcome
    cause: str
    plans: tuple[CpisPlan, ...] = ()
    http_status: int | None = None
    retryable: bool = False
    reason: str | None = None
    retry_after_s: float | None = None
    trace_id: str | None = None  # the TraceID sent: what CP-IS support asks for

    @property
    def answered(self) -> bool:
        """CP-IS said something definite (found or not found)."""
        return self.outcome is not CpisOutcome.ERROR

    @classmethod
    def found(cls, plans: list[CpisPlan] | tuple[CpisPlan, ...], **kw: Any) -> CpisResult:
        if not plans:
            return cls.not_found(**kw)
        return cls(outcome=CpisOutcome.FOUND, cause="ok", plans=tuple(plans), **kw)

    @classmethod
    def not_found(cls, **kw: Any) -> CpisResult:
        return cls(outcome=CpisOutcome.NOT_FOUND, cause="ok", **kw)

    @classmethod
    def error(cls, cause: str, reason: str, *, retryable: bool, **kw: Any) -> CpisResult:
        return cls(outcome=CpisOutcome.ERROR, cause=cause, reason=reason[:500], retryable=retryable, **kw)


class ChildProtectionLookup(Protocol):
    def lookup(self, nhs_number: str, *, correlation_id: str | None = None,
               unscheduled: bool = True) -> CpisResult:
        """One search by NHS number. Never raises for what CP-IS or the network does; raises
        ValueError for an NHS number that fails Modulus 11 (a caller's mistake)."""
        ...
