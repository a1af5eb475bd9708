"""The outcome of one delivery attempt, and the interface the referral outbox depends on.

The outbox calls `send` once per attempt and persists each result; it alone decides when to try
again (see retry.py for the backoff). A test may stand in any object with a matching `send`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .endpoint import LocalAuthorityEndpoint
    from .payload import ReferralPayload


class DeliveryStatus(StrEnum):
    ACCEPTED = "accepted"  # the authority has it; `reference` is its case reference when it gave one
    REJECTED = "rejected"  # permanent: resending the same referral will not help; a person must act
    RETRYABLE = "retryable"  # transient: send again later with the same idempotency key


@dataclass(frozen=True)
class DeliveryResult:
    """`cause` is a short code safe for logs and metrics ("created", "replay", "http_503",
    "read_timeout", "connect_error", ...). `reason` is for people and may quote the authority."""

    status: DeliveryStatus
    cause: str
    reference: str | None = None
    reason: str | None = None
    http_status: int | None = None
    retry_after_s: float | None = None  # the authority's Retry-After, when it sent one

    @classmethod
    def accepted(cls, reference: str | None, *, cause: str = "accepted", http_status: int | None = None
                 ) -> DeliveryResult:
        return cls(DeliveryStatus.ACCEPTED, cause, reference=reference, http_status=http_status)

    @classmethod
    def rejected(cls, reason: str, *, cause: str = "rejected", http_status: int | None = None) -> DeliveryResult:
        return cls(DeliveryStatus.REJECTED, cause, reason=reason, http_status=http_status)

    @classmethod
    def retryable(cls, reason: str, *, cause: str = "retryable", http_status: int | None = None,
                  retry_after_s: float | None = None) -> DeliveryResult:
        return cls(DeliveryStatus.RETRYABLE, cause, reason=reason, http_status=http_status,
                   retry_after_s=retry_after_s)

    @property
    def is_accepted(self) -> bool:
        return self.status is DeliveryStatus.ACCEPTED

    @property
    def is_rejected(self) -> bool:
        return self.status is DeliveryStatus.REJECTED

    @property
    def is_retryable(self) -> bool:
        return self.status is DeliveryStatus.RETRYABLE


@runtime_checkable
class ReferralDelivery(Protocol):
    def send(self, payload: ReferralPayload, endpoint: LocalAuthorityEndpoint, *, attempt: int = 1
             ) -> DeliveryResult:
        """One attempt, classified; never sleeps or retries. `attempt` is for logs only."""
        ...
