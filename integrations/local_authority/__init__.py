"""Local-authority referral adapter: referral content out as a FHIR R4 Bundle over HTTP (httpx).

Knows nothing of the database or our routes. The referral outbox builds a `ReferralPayload`,
calls `ReferralDelivery.send` once per attempt and schedules the next with `next_attempt_delay`.
Modules: payload (the content), fhir_bundle (to FHIR), codes (systems), endpoint (per-authority
config), delivery (result and protocol), answers (classifying replies), sender (httpx, one attempt),
retry (backoff; a blocking loop for the CLI), fake_state / fake_server / fake_client (a fake
authority for development and tests), cli (`ed-alerts fake-la`). README.md documents the payload
and the HTTP contract.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .delivery import DeliveryResult, DeliveryStatus, ReferralDelivery
    from .endpoint import LocalAuthorityEndpoint
    from .payload import (
        AttendanceDetails,
        ChildDetails,
        FlagSummary,
        ReferralPayload,
        Referrer,
        to_fhir_bundle,
    )
    from .retry import RetriedDelivery, deliver_with_retries, next_attempt_delay
    from .sender import ReferralSender

# Loaded on first use, so registering `ed-alerts fake-la` (which imports .cli) does not slow every
# ed-alerts command down with httpx, pydantic models and the FHIR codes.
_HOMES = {
    "DeliveryResult": "delivery", "DeliveryStatus": "delivery", "ReferralDelivery": "delivery",
    "LocalAuthorityEndpoint": "endpoint",
    "AttendanceDetails": "payload", "ChildDetails": "payload", "FlagSummary": "payload",
    "ReferralPayload": "payload", "Referrer": "payload", "to_fhir_bundle": "payload",
    "RetriedDelivery": "retry", "deliver_with_retries": "retry", "next_attempt_delay": "retry",
    "ReferralSender": "sender",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AttendanceDetails",
    "ChildDetails",
    "DeliveryResult",
    "DeliveryStatus",
    "FlagSummary",
    "LocalAuthorityEndpoint",
    "ReferralDelivery",
    "ReferralPayload",
    "ReferralSender",
    "Referrer",
    "RetriedDelivery",
    "deliver_with_retries",
    "next_attempt_delay",
    "to_fhir_bundle",
]
