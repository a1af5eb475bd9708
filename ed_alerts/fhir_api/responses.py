"""FHIR JSON answers: resources with the FHIR media type, errors as OperationOutcomes; and how the
OpenAPI document describes them (`FhirJSONResponse` as a route's response class, `fhir_responses`)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from ed_alerts.fhir_api.codes import FHIR_MEDIA_TYPE
from integrations.fhir_r4 import operation_outcome

# What the document promises about FHIR bodies: the resource type, and the shape of an
# OperationOutcome (integrations/fhir_r4/outcome.py). The resources themselves are FHIR R4's.
OPERATION_OUTCOME_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["severity", "code"],
            "properties": {"severity": {"type": "string"}, "code": {"type": "string"},
                           "diagnostics": {"type": "string"},
                           "expression": {"type": "array", "items": {"type": "string"}}}}},
    },
}
ERROR_DESCRIPTIONS = {
    400: "A search parameter cannot be used; the OperationOutcome says which",
    403: "This feed credential may not send for the message's sender",
    404: "Not known here",
    413: "The message is over the size limit",
    422: "The message cannot be processed; it is kept in quarantine and the OperationOutcome says why",
}


class FhirJSONResponse(JSONResponse):
    """As a route's `response_class`: documents its answer as application/fhir+json."""

    media_type = FHIR_MEDIA_TYPE


def resource_schema(resource_type: str) -> dict[str, Any]:
    return {"type": "object", "required": ["resourceType"],
            "properties": {"resourceType": {"const": resource_type}}}


def fhir_responses(ok: str | None, *error_codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a FHIR route: a 200 holding resource `ok`, and OperationOutcome errors."""
    answers: dict[int | str, dict[str, Any]] = {
        code: {"description": ERROR_DESCRIPTIONS[code],
               "content": {FHIR_MEDIA_TYPE: {"schema": OPERATION_OUTCOME_SCHEMA}}} for code in error_codes}
    if ok is not None:
        answers[200] = {"content": {FHIR_MEDIA_TYPE: {"schema": resource_schema(ok)}}}
    return answers


def fhir_json(resource: dict[str, Any], status_code: int = 200) -> JSONResponse:
    return JSONResponse(resource, status_code=status_code, media_type=FHIR_MEDIA_TYPE)


def fhir_error(reason: str, *, status_code: int, code: str = "invalid",
               expression: list[str] | None = None) -> JSONResponse:
    return fhir_json(operation_outcome(reason, code=code, expression=expression), status_code)
