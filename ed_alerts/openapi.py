"""The OpenAPI document: FastAPI's, plus the answers it cannot see, so that clients (and schemathesis,
tests/api) can trust every status code, media type and body it lists.

Two sources:

- Routes declare their own error answers with `errors(404, 409, ...)` in `responses=`: each is the body
  the one DomainError handler renders (`{"detail": "..."}`, sometimes with machine-readable extras).
- `install(app)` adds, at document time, what follows from each route's access policy
  (ed_alerts/auth/policy.py): 401 and, where a role or scope can refuse, 403 on every route that is not
  public, and 503 when OIDC sign-in is configured (the identity provider's keys may be unreachable).
  Derived, not repeated on each route, so a new route is documented the moment it declares its policy.
  It also adds the 400 FastAPI answers to a JSON body it cannot decode, and widens a declared 422 to
  "either the rules refused it, or the request did not validate" on routes FastAPI validates, since
  both answer 422 with different bodies.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import validation_error_definition, validation_error_response_definition
from pydantic import BaseModel, ConfigDict, Field

from ed_alerts.auth.csrf import SAFE_METHODS
from ed_alerts.auth.policy import iter_routes
from ed_alerts.auth.roles import Role

ERROR_REF = "#/components/schemas/ErrorDetail"
DESCRIPTIONS = {
    400: "The request cannot be used as it is (a body that is not JSON, for one); `detail` says why",
    401: "No valid credentials: sign in (`POST /auth/token`) and send `Authorization: Bearer <token>`",
    403: "Signed in, but this role or scope may not do this; `detail` says why",
    404: "No such record",
    409: "The record's current state does not allow this; `detail` says what state it is in",
    413: "The body is over the size limit",
    422: "The rules refuse the request (`detail`, and `missing` fields where a form is incomplete), "
         "or it does not validate",
    429: "Too many failed sign-ins from here; wait for `Retry-After` seconds",
    503: "The identity provider's signing keys could not be fetched; try again",
}
# The headers ed_alerts/auth/errors.py sends with these answers.
HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "Bearer challenge (RFC 6750)", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
    503: {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
}


class ErrorDetail(BaseModel):
    """The body of every refusal the domain error handler renders (ed_alerts/errors.py)."""

    # Some errors add machine-readable detail, such as the fields a referral still lacks.
    model_config = ConfigDict(extra="allow")

    detail: str = Field(description="Why, in words a user can act on")


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for the domain errors a route can answer with."""
    return {code: {"model": ErrorDetail, "description": DESCRIPTIONS[code], **_headers(code)} for code in codes}


def _headers(code: int) -> dict[str, Any]:
    return {"headers": HEADERS[code]} if code in HEADERS else {}


def _error_content() -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": ERROR_REF}}}


def _add_error(responses: dict[str, Any], code: int) -> None:
    """Declare `code` with the JSON error body; a route's own declaration (another media type, a
    better description) is kept and gains the JSON body alongside."""
    answer = responses.setdefault(str(code), {"description": DESCRIPTIONS[code]})
    answer.setdefault("content", {}).update(_error_content())
    if code in HEADERS:
        answer.setdefault("headers", {}).update(HEADERS[code])


def _can_refuse(roles: frozenset[Role], scope: str | None, method: str) -> bool:
    # Every role and no scope: nobody signed in is refused, except a cookie session changing
    # something without its CSRF token.
    return roles != frozenset(Role) or scope is not None or method not in SAFE_METHODS


def _widen_422(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    declared = operation.get("responses", {}).get("422", {}).get("content", {}).get("application/json", {})
    if declared.get("schema") != {"$ref": ERROR_REF}:
        return
    if not (operation.get("parameters") or operation.get("requestBody")):
        return  # nothing for FastAPI to validate: only the rules answer 422
    schemas.setdefault("ValidationError", validation_error_definition)
    schemas.setdefault("HTTPValidationError", validation_error_response_definition)
    declared["schema"] = {"anyOf": [{"$ref": ERROR_REF}, {"$ref": "#/components/schemas/HTTPValidationError"}]}


def _complete(app: FastAPI, document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ErrorDetail", ErrorDetail.model_json_schema())
    oidc = getattr(getattr(app.state, "auth", None), "oidc", None) is not None
    paths = document.get("paths", {})
    for route in iter_routes(app):
        operation = paths.get(route.path, {}).get(route.method.lower())
        if operation is None:
            continue  # not in the document: pages, the framework's own routes
        responses = operation.setdefault("responses", {})
        policy = route.policy
        if policy is not None and policy.roles is not None:
            _add_error(responses, 401)
            if _can_refuse(policy.roles, policy.scope, route.method):
                _add_error(responses, 403)
            if oidc:
                _add_error(responses, 503)
        if getattr(route.route, "body_field", None) is not None:
            # FastAPI answers a body it cannot decode (not UTF-8 JSON) with 400 {"detail": ...},
            # before any dependency runs, whoever asks.
            _add_error(responses, 400)
        _widen_422(operation, schemas)
    return document


def install(app: FastAPI) -> None:
    """Serve the completed document at /openapi.json and /docs (built once, on first request)."""
    plain = app.openapi
    completed: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        if not completed:
            completed.append(_complete(app, plain()))
        return completed[0]

    app.openapi = openapi  # type: ignore[method-assign]
