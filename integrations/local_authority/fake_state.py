"""The fake local authority's memory and behaviour, without HTTP: what it was told to do
(mode), what it received, and which referrals it accepted under which idempotency key.

Thread-safe: the HTTP server answers on its own thread while a test reads and steers it.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from ..loopback.answer import Answer
from .codes import NHS_NUMBER_SYSTEM, REFERRAL_ID_SYSTEM

CASE_REFERENCE_SYSTEM = "https://fake-la.example/Id/case-reference"
DEFAULT_REJECT_REASON = "Referral rejected by the local authority (fake): not enough information to act on"


class FakeMode(StrEnum):
    OK = "ok"  # accept (201), replay (200) a known key
    FAIL = "fail"  # 503 to every referral
    SLOW = "slow"  # wait delay_s, then behave as ok
    REJECT = "reject"  # 422 with an OperationOutcome
    DOWN = "down"  # not listening at all (the server manager closes the socket)


@dataclass
class FakeDelivery:
    """One referral as the authority holds it: accepted once, however often it was posted."""

    idempotency_key: str
    referral_id: str | None
    reference: str
    order: int  # 1 for the first referral accepted, in acceptance order
    accepted_at: datetime
    nhs_number: str | None
    posts: int = 1  # POSTs carrying this key, whatever each was answered
    bundle: dict[str, Any] = field(default_factory=dict, repr=False)

    def summary(self, *, with_bundle: bool = False) -> dict[str, Any]:
        data = asdict(self)
        data["accepted_at"] = self.accepted_at.isoformat()
        if not with_bundle:
            data.pop("bundle")
        return data


@dataclass
class FakeSettings:
    mode: FakeMode = FakeMode.OK
    delay_s: float = 2.0  # slow mode
    fail_next: int = 0  # answer the next N referrals 503, whatever the mode
    reject_reason: str = DEFAULT_REJECT_REASON
    replay_status: int = 200  # 200 or 409 for a known key (both carry the reference)
    retry_after_s: int | None = None  # Retry-After on 503s


def operation_outcome(status_code: str, text: str, severity: str = "error") -> dict[str, Any]:
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": status_code, "diagnostics": text}]}


class FakeLAState:
    def __init__(self, *, token: str | None = None, reference_prefix: str = "FAKE-LA",
                 settings: FakeSettings | None = None) -> None:
        self.token = token
        self.reference_prefix = reference_prefix
        self.settings = settings or FakeSettings()
        self._initial = FakeSettings(**asdict(self.settings))
        self._lock = threading.Lock()
        self._received = 0
        self._posts: dict[str, int] = {}
        self._deliveries: dict[str, FakeDelivery] = {}  # insertion order is acceptance order

    # --- steering ------------------------------------------------------------------------------

    def configure(self, **changes: Any) -> FakeSettings:
        with self._lock:
            for name, value in changes.items():
                if not hasattr(self.settings, name):
                    raise ValueError(f"unknown fake LA setting {name!r}")
                if name == "mode":
                    value = FakeMode(value)
                if name == "replay_status" and value not in (200, 409):
                    raise ValueError("replay_status must be 200 or 409")
                setattr(self.settings, name, value)
            return FakeSettings(**asdict(self.settings))

    def reset(self, *, settings: bool = False) -> None:
        """Forget what was received; with `settings`, also go back to the settings it started with."""
        with self._lock:
            if settings:
                self.settings = FakeSettings(**asdict(self._initial))
            self._received = 0
            self._posts.clear()
            self._deliveries.clear()

    # --- introspection -------------------------------------------------------------------------

    @property
    def received(self) -> int:
        with self._lock:
            return self._received

    def deliveries(self) -> list[FakeDelivery]:
        with self._lock:
            return list(self._deliveries.values())

    def delivery(self, key: str) -> FakeDelivery | None:
        with self._lock:
            return self._deliveries.get(key)

    def posts_by_key(self) -> dict[str, int]:
        with self._lock:
            return dict(self._posts)

    def snapshot(self, *, with_bundles: bool = False) -> dict[str, Any]:
        with self._lock:
            return {
                "received": self._received,
                "posts_by_key": dict(self._posts),
                "deliveries": [d.summary(with_bundle=with_bundles) for d in self._deliveries.values()],
                "settings": {**asdict(self.settings), "mode": self.settings.mode.value},
            }

    # --- a referral arrives --------------------------------------------------------------------

    def receive(self, key: str | None, authorization: str | None) -> tuple[Answer | None, float]:
        """Count the POST and decide what happens before the body is read: an immediate answer
        (auth failure, outage, rejection) or None plus how long to stall before accepting."""
        with self._lock:
            self._received += 1
            if key:
                self._posts[key] = self._posts.get(key, 0) + 1
            if self.token is not None and authorization != f"Bearer {self.token}":
                return Answer(401, operation_outcome("login", "missing or wrong bearer token"),
                              {"WWW-Authenticate": 'Bearer realm="fake-la"'}), 0.0
            settings = self.settings
            if settings.fail_next > 0:
                settings.fail_next -= 1
                return self._unavailable(), 0.0
            if settings.mode is FakeMode.FAIL:
                return self._unavailable(), 0.0
            if settings.mode is FakeMode.REJECT:
                return Answer(422, operation_outcome("business-rule", settings.reject_reason)), 0.0
            return None, settings.delay_s if settings.mode is FakeMode.SLOW else 0.0

    def _unavailable(self) -> Answer:
        headers = {} if self.settings.retry_after_s is None else {"Retry-After": str(self.settings.retry_after_s)}
        return Answer(503, operation_outcome("transient", "service unavailable (fake outage)"), headers)

    def accept(self, key: str, bundle: dict[str, Any]) -> Answer:
        """Idempotent acceptance: a known key is answered with the reference it already has."""
        referral_id = _identifier(bundle, "ServiceRequest", REFERRAL_ID_SYSTEM)
        with self._lock:
            known = self._deliveries.get(key)
            if known is not None:
                if known.referral_id != referral_id:
                    return Answer(422, operation_outcome(
                        "conflict", "Idempotency-Key already used for a different referral"))
                known.posts = self._posts.get(key, known.posts)
                return Answer(self.settings.replay_status, _receipt(known))
            order = len(self._deliveries) + 1
            delivery = FakeDelivery(
                idempotency_key=key, referral_id=referral_id, reference=f"{self.reference_prefix}-{order:06d}",
                order=order, accepted_at=datetime.now(UTC), posts=self._posts.get(key, 1),
                nhs_number=_identifier(bundle, "Patient", NHS_NUMBER_SYSTEM), bundle=bundle)
            self._deliveries[key] = delivery
            receipt = _receipt(delivery)
            return Answer(201, receipt, {"Location": f"Task/{receipt['id']}/_history/1"})


def _receipt(delivery: FakeDelivery) -> dict[str, Any]:
    """The authority's Task: our referral id echoed first (a sender must skip it), then its own case
    reference."""
    task_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{CASE_REFERENCE_SYSTEM}/{delivery.reference}"))
    theirs = {"system": CASE_REFERENCE_SYSTEM, "value": delivery.reference}
    task: dict[str, Any] = {
        "resourceType": "Task",
        "id": task_id,
        "identifier": [theirs],
        "status": "received",
        "intent": "order",
        "authoredOn": delivery.accepted_at.isoformat(),
    }
    if delivery.referral_id:
        ours = {"system": REFERRAL_ID_SYSTEM, "value": delivery.referral_id}
        task["identifier"] = [ours, theirs]
        task["basedOn"] = [{"identifier": ours}]
    return task


def _identifier(bundle: dict[str, Any], resource_type: str, system: str) -> str | None:
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") or {}
        if resource.get("resourceType") != resource_type:
            continue
        for ident in resource.get("identifier") or []:
            if ident.get("system") == system:
                return ident.get("value")
    return None
