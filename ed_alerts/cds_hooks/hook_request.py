"""The CDS Hooks 2.0 request body, validated: what is required is required, the rest is optional.

A body without hook, hookInstance or context, or with context.patientId missing (both our hooks
require it), is malformed (400). A patientId we cannot match is not an error: it gets no cards.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class HookRequestError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class HookContext(BaseModel):
    # Field names as the specification spells them; anything else an EHR sends is kept, not refused.
    model_config = ConfigDict(extra="allow")

    patientId: str = Field(min_length=1)
    userId: str | None = None
    encounterId: str | None = None


class HookRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    hook: str = Field(min_length=1)
    hookInstance: str = Field(min_length=1)
    fhirServer: str | None = None  # we never call back: the prefetched Patient is enough
    fhirAuthorization: dict[str, Any] | None = None
    context: HookContext
    prefetch: dict[str, Any] | None = None


def parse_hook_request(body: Any, expected_hook: str) -> HookRequest:
    try:
        request = HookRequest.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
                             for e in exc.errors(include_url=False)[:5])
        raise HookRequestError(f"not a CDS Hooks request: {problems}") from None
    if request.hook != expected_hook:
        raise HookRequestError(f"this service answers the {expected_hook!r} hook, "
                               f"not {request.hook[:40]!r}")
    return request
