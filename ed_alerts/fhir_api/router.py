"""FHIR R4 read routes for flags. Thin: parsing, queries and mapping live in the modules beside this one.

Routes are declared one by one (no router-wide dependencies) so that sign-in and roles can be added
per route. Every flag handed out is reported to `record_view`, the audit log's seam.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ed_alerts.db.ids import row_id
from ed_alerts.deps import get_services
from ed_alerts.fhir_api.bundle import searchset
from ed_alerts.fhir_api.capability import capability_statement
from ed_alerts.fhir_api.mapping import flag_resource
from ed_alerts.fhir_api.queries import read_flag, search_flags
from ed_alerts.fhir_api.responses import fhir_error, fhir_json
from ed_alerts.fhir_api.search import SearchError, parse_search
from ed_alerts.services import Services

router = APIRouter(prefix="/fhir", tags=["fhir"])
ServicesDep = Annotated[Services, Depends(get_services)]


def record_view(request: Request, flag_ids: Sequence[int]) -> None:
    """Called with the ids of the flags each request returned, after reading them.

    Does nothing yet: the audit log (who viewed which child's flags) hooks in here.
    """


def fhir_base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


def _lenient(request: Request) -> bool:
    prefer = request.headers.get("prefer", "")
    return any(p.strip().lower() == "handling=lenient" for p in re.split(r"[;,]", prefer))


def _search(request: Request, services: Services, params: Iterable[tuple[str, str]]) -> JSONResponse:
    try:
        search = parse_search(params, strict=not _lenient(request))
    except SearchError as exc:
        return fhir_error(exc.reason, status_code=400, code=exc.code)
    with services.db.session() as session:
        page = search_flags(session, search)
        bundle = searchset(fhir_base(request), search, page)
    record_view(request, [row.flag.id for row in page.rows])
    return fhir_json(bundle)


@router.get("/metadata", summary="CapabilityStatement: what this FHIR server supports")
def metadata(request: Request) -> JSONResponse:
    return fhir_json(capability_statement(fhir_base(request), request.app.version))


@router.get("/Flag", summary="Search flags (searchset Bundle)")
def get_flag_search(request: Request, services: ServicesDep) -> JSONResponse:
    return _search(request, services, request.query_params.multi_items())


@router.post("/Flag/_search", summary="Search flags, parameters form-encoded (no NHS number in the URL)")
async def post_flag_search(request: Request, services: ServicesDep) -> JSONResponse:
    form = await request.form()
    params = [*request.query_params.multi_items(),
              *((k, v) for k, v in form.multi_items() if isinstance(v, str))]
    return await run_in_threadpool(_search, request, services, params)  # the database work is blocking


@router.get("/Flag/{flag_id}", summary="Read one flag")
def get_flag(flag_id: str, request: Request, services: ServicesDep) -> JSONResponse:
    row, number = None, row_id(flag_id)
    if number is not None:  # our ids are numbers; any other FHIR id simply does not exist here
        with services.db.session() as session:
            row = read_flag(session, number)
    if row is None:
        return fhir_error(f"Flag/{flag_id[:64]} is not known here", status_code=404, code="not-found")
    record_view(request, [row.flag.id])
    return fhir_json(flag_resource(row))


@router.get("/{resource_type}", include_in_schema=False)
@router.get("/{resource_type}/{resource_id}", include_in_schema=False)
def unsupported(resource_type: str) -> JSONResponse:
    # Anything else under /fhir answers in FHIR, not with the framework's default 404 body.
    return fhir_error(f"{resource_type[:64]} is not served by this server (see /fhir/metadata)",
                      status_code=404, code="not-supported")
