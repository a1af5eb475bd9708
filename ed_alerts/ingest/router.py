"""HTTP ingest and the integration engineer's view of message health. Thin: the pipeline does the work.

Integration users only. A credential scoped to site codes may send only messages whose sender (MSH-4,
or the FHIR source) is one of them, and sees only those senders' messages and health; a message from
another sender is refused with 403 (an HL7 AR acknowledgement, or an OperationOutcome) and not stored.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ed_alerts.auth.policy import Scope, require
from ed_alerts.auth.principal import Principal
from ed_alerts.auth.roles import Role
from ed_alerts.auth.scopes import feed_refusal, visible_senders
from ed_alerts.db.ids import row_id
from ed_alerts.deps import RowId, get_services
from ed_alerts.errors import MessageTooLarge, NotFound
from ed_alerts.fhir_api.responses import FhirJSONResponse, fhir_responses, resource_schema
from ed_alerts.ingest import parsers, queries
from ed_alerts.ingest.acks import hl7_ack
from ed_alerts.ingest.models import ContentType, MessageStatus, Transport
from ed_alerts.ingest.pipeline import IngestOutcome, ingest, replay
from ed_alerts.ingest.schemas import FeedHealth, MessageSummary
from ed_alerts.openapi import errors
from ed_alerts.services import Services
from integrations import fhir_r4, hl7v2

router = APIRouter(tags=["ingest"])

HL7_MEDIA_TYPE = "x-application/hl7-v2+er7"
FHIR_MEDIA_TYPE = "application/fhir+json"
ServicesDep = Annotated[Services, Depends(get_services)]
# The feeds read their bodies raw (to store the exact bytes first), so the document is declared here.
HL7_BODY = {"requestBody": {"required": True, "description": "One HL7 v2 message (ER7), MLLP framing allowed",
                            "content": {HL7_MEDIA_TYPE: {"schema": {"type": "string"}}}}}
HL7_ACK = {"content": {HL7_MEDIA_TYPE: {"schema": {"type": "string"}}}}
HL7_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "Processed: an AA acknowledgement", **HL7_ACK},
    403: {"description": "This feed credential may not send for the message's sender (MSH-4): an AR "
                         "acknowledgement; the message is not stored", **HL7_ACK},
    413: {"description": "Over the size limit: an AR acknowledgement", **HL7_ACK},
    422: {"description": "Not processed (AE or AR acknowledgement with an ERR segment); kept in quarantine",
          **HL7_ACK},
}


def _fhir_body(resource_type: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {
        FHIR_MEDIA_TYPE: {"schema": {**resource_schema(resource_type), "additionalProperties": True}}}}}


# Messages carry identifiers; message metadata (lists, health) does not, but stays with integration.
Feed = Annotated[Principal, require(Role.INTEGRATION)]
Engineer = Annotated[Principal, require(Role.INTEGRATION, identifiable=False)]


def _message_sender(principal: Principal, request: Request, services: Services) -> str | None:
    if not principal.sites:
        return None
    number = row_id(str(request.path_params["message_id"]))
    if number is None:
        return None  # not an id of ours: the route's own validation answers 422
    with services.db.session() as session:
        message = queries.get_message(session, number)
    if message is None:
        return None  # the route answers 404
    return feed_refusal(principal, message.sender)


MessageScope = Annotated[Principal, require(Role.INTEGRATION, scope=Scope("message's sender", _message_sender))]


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise MessageTooLarge(int(declared), limit)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise MessageTooLarge(len(body), limit)
    return body


@router.post("/hl7v2", summary="Ingest one HL7 v2 message; answers with its HL7 ACK",
             response_class=Response, responses=HL7_ANSWERS, openapi_extra=HL7_BODY)
async def post_hl7v2(request: Request, services: ServicesDep, principal: Feed) -> Response:
    try:
        raw = await _body(request, services.settings.max_message_bytes)
    except MessageTooLarge as exc:
        ack = hl7v2.build_ack(None, "AR", text=exc.reason, error_code=exc.hl7_error_code)
        return Response(ack, status_code=413, media_type=HL7_MEDIA_TYPE)
    header = hl7v2.peek_header(raw)
    refused = feed_refusal(principal, header.sender if header else None)
    if refused is not None:
        return Response(hl7v2.build_ack(header, "AR", text=refused, error_code="207"), status_code=403,
                        media_type=HL7_MEDIA_TYPE)
    outcome = await run_in_threadpool(ingest, services.ingest, raw, ContentType.HL7V2, Transport.HTTP)
    status = 200 if outcome.accepted else 422
    return Response(hl7_ack(header, outcome), status_code=status, media_type=HL7_MEDIA_TYPE,
                    headers={"X-Message-Id": str(outcome.message_id)})


def _fhir_answer(outcome: IngestOutcome) -> JSONResponse:
    if outcome.accepted:
        text = f"accepted as message {outcome.message_id}" + (" (duplicate)" if outcome.duplicate else "")
        body = fhir_r4.operation_outcome(text, code="informational", severity="information")
        return JSONResponse(body, status_code=200, media_type=FHIR_MEDIA_TYPE,
                            headers={"X-Message-Id": str(outcome.message_id)})
    body = fhir_r4.operation_outcome(outcome.reason or "rejected", code="invalid")
    return JSONResponse(body, status_code=422, media_type=FHIR_MEDIA_TYPE,
                        headers={"X-Message-Id": str(outcome.message_id)})


async def _ingest_fhir(request: Request, services: Services, content_type: ContentType,
                       principal: Principal) -> JSONResponse:
    try:
        raw = await _body(request, services.settings.max_message_bytes)
    except MessageTooLarge as exc:
        return JSONResponse(fhir_r4.operation_outcome(exc.reason, code="too-costly"), status_code=413,
                            media_type=FHIR_MEDIA_TYPE)
    refused = feed_refusal(principal, parsers.peek(content_type, raw).sender)
    if refused is not None:
        return JSONResponse(fhir_r4.operation_outcome(refused, code="forbidden"), status_code=403,
                            media_type=FHIR_MEDIA_TYPE)
    outcome = await run_in_threadpool(ingest, services.ingest, raw, content_type, Transport.HTTP)
    return _fhir_answer(outcome)


@router.post("/fhir", summary="Ingest a FHIR R4 Bundle (transaction, message or collection)",
             response_class=FhirJSONResponse, responses=fhir_responses("OperationOutcome", 403, 413, 422),
             openapi_extra=_fhir_body("Bundle"))
async def post_fhir_bundle(request: Request, services: ServicesDep, principal: Feed) -> JSONResponse:
    return await _ingest_fhir(request, services, ContentType.FHIR_BUNDLE, principal)


@router.post("/fhir/Encounter", summary="Ingest a single FHIR R4 Encounter",
             response_class=FhirJSONResponse, responses=fhir_responses("OperationOutcome", 403, 413, 422),
             openapi_extra=_fhir_body("Encounter"))
async def post_fhir_encounter(request: Request, services: ServicesDep, principal: Feed) -> JSONResponse:
    return await _ingest_fhir(request, services, ContentType.FHIR_ENCOUNTER, principal)


@router.get("/api/messages", summary="Inbound messages by status (no content: it holds identifiers)")
def list_messages(services: ServicesDep, principal: Engineer,
                  status: Annotated[MessageStatus | None, Query()] = None,
                  control_id: Annotated[str | None, Query(max_length=200,
                                                          description="MSH-10 or the FHIR id: one message")] = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[MessageSummary]:
    with services.db.session() as session:
        return queries.list_messages(session, status=status, limit=limit, senders=visible_senders(principal),
                                     control_id=control_id)


@router.post("/api/messages/{message_id}/replay", summary="Process a quarantined message again",
             responses=errors(404))
def replay_message(message_id: RowId, services: ServicesDep, _: MessageScope) -> MessageSummary:
    with services.db.session() as session:
        if queries.get_message(session, message_id) is None:
            raise NotFound(f"message {message_id} does not exist")
    replay(services.ingest, [message_id])
    with services.db.session() as session:
        summary = queries.get_message(session, message_id)
    assert summary is not None
    return summary


@router.get("/api/feeds", summary="Message health per sender, registered or not")
def feeds(services: ServicesDep, principal: Engineer) -> list[FeedHealth]:
    with services.db.session() as session:
        return queries.feed_health(session, senders=visible_senders(principal))


