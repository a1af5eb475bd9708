"""FHIR JSON answers: resources with the FHIR media type, errors as OperationOutcomes."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from ed_alerts.fhir_api.codes import FHIR_MEDIA_TYPE
from integrations.fhir_r4 import operation_outcome


def fhir_json(resource: dict[str, Any], status_code: int = 200) -> JSONResponse:
    return JSONResponse(resource, status_code=status_code, media_type=FHIR_MEDIA_TYPE)


def fhir_error(reason: str, *, status_code: int, code: str = "invalid",
               expression: list[str] | None = None) -> JSONResponse:
    return fhir_json(operation_outcome(reason, code=code, expression=expression), status_code)
