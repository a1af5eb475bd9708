"""Flag search parameters, parsed into a `FlagSearch` the query module runs. No HTTP, no database.

Semantics follow FHIR R4 search: a comma inside one value means OR, a repeated parameter means AND,
an empty value is ignored. Parameters we do not support are refused (400) rather than ignored, because
a silently dropped filter would hand out other children's flags; a client that wants them ignored
says `Prefer: handling=lenient`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ed_alerts.db.ids import row_id
from ed_alerts.domain import NHS_NUMBER_SYSTEM
from ed_alerts.fhir_api import codes
from ed_alerts.fhir_api.dates import DateCriterion, DateValueError, parse_criterion
from ed_alerts.flags.models import FlagStatus
from ed_alerts.patients.lookup import valid_nhs_number

DEFAULT_COUNT = 50
MAX_COUNT = 200
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_JSON_FORMATS = frozenset({"json", "application/json", "application/fhir+json"})

# FHIR Flag.status -> what we store. entered-in-error is a valid code none of our flags has.
_STATUS = {"active": (FlagStatus.ACTIVE,), "inactive": (FlagStatus.WITHDRAWN,), "entered-in-error": ()}
_STATUS_SYSTEM = "http://hl7.org/fhir/flag-status"


class SearchError(ValueError):
    """A search the server cannot run as asked. `code` is the OperationOutcome issue type."""

    def __init__(self, reason: str, *, code: str = "invalid", param: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.param = param


@dataclass(frozen=True)
class PatientIds:
    """patient=Patient/1,2: our patient ids (a valid FHIR id that is not ours matches nothing)."""

    ids: tuple[int, ...]


@dataclass(frozen=True)
class PatientIdentifiers:
    """patient:identifier=system|value; system None means any system."""

    identifiers: tuple[tuple[str | None, str], ...]


@dataclass(frozen=True)
class Statuses:
    stored: tuple[str, ...]


@dataclass(frozen=True)
class Category:
    """Every flag we raise has the same two categories, so a category token matches all or none."""

    matches: bool


@dataclass(frozen=True)
class Dates:
    any_of: tuple[DateCriterion, ...]


@dataclass(frozen=True)
class Encounters:
    attendance_ids: tuple[int, ...]


@dataclass(frozen=True)
class FlagIds:
    ids: tuple[int, ...]


Criterion = PatientIds | PatientIdentifiers | Statuses | Category | Dates | Encounters | FlagIds


@dataclass(frozen=True)
class FlagSearch:
    criteria: tuple[Criterion, ...] = ()
    count: int = DEFAULT_COUNT
    offset: int = 0
    # The parameters as understood (paging left out), to build the self / next / previous links.
    echo: tuple[tuple[str, str], ...] = field(default=())


def _split(value: str) -> list[str]:
    # A backslash escapes a comma inside a value (FHIR search escaping).
    parts = re.split(r"(?<!\\),", value)
    return [p.replace("\\,", ",").strip() for p in parts if p.strip()]


def _reference_ids(name: str, value: str, resource_type: str) -> tuple[int, ...]:
    ids: list[int] = []
    for item in _split(value):
        ref = item.rstrip("/")
        if "/" in ref:
            # Patient/12, or an absolute URL ending in Patient/12.
            *_, rtype, rid = ref.split("/")
            if rtype != resource_type:
                raise SearchError(f"{name}: {item[:60]!r} is not a reference to a {resource_type}",
                                  param=name)
        else:
            rid = ref
        if not _FHIR_ID.fullmatch(rid):
            raise SearchError(f"{name}: {rid[:60]!r} is not a FHIR resource id", param=name)
        number = row_id(rid)
        if number is not None:
            ids.append(number)
    return tuple(ids)


def _token(item: str) -> tuple[str | None, str]:
    """`code` -> (None, code); `system|code` -> (system, code); `|code` -> ("", code)."""
    if "|" in item:
        system, _, code = item.partition("|")
        return system, code
    return None, item


def _patient_identifiers(name: str, value: str) -> PatientIdentifiers:
    found: list[tuple[str | None, str]] = []
    for item in _split(value):
        system, ident = _token(item)
        if not ident:
            raise SearchError(f"{name}: {item[:60]!r} has no identifier value after '|'", param=name)
        if system in codes.NHS_SYSTEMS:
            digits = valid_nhs_number(ident)
            if digits is None:
                # Not a value we could ever hold: say so, rather than answer "no flags" for a typo.
                raise SearchError(f"{name}: the NHS number is not 10 digits with a valid check digit",
                                  code="value", param=name)
            found.append((NHS_NUMBER_SYSTEM, digits))
        elif system == "":
            continue  # an identifier without a system: we hold none
        else:
            found.append((system, ident))
    return PatientIdentifiers(tuple(found))


def _statuses(name: str, value: str) -> Statuses:
    stored: list[str] = []
    for item in _split(value):
        system, code = _token(item)
        if system not in (None, _STATUS_SYSTEM) or code not in _STATUS:
            raise SearchError(f"{name}: {item[:60]!r} is not a Flag status (active, inactive, "
                              "entered-in-error)", code="value", param=name)
        stored.extend(_STATUS[code])
    return Statuses(tuple(stored))


def _category(value: str) -> Category:
    ours = {(system, code) for system, code, _ in codes.CATEGORY_CODINGS}
    for item in _split(value):
        system, code = _token(item)
        if system is None and code in {c for _, c in ours}:
            return Category(True)
        if (system, code) in ours or (code == "" and system in {s for s, _ in ours}):
            return Category(True)
    return Category(False)


def _dates(name: str, value: str) -> Dates:
    try:
        return Dates(tuple(parse_criterion(item) for item in _split(value)))
    except DateValueError as exc:
        raise SearchError(f"{name}: {exc}", code="value", param=name) from None


# ASCII digits only (str.isdigit also accepts "²", which int() refuses), and few enough that an
# offset always fits the database's LIMIT/OFFSET (a BIGINT).
_WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")


def _non_negative_int(name: str, value: str) -> int:
    if not _WHOLE_NUMBER.fullmatch(value):
        raise SearchError(f"{name}: {value[:20]!r} is not a whole number from 0 to 18 digits", code="value",
                          param=name)
    return int(value)


_CRITERIA: dict[str, Callable[[str, str], Criterion]] = {
    "patient": lambda n, v: PatientIds(_reference_ids(n, v, "Patient")),
    "patient:Patient": lambda n, v: PatientIds(_reference_ids(n, v, "Patient")),
    "patient:identifier": _patient_identifiers,
    "status": _statuses,
    "category": lambda n, v: _category(v),
    "date": _dates,
    "encounter": lambda n, v: Encounters(_reference_ids(n, v, "Encounter")),
    "encounter:Encounter": lambda n, v: Encounters(_reference_ids(n, v, "Encounter")),
    "_id": lambda n, v: FlagIds(_reference_ids(n, v, "Flag")),
}
SUPPORTED = (*_CRITERIA, "_count", "_offset", "_format")


def parse_search(params: Iterable[tuple[str, str]], *, strict: bool = True) -> FlagSearch:
    """The search the query string asks for; SearchError when it cannot be run as asked."""
    criteria: list[Criterion] = []
    echo: list[tuple[str, str]] = []
    count, offset = DEFAULT_COUNT, 0
    for name, value in params:
        value = value.strip()
        if not value:
            continue  # FHIR: a parameter with an empty value is ignored
        if name == "_count":
            count = min(_non_negative_int(name, value), MAX_COUNT)
        elif name == "_offset":
            offset = _non_negative_int(name, value)
        elif name == "_format":
            if value not in _JSON_FORMATS:
                raise SearchError(f"_format {value[:40]!r} is not supported: this server speaks JSON only",
                                  code="not-supported", param=name)
            echo.append((name, value))
        elif name in _CRITERIA:
            criteria.append(_CRITERIA[name](name, value))
            echo.append((name, value))
        elif strict:
            base = name.split(":", 1)[0]
            what = f"modifier {name!r}" if base in _CRITERIA else f"parameter {name[:40]!r}"
            raise SearchError(f"search {what} is not supported for Flag (supported: "
                              f"{', '.join(SUPPORTED)}); see /fhir/metadata", code="not-supported",
                              param=name)
    return FlagSearch(criteria=tuple(criteria), count=count, offset=offset, echo=tuple(echo))
