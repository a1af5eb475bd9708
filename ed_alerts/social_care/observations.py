"""CP-IS plans as the observations the `known_to_social_care` rule reads.

The rule fires on a Y answer to a question in rules/valuesets/social-care-questions.yaml. A plan in
force on the attendance date becomes CP_PLAN (also for an unborn child's plan: a pregnant young
person) or LOOKED_AFTER; a plan that has ended (CP-IS keeps them for a year) becomes KNOWN_TO_CSC; a
record of a type we do not recognise becomes CPIS_ALERT, so that nothing CP-IS holds is dropped.
Each carries origin "CP-IS" and says, in its display, the plan, its dates and who to call.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from ed_alerts import domain
from integrations.cpis.result import CpisPlan, PlanType

CPIS_ORIGIN = "CP-IS"

_CURRENT_CODE = {
    PlanType.CHILD_PROTECTION_PLAN: "CP_PLAN",
    PlanType.UNBORN_CHILD_PROTECTION_PLAN: "CP_PLAN",
    PlanType.LOOKED_AFTER: "LOOKED_AFTER",
    PlanType.OTHER: "CPIS_ALERT",
}
ENDED_CODE = "KNOWN_TO_CSC"


def _contact(plan: CpisPlan) -> str:
    parts = [plan.local_authority or "local authority not given"]
    if plan.emergency_phone:
        parts.append(f"emergency duty {plan.emergency_phone}")
    if plan.office_phone:
        parts.append(f"office hours {plan.office_phone}")
    return ", ".join(parts)


def _title(plan: CpisPlan) -> str:
    if plan.plan_type is PlanType.OTHER and (plan.display or plan.code):
        return f"{plan.title}: {plan.display or plan.code}"
    return plan.title


def plan_observation(plan: CpisPlan, on: date) -> domain.Observation:
    if plan.is_current(on):
        code = _CURRENT_CODE[plan.plan_type]
        since = f"from {plan.start.isoformat()}" if plan.start else "start date not given"
        until = f" to {plan.end.isoformat()}" if plan.end else ""
        display = f"{_title(plan)} ({since}{until}; {_contact(plan)})"
    else:
        code = ENDED_CODE
        assert plan.end is not None  # is_current is only false for a plan with an end date
        display = f"{_title(plan)}, ended {plan.end.isoformat()} ({_contact(plan)})"
    return domain.Observation(
        code=domain.Coding(system=domain.CodeSystem.LOCAL, code=code, display=display),
        value_type="text", value_text="Y", origin=CPIS_ORIGIN)


def plan_observations(plans: Iterable[CpisPlan], on: date) -> list[domain.Observation]:
    """One observation per plan, current plans first (they lead the flag's reason)."""
    ordered = sorted(plans, key=lambda p: (not p.is_current(on), p.plan_type.value))
    return [plan_observation(plan, on) for plan in ordered]
