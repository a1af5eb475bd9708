"""Map a FHIR Patient (or a bare patient identifier) to the domain Patient."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import nhs_number

from ed_alerts.domain import NHS_NUMBER_SYSTEM, Address, Identifier, Patient

from .codes import NHS_NUMBER_SYSTEMS

_SEPARATORS = re.compile(r"[\s\-]")
_GENDERS = frozenset({"male", "female", "other", "unknown"})
# Names and addresses that are no longer the patient's: never the one to match or show on.
_STALE_USES = frozenset({"old", "maiden"})
_NAME_USE_RANK = {"official": 0, "usual": 1, None: 2}
_ADDRESS_USE_RANK = {"home": 0, None: 1, "temp": 2}

INVALID_NHS_NUMBER_WARNING = "an NHS number fails the Modulus 11 check: kept as invalid, not used to match"


def map_patient(resource: Any) -> tuple[Patient, list[str]]:
    """The domain Patient and warnings (which never quote identifiers)."""
    identifiers = [i for i in (map_identifier(x) for x in resource.identifier or []) if i is not None]
    warnings = [INVALID_NHS_NUMBER_WARNING for i in identifiers if i.is_nhs_number and not i.valid][:1]
    family, given = _name(resource.name or [])
    birth_date = resource.birthDate if isinstance(resource.birthDate, date) else None
    if resource.birthDate is not None and birth_date is None:
        warnings.append("Patient.birthDate is partial (year or month only): birth date left empty")
    sex = resource.gender if resource.gender in _GENDERS else None
    if resource.gender is not None and sex is None:
        warnings.append("Patient.gender is not a FHIR administrative gender: sex left empty")
    patient = Patient(identifiers=identifiers, family_name=family, given_names=given, birth_date=birth_date,
                      sex=sex, address=_address(resource.address or []))
    return patient, warnings


def patient_from_reference(reference: Any) -> tuple[Patient, list[str]]:
    """A Patient known only by Reference.identifier (a subject that is not in the message)."""
    identifier = map_identifier(reference.identifier) if reference.identifier is not None else None
    if identifier is None:
        return Patient(), []
    warnings = [INVALID_NHS_NUMBER_WARNING] if identifier.is_nhs_number and not identifier.valid else []
    return Patient(identifiers=[identifier]), warnings


def map_identifier(identifier: Any) -> Identifier | None:
    value = (identifier.value or "").strip()
    if not value:
        return None
    system = (identifier.system or "").strip().rstrip("/")
    if system in NHS_NUMBER_SYSTEMS:
        digits = _SEPARATORS.sub("", value)
        normalised = digits if digits.isdigit() else value
        return Identifier(system=NHS_NUMBER_SYSTEM, value=normalised, is_nhs_number=True,
                          valid=nhs_number.is_valid(normalised))
    # Without a system an identifier is only as good as its assigner; "" keeps it visibly unqualified.
    return Identifier(system=system or _assigner(identifier) or "", value=value)


def _assigner(identifier: Any) -> str | None:
    assigner = identifier.assigner
    if assigner is None:
        return None
    if assigner.identifier is not None and assigner.identifier.value:
        return assigner.identifier.value.strip()
    return (assigner.display or "").strip() or None


def _name(names: list[Any]) -> tuple[str | None, list[str]]:
    current = [n for n in names if n.use not in _STALE_USES]
    if not current:
        return None, []
    name = min(current, key=lambda n: _NAME_USE_RANK.get(n.use, 3))
    family = (name.family or "").strip() or None
    given = [g.strip() for g in name.given or [] if g and g.strip()]
    return family, given


def _address(addresses: list[Any]) -> Address | None:
    current = [a for a in addresses if a.use not in _STALE_USES and a.use != "billing"]
    if not current:
        return None
    chosen = min(current, key=lambda a: _ADDRESS_USE_RANK.get(a.use, 3))
    lines = [line.strip() for line in chosen.line or [] if line and line.strip()]
    return Address(lines=lines, city=(chosen.city or "").strip() or None,
                   postcode=(chosen.postalCode or "").strip() or None,
                   country=(chosen.country or "").strip() or None)
