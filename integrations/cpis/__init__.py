"""Child Protection - Information Sharing (CP-IS) adapter: is this child on a child protection plan
or looked after? One search of NHS England's CP-IS FHIR R4 API (GET /CareTeam by NHS number, with
the IsUnscheduledAccessEvent header that tells the child's local authority they attended).

Knows nothing of the database or our routes. ed_alerts' lookup queue calls
`ChildProtectionLookup.lookup` once per attempt and stores the `CpisResult`. Modules: codes
(systems, codes, headers), endpoint (configuration), result (the canonical answer and the port),
parse (CareTeam Bundles with fhir.resources R4B), client (httpx, one attempt), fake_state /
fake_server / fake_client (a fake CP-IS for development and tests), cli (`ed-alerts fake-cpis`).
README.md documents the API as we understand it and what is still to confirm.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import CpisClient
    from .endpoint import CpisEndpoint
    from .result import ChildProtectionLookup, CpisOutcome, CpisPlan, CpisResult, PlanType

# Loaded on first use, so registering `ed-alerts fake-cpis` (which imports .cli) does not slow every
# ed-alerts command down with httpx and the FHIR models.
_HOMES = {
    "CpisClient": "client", "CpisEndpoint": "endpoint", "ChildProtectionLookup": "result",
    "CpisOutcome": "result", "CpisPlan": "result", "CpisResult": "result", "PlanType": "result",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ChildProtectionLookup", "CpisClient", "CpisEndpoint", "CpisOutcome", "CpisPlan", "CpisResult",
           "PlanType"]
