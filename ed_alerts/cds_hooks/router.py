"""CDS Hooks 2.0 routes: discovery and the two services. Thin: matching and cards live beside this.

Discovery is public; a service call needs a signed-in nurse (the EHR calls with that user's token) and
shows only what that nurse may see. Every child whose flags are shown on cards gets a `record.viewed`
audit entry. The EHR's own CDS Hooks JWT scheme is not supported yet.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ed_alerts.auth.policy import public, require
from ed_alerts.auth.principal import Principal
from ed_alerts.auth.roles import Role
from ed_alerts.cds_hooks.catalogue import SERVICES, discovery
from ed_alerts.cds_hooks.hook_request import HookRequestError, parse_hook_request
from ed_alerts.cds_hooks.service import answer_hook
from ed_alerts.deps import get_services
from ed_alerts.openapi import errors
from ed_alerts.services import Services

router = APIRouter(prefix="/cds-services", tags=["cds-hooks"])
ServicesDep = Annotated[Services, Depends(get_services)]
# The body is parsed by hand (hook_request.py) so that a bad one is a CDS Hooks 400, not FastAPI's 422;
# the document still says what a hook request and the answer look like (CDS Hooks 2.0).
HOOK_REQUEST = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["hook", "hookInstance", "context"],
    "properties": {"hook": {"type": "string"}, "hookInstance": {"type": "string"},
                   "context": {"type": "object", "required": ["patientId"],
                               "properties": {"patientId": {"type": "string"}}},
                   "prefetch": {"type": "object"}, "fhirServer": {"type": "string"}}}}}}}
CARDS = {"type": "object", "required": ["cards"], "properties": {"cards": {"type": "array", "items": {
    "type": "object", "required": ["summary", "indicator", "source"],
    "properties": {"summary": {"type": "string", "maxLength": 140}, "detail": {"type": "string"},
                   "indicator": {"enum": ["info", "warning", "critical"]},
                   "source": {"type": "object", "required": ["label"]},
                   "links": {"type": "array"}}}}}}
DISCOVERY = {"type": "object", "required": ["services"], "properties": {"services": {"type": "array", "items": {
    "type": "object", "required": ["hook", "id", "description"]}}}}


@router.get("", summary="CDS Hooks discovery: the services offered", dependencies=[public()],
            responses={200: {"content": {"application/json": {"schema": DISCOVERY}}}})
def list_services() -> dict[str, Any]:
    return discovery()


@router.post("/{service_id}", summary="Call a CDS service: cards for the child's active safeguarding flags",
             responses={200: {"content": {"application/json": {"schema": CARDS}}}, **errors(400, 404, 413)},
             openapi_extra=HOOK_REQUEST)
async def call_service(service_id: Annotated[str, Path(description="A service id from discovery",
                                                       examples=list(SERVICES))],
                       request: Request, services: ServicesDep,
                       principal: Annotated[Principal, require(Role.ED_NURSE, Role.SAFEGUARDING_NURSE)]
                       ) -> JSONResponse:
    service = SERVICES.get(service_id)
    if service is None:
        return JSONResponse({"detail": f"no CDS service {service_id[:80]!r} here"}, status_code=404)
    limit = services.settings.max_message_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return JSONResponse({"detail": f"request body over {limit} bytes"}, status_code=413)
    try:
        body = await request.body()
        if len(body) > limit:
            return JSONResponse({"detail": f"request body over {limit} bytes"}, status_code=413)
        hook = parse_hook_request(json.loads(body), service.hook)
    except HookRequestError as exc:
        return JSONResponse({"detail": exc.reason}, status_code=400)
    except ValueError:  # not JSON (or not UTF-8)
        return JSONResponse({"detail": "the request body is not JSON"}, status_code=400)
    base_url = str(request.base_url).rstrip("/")
    answer = await run_in_threadpool(answer_hook, services.db, services.sites, hook, base_url, principal)
    return JSONResponse({"cards": answer.cards})
