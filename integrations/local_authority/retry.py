"""Backoff for failed deliveries, and a blocking retry loop for the CLI and development.

The service does not use `deliver_with_retries`: its outbox persists each attempt and schedules
the next with `next_attempt_delay`, so a restart or a slow authority never loses or blocks one.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .delivery import DeliveryResult, ReferralDelivery

if TYPE_CHECKING:
    from .endpoint import LocalAuthorityEndpoint
    from .payload import ReferralPayload

DEFAULT_BASE_S = 2.0
DEFAULT_MAX_S = 300.0
_MAX_EXPONENT = 60  # 2**60 s is far past any cap; stops float overflow on absurd attempt numbers


def next_attempt_delay(attempt: int, *, base_s: float = DEFAULT_BASE_S, max_s: float = DEFAULT_MAX_S,
                       rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number `attempt` (1 = the first) before the next.

    Exponential backoff with full jitter: uniform in [0, min(max_s, base_s * 2**(attempt-1))].
    Full jitter spreads the resends of many referrals queued during an outage, so a recovering
    authority is not hit by all of them at once.
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    if base_s <= 0 or max_s < 0:
        raise ValueError("base_s must be positive and max_s not negative")
    ceiling = min(max_s, base_s * 2.0 ** min(attempt - 1, _MAX_EXPONENT))
    return (rng or random).uniform(0.0, ceiling)


@dataclass(frozen=True)
class RetriedDelivery:
    result: DeliveryResult  # the last attempt's
    attempts: int

    @property
    def gave_up(self) -> bool:
        """Still retryable after the last allowed attempt: the referral is `failed` and escalated."""
        return self.result.is_retryable


def deliver_with_retries(sender: ReferralDelivery, payload: ReferralPayload, endpoint: LocalAuthorityEndpoint, *,
                         max_attempts: int = 5, base_s: float = DEFAULT_BASE_S, max_s: float = DEFAULT_MAX_S,
                         sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None
                         ) -> RetriedDelivery:
    """Send until accepted, rejected, or `max_attempts` retryable failures, sleeping between tries."""
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    for attempt in range(1, max_attempts + 1):
        result = sender.send(payload, endpoint, attempt=attempt)
        if not result.is_retryable or attempt == max_attempts:
            return RetriedDelivery(result, attempt)
        delay = next_attempt_delay(attempt, base_s=base_s, max_s=max_s, rng=rng)
        # An authority that says when to come back is obeyed, within our own cap.
        sleep(max(delay, min(result.retry_after_s or 0.0, max_s)))
    raise AssertionError("unreachable")  # pragma: no cover
