"""Send one referral to one local authority, once, and classify the answer.

`ReferralSender.send` makes exactly one HTTP attempt: the referral outbox owns retries, because
each attempt must be persisted before the next is scheduled (see retry.py). Logs carry the
referral id, authority code, attempt and HTTP status only: the payload identifies a child.
"""

from __future__ import annotations

import json
import logging
import time
from types import TracebackType
from typing import Any, Self

import httpx

from .answers import classify_exception, classify_response
from .delivery import DeliveryResult, DeliveryStatus, ReferralDelivery
from .endpoint import LocalAuthorityEndpoint
from .payload import ReferralPayload, to_fhir_bundle
from .retry import RetriedDelivery, deliver_with_retries, next_attempt_delay

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/fhir+json"
USER_AGENT = "ed-alerts referral sender"
MAX_ANSWER_BYTES = 1024 * 1024  # an acknowledgement is small; a huge answer is cut, not buffered

__all__ = [
    "DeliveryResult", "DeliveryStatus", "LocalAuthorityEndpoint", "ReferralDelivery", "ReferralSender",
    "RetriedDelivery", "deliver_with_retries", "encode_bundle", "next_attempt_delay",
]


def encode_bundle(bundle: dict[str, Any]) -> bytes:
    return json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class ReferralSender:
    """A ReferralDelivery over httpx. One client (and its connection pool) serves every authority."""

    def __init__(self, client: httpx.Client | None = None, *, user_agent: str = USER_AGENT) -> None:
        self._owns_client = client is None
        # Redirects are not followed: a redirected POST may be replayed as a GET or land elsewhere.
        self._client = client or httpx.Client(follow_redirects=False)
        self._user_agent = user_agent

    def send(self, payload: ReferralPayload, endpoint: LocalAuthorityEndpoint, *, attempt: int = 1
             ) -> DeliveryResult:
        if payload.local_authority_code != endpoint.code:
            # Sending a child's referral to the wrong authority is a data breach: refuse loudly.
            raise ValueError(f"referral {payload.referral_id} is for authority {payload.local_authority_code!r}, "
                             f"not {endpoint.code!r}")
        body = encode_bundle(to_fhir_bundle(payload))
        headers = {
            "Content-Type": CONTENT_TYPE,
            "Accept": f"{CONTENT_TYPE}, application/json;q=0.9",
            "Idempotency-Key": payload.idempotency_key,
            "User-Agent": self._user_agent,
            **endpoint.auth_headers(),
        }
        started = time.monotonic()
        try:
            result = self._post(endpoint, body, headers)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            result = classify_exception(exc)
        self._log(payload, endpoint, attempt, result, time.monotonic() - started)
        return result

    def _post(self, endpoint: LocalAuthorityEndpoint, body: bytes, headers: dict[str, str]) -> DeliveryResult:
        request = self._client.build_request("POST", endpoint.url, content=body, headers=headers,
                                             timeout=endpoint.timeout_s)
        response = self._client.send(request, auth=endpoint.auth(), stream=True)
        try:
            answer = bytearray()
            for chunk in response.iter_bytes():
                answer += chunk[: MAX_ANSWER_BYTES - len(answer)]
                if len(answer) >= MAX_ANSWER_BYTES:
                    break
        finally:
            response.close()
        return classify_response(response.status_code, response.headers, bytes(answer))

    @staticmethod
    def _log(payload: ReferralPayload, endpoint: LocalAuthorityEndpoint, attempt: int, result: DeliveryResult,
             elapsed_s: float) -> None:
        level = logging.INFO if result.is_accepted else logging.WARNING
        log.log(level, "referral delivery: referral=%s la=%s attempt=%d outcome=%s cause=%s http=%s ms=%d",
                payload.referral_id, endpoint.code, attempt, result.status.value, result.cause,
                result.http_status if result.http_status is not None else "-", round(elapsed_s * 1000))

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
