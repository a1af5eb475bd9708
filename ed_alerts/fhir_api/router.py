"""FHIR R4 read routes for flags. Thin: parsing, queries and mapping live in the modules beside this one.

Each route declares who may use it. Searches are limited to the attendances the caller may see,
and every flag handed out is audited as a view of the child's record (one entry per child).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from ed_alerts.audit.service import Actor, record
from ed_alerts.audit.views import get_access_reason
from ed_alerts.auth.policy import public, require
from ed_alerts.auth.principal import Principal
from ed_alerts.auth.roles import Role
from ed_alerts.auth.scopes import attendance_of, attendance_scope, visible_attendances
from ed_alerts.db.ids import row_id
from ed_alerts.deps import get_services
from ed_alerts.fhir_api.bundle import searchset
from ed_alerts.fhir_api.capability import capability_statement
from ed_alerts.fhir_api.mapping import flag_resource
from ed_alerts.fhir_api.queries import FlagRow, read_flag, search_flags
from ed_alerts.fhir_api.responses import FhirJSONResponse, fhir_error, fhir_json, fhir_responses
from ed_alerts.fhir_api.search import SearchError, parse_search
from ed_alerts.flags.models import Flag
from ed_alerts.services import Services

router = APIRouter(prefix="/fhir", tags=["fhir"])
ServicesDep = Annotated[Services, Depends(get_services)]
ReasonDep = Annotated[str, Depends(get_access_reason)]


NURSES = (Role.ED_NURSE, Role.SAFEGUARDING_NURSE)
# The search parameters are read from the raw query string (repeats are AND, a comma is OR, modifiers
# are refused), so FastAPI cannot describe them; the document lists them here (docs/fhir-cds-metrics.md).
_SEARCH_DESCRIPTIONS = {
    "patient": "Patient/<id>, <id>, or an absolute URL ending so",
    "patient:identifier": "<system>|<value>, e.g. https://fhir.nhs.uk/Id/nhs-number|9434765919",
    "status": "active, inactive, entered-in-error",
    "category": "safety or safeguarding, with or without its system",
    "date": "on period.start, with a prefix eq ne gt lt ge le, e.g. ge2026-11-01",
    "encounter": "Encounter/<attendance id> or <id>",
    "_id": "flag ids",
    "_count": "page size, default 50, at most 200",
    "_offset": "matches to skip",
    "_format": "json, application/json or application/fhir+json",
}
_WHOLE = {"type": "integer", "minimum": 0}
SEARCH_PARAMETERS = [{"name": name, "in": "query", "required": False, "description": text,
                      "schema": _WHOLE if name in ("_count", "_offset") else {"type": "string"}}
                     for name, text in _SEARCH_DESCRIPTIONS.items()]
FLAG_SCOPE = attendance_scope("flag_id", resolve=attendance_of(Flag.id, Flag.attendance_id))


def record_view(session: Session, actor: Actor, rows: Sequence[FlagRow], reason: str) -> None:
    """One `record.viewed` entry per child whose flags were handed out, with the flag ids."""
    by_patient: dict[int, list[int]] = {}
    for row in rows:
        by_patient.setdefault(row.patient_id, []).append(row.flag.id)
    for patient_id, flag_ids in by_patient.items():
        record(session, actor, "record.viewed", "fhir_flag", ",".join(map(str, flag_ids[:20])),
               patient_id=patient_id, reason=reason, details={"flag_ids": flag_ids})


def fhir_base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


def _lenient(request: Request) -> bool:
    prefer = request.headers.get("prefer", "")
    return any(p.strip().lower() == "handling=lenient" for p in re.split(r"[;,]", prefer))


def _search(request: Request, services: Services, principal: Principal, reason: str,
            params: Iterable[tuple[str, str]]) -> JSONResponse:
    try:
        search = parse_search(params, strict=not _lenient(request))
    except SearchError as exc:
        return fhir_error(exc.reason, status_code=400, code=exc.code)
    with services.db.session() as session:
        page = search_flags(session, search, visible_attendances(principal, services.sites))
        bundle = searchset(fhir_base(request), search, page)
        record_view(session, principal.actor, page.rows, reason)
    return fhir_json(bundle)


@router.get("/metadata", summary="CapabilityStatement: what this FHIR server supports",
            dependencies=[public()], response_class=FhirJSONResponse,
            responses=fhir_responses("CapabilityStatement"))
def metadata(request: Request) -> JSONResponse:
    return fhir_json(capability_statement(fhir_base(request), request.app.version))


@router.get("/Flag", summary="Search flags (searchset Bundle)", response_class=FhirJSONResponse,
            responses=fhir_responses("Bundle", 400), openapi_extra={"parameters": SEARCH_PARAMETERS})
def get_flag_search(request: Request, services: ServicesDep,
                    principal: Annotated[Principal, require(*NURSES)], reason: ReasonDep) -> JSONResponse:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "reason"]
    return _search(request, services, principal, reason, params)


@router.post("/Flag/_search", summary="Search flags, parameters form-encoded (no NHS number in the URL)",
             response_class=FhirJSONResponse, responses=fhir_responses("Bundle", 400),
             # Read from the raw form (repeated parameters are AND), so FastAPI cannot describe it.
             openapi_extra={"requestBody": {"required": False, "content": {"application/x-www-form-urlencoded": {
                 "schema": {"type": "object", "properties": {p["name"]: p["schema"] for p in SEARCH_PARAMETERS},
                            "additionalProperties": {"type": "string"}}}}}})
async def post_flag_search(request: Request, services: ServicesDep,
                           principal: Annotated[Principal, require(*NURSES)], reason: ReasonDep) -> JSONResponse:
    form = await request.form()
    params = [*((k, v) for k, v in request.query_params.multi_items() if k != "reason"),
              *((k, v) for k, v in form.multi_items() if isinstance(v, str))]
    # the database work is blocking
    return await run_in_threadpool(_search, request, services, principal, reason, params)


@router.get("/Flag/{flag_id}", summary="Read one flag", response_class=FhirJSONResponse,
            responses=fhir_responses("Flag", 404))
def get_flag(flag_id: str, request: Request, services: ServicesDep,
             principal: Annotated[Principal, require(*NURSES, scope=FLAG_SCOPE)],
             reason: ReasonDep) -> JSONResponse:
    row, number = None, row_id(flag_id)
    if number is not None:  # our ids are numbers; any other FHIR id simply does not exist here
        with services.db.session() as session:
            row = read_flag(session, number)
            if row is not None:
                record_view(session, principal.actor, [row], reason)
    if row is None:
        return fhir_error(f"Flag/{flag_id[:64]} is not known here", status_code=404, code="not-found")
    return fhir_json(flag_resource(row))


@router.get("/{resource_type}", include_in_schema=False, dependencies=[public()])
@router.get("/{resource_type}/{resource_id}", include_in_schema=False, dependencies=[public()])
def unsupported(resource_type: str) -> JSONResponse:
    # Anything else under /fhir answers in FHIR, not with the framework's default 404 body.
    return fhir_error(f"{resource_type[:64]} is not served by this server (see /fhir/metadata)",
                      status_code=404, code="not-supported")
