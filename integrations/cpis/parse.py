"""Reading CP-IS answers: a searchset Bundle of CareTeam resources into `CpisPlan`s, and the Spine
error code of an OperationOutcome.

Validated with the fhir.resources R4B models. The parser is strict where meaning would be lost: a
Bundle that claims results but carries no CareTeam, or a CareTeam about a different NHS number, is
an error, never "nothing found". Error messages name elements and codes, never values (an answer
names a child).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careteam import CareTeam
from pydantic import ValidationError

from .codes import (
    LEGACY_CHILD_PROTECTION_PLAN,
    LEGACY_LOOKED_AFTER,
    LEGACY_UNBORN_CHILD_PROTECTION_PLAN,
    NHS_NUMBER_SYSTEM,
    ODS_ORGANISATION_SYSTEM,
    SCT_CHILD_PROTECTION_PLAN,
    SCT_LOOKED_AFTER,
    SCT_UNBORN_CHILD_PROTECTION_PLAN,
    SNOMED,
)
from .result import CpisPlan, PlanType

_SNOMED_TYPES = {
    SCT_CHILD_PROTECTION_PLAN: PlanType.CHILD_PROTECTION_PLAN,
    SCT_LOOKED_AFTER: PlanType.LOOKED_AFTER,
    SCT_UNBORN_CHILD_PROTECTION_PLAN: PlanType.UNBORN_CHILD_PROTECTION_PLAN,
}
_LEGACY_TYPES = {
    LEGACY_CHILD_PROTECTION_PLAN: PlanType.CHILD_PROTECTION_PLAN,
    LEGACY_LOOKED_AFTER: PlanType.LOOKED_AFTER,
    LEGACY_UNBORN_CHILD_PROTECTION_PLAN: PlanType.UNBORN_CHILD_PROTECTION_PLAN,
}


class CpisAnswerError(Exception):
    """An answer we cannot read safely. `cause` is a short token; the message names no values."""

    def __init__(self, cause: str, reason: str) -> None:
        super().__init__(reason)
        self.cause = cause
        self.reason = reason


def operation_outcome_code(data: Any) -> tuple[str | None, str | None]:
    """(Spine error code, readable text) of the first error issue of an OperationOutcome, if any."""
    if not isinstance(data, dict) or data.get("resourceType") != "OperationOutcome":
        return None, None
    for issue in data.get("issue") or []:
        if not isinstance(issue, dict) or issue.get("severity") not in ("error", "fatal", None):
            continue
        raw_details = issue.get("details")
        details: dict[str, Any] = raw_details if isinstance(raw_details, dict) else {}
        codings = [c for c in details.get("coding") or [] if isinstance(c, dict)]
        code = next((str(c["code"]) for c in codings if c.get("code")), None)
        display = next((str(c["display"]) for c in codings if c.get("display")), None)
        text = issue.get("diagnostics") or details.get("text") or display or issue.get("code")
        return code, str(text)[:300] if text else None
    return None, None


def parse_search_bundle(data: Any, nhs_number: str) -> list[CpisPlan]:
    """The plans in a CareTeam searchset Bundle for `nhs_number`; [] when CP-IS holds nothing."""
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        kind = data.get("resourceType") if isinstance(data, dict) else type(data).__name__
        raise CpisAnswerError("invalid_response", f"expected a searchset Bundle, got {kind!s:.40}")
    if data.get("type") != "searchset":
        raise CpisAnswerError("invalid_response", "expected Bundle.type searchset")
    try:
        bundle = Bundle.model_validate(data)
    except ValidationError as exc:
        where = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})[:5]
        raise CpisAnswerError("invalid_response",
                              f"not a valid FHIR R4 Bundle at: {', '.join(where)}") from None
    included = _index(bundle)
    plans: list[CpisPlan] = []
    care_teams = 0
    for entry in bundle.entry or []:
        resource = entry.resource
        kind = resource.get_resource_type() if resource is not None else None
        if kind == "OperationOutcome" and _is_error_outcome(resource):
            raise CpisAnswerError("operation_outcome", "the Bundle carries an error OperationOutcome")
        if kind != "CareTeam":
            continue
        care_teams += 1
        assert isinstance(resource, CareTeam)
        if resource.status == "entered-in-error":
            continue
        _check_subject(resource, included, nhs_number)
        plans.extend(_plans(resource, included))
    if care_teams == 0 and (bundle.total or 0) > 0:
        # Claims results but shows none: saying "not known to CP-IS" here could hide a plan.
        raise CpisAnswerError("invalid_response", "Bundle.total is above zero but no CareTeam was returned")
    return plans


def _index(bundle: Bundle) -> dict[str, Any]:
    """Resources in the Bundle by fullUrl and by Type/id, to resolve references."""
    index: dict[str, Any] = {}
    for entry in bundle.entry or []:
        resource = entry.resource
        if resource is None:
            continue
        if entry.fullUrl:
            index[str(entry.fullUrl)] = resource
        if getattr(resource, "id", None):
            index[f"{resource.get_resource_type()}/{resource.id}"] = resource
    return index


def _resolve(reference: Any, included: dict[str, Any]) -> Any:
    ref = getattr(reference, "reference", None)
    if not ref:
        return None
    ref = str(ref)
    return included.get(ref) or next((r for key, r in included.items() if key.endswith("/" + ref)), None)


def _is_error_outcome(outcome: Any) -> bool:
    return any(issue.severity in ("error", "fatal") for issue in outcome.issue or [])


def _nhs_numbers(identifiers: Any) -> list[str]:
    return [str(i.value).replace(" ", "") for i in identifiers or []
            if i.system == NHS_NUMBER_SYSTEM and i.value]


def _check_subject(team: CareTeam, included: dict[str, Any], nhs_number: str) -> None:
    subject = team.subject
    if subject is None:
        return  # the search was for this child; CP-IS may leave the subject out
    numbers = _nhs_numbers([subject.identifier] if subject.identifier is not None else [])
    patient = _resolve(subject, included)
    if patient is not None and patient.get_resource_type() == "Patient":
        numbers += _nhs_numbers(patient.identifier)
    if numbers and nhs_number not in numbers:
        # Never attach one child's plan to another: refuse the whole answer.
        raise CpisAnswerError("subject_mismatch", "a CareTeam in the answer is about a different NHS number")


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None


def _plan_types(team: CareTeam) -> list[tuple[PlanType, str | None, str | None, str | None]]:
    found: list[tuple[PlanType, str | None, str | None, str | None]] = []
    first: tuple[str | None, str | None, str | None] | None = None
    for concept in team.category or []:
        for coding in concept.coding or []:
            code = str(coding.code).strip() if coding.code else None
            system = str(coding.system) if coding.system else None
            display = coding.display or concept.text
            if first is None:
                first = (code, system, display)
            kind = _SNOMED_TYPES.get(code or "") if system in (SNOMED, None) else None
            kind = kind or _LEGACY_TYPES.get((code or "").upper())
            if kind is not None and all(kind is not f[0] for f in found):
                found.append((kind, code, system, display))
        if not concept.coding and concept.text and first is None:
            first = (None, None, concept.text)
    if not found:
        code, system, display = first or (None, None, None)
        found.append((PlanType.OTHER, code, system, display))
    return found


def _phones(team: CareTeam, organisation: Any) -> tuple[str | None, str | None]:
    emergency = office = None
    points = list(team.telecom or [])
    if organisation is not None:
        points += list(getattr(organisation, "telecom", None) or [])
        for contact in getattr(organisation, "contact", None) or []:
            purposes = {c.code for c in (contact.purpose.coding or [])} if contact.purpose else set()
            for point in contact.telecom or []:
                if point.system in (None, "phone") and point.value:
                    if "EC" in purposes and emergency is None:
                        emergency = point.value
                    elif office is None:
                        office = point.value
    for point in points:
        if point.system not in (None, "phone") or not point.value:
            continue
        if point.use == "mobile" and emergency is None:
            emergency = point.value  # the CP-IS mapping: emergency duty number as use "mobile"
        elif point.use in ("work", None) and office is None:
            office = point.value
    return emergency, office


def _plans(team: CareTeam, included: dict[str, Any]) -> list[CpisPlan]:
    managing = team.managingOrganization[0] if team.managingOrganization else None
    organisation = _resolve(managing, included) if managing is not None else None
    if organisation is not None and organisation.get_resource_type() != "Organization":
        organisation = None
    ods = None
    if managing is not None and managing.identifier is not None and managing.identifier.value:
        ods = managing.identifier.value
    elif organisation is not None:
        ods = next((i.value for i in organisation.identifier or []
                    if i.system == ODS_ORGANISATION_SYSTEM and i.value), None)
    name = team.name or (managing.display if managing is not None else None) or (
        organisation.name if organisation is not None else None)
    emergency, office = _phones(team, organisation)
    period = team.period
    start = _as_date(period.start) if period is not None else None
    end = _as_date(period.end) if period is not None else None
    return [
        CpisPlan(plan_type=kind, code=code, system=system, display=display, start=start, end=end,
                 status=team.status, local_authority=name, local_authority_ods=ods,
                 emergency_phone=emergency, office_phone=office)
        for kind, code, system, display in _plan_types(team)
    ]
