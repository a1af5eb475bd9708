"""Classify what the authority answered (or failed to answer) into a DeliveryResult.

Pure functions over httpx responses and exceptions, so every branch is testable without a
network. The contract they implement is in README.md ("HTTP contract").
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from .codes import OUR_SYSTEM_BASE
from .delivery import DeliveryResult

MAX_REASON_CHARS = 500
MAX_RETRY_AFTER_S = 3600.0
# 408 and 429 say "not now"; 425 "too early" (a replay the server is not ready for); 409 is a replay
# of a key whose first request is still in flight, unless the answer already names the reference.
RETRYABLE_4XX = frozenset({408, 425, 429})
_HISTORY = re.compile(r"/_history/[^/]*$")

# Transport failures: what could have happened, and whether the authority may have the referral.
# All are retryable because the idempotency key makes a resend safe either way.
_TRANSPORT_CAUSES: tuple[tuple[type[httpx.TransportError], str], ...] = (
    (httpx.ConnectTimeout, "connect_timeout"),
    (httpx.ReadTimeout, "read_timeout"),
    (httpx.WriteTimeout, "write_timeout"),
    (httpx.PoolTimeout, "pool_timeout"),
    (httpx.ConnectError, "connect_error"),
    (httpx.ReadError, "read_error"),
    (httpx.WriteError, "write_error"),
    (httpx.RemoteProtocolError, "remote_protocol_error"),
    (httpx.ProxyError, "proxy_error"),
    (httpx.TransportError, "transport_error"),
)


def classify_response(status: int, headers: httpx.Headers, body: bytes) -> DeliveryResult:
    data = _json(body)
    if 200 <= status < 300:
        reference = find_reference(data, headers)
        return DeliveryResult.accepted(reference, cause="created" if status == 201 else f"http_{status}",
                                       http_status=status)
    if status == 409:
        reference = find_reference(data, headers)
        if reference:
            return DeliveryResult.accepted(reference, cause="replay", http_status=status)
        return DeliveryResult.retryable(f"HTTP 409: {rejection_reason(data, body)}", cause="http_409",
                                        http_status=status, retry_after_s=retry_after(headers))
    if status in RETRYABLE_4XX or status >= 500:
        return DeliveryResult.retryable(f"HTTP {status}: {rejection_reason(data, body)}", cause=f"http_{status}",
                                        http_status=status, retry_after_s=retry_after(headers))
    if status in (401, 403):
        # The referral is fine; our credentials are not. Still permanent for this attempt series:
        # retrying cannot fix configuration, and a person must be told now, not after the backoff.
        return DeliveryResult.rejected(f"HTTP {status}: the authority refused our credentials: "
                                       f"{rejection_reason(data, body)}", cause="auth", http_status=status)
    if 300 <= status < 400:
        return DeliveryResult.rejected(f"HTTP {status}: the endpoint redirects (to {headers.get('location')!r}); "
                                       "update the configured URL", cause="redirect", http_status=status)
    return DeliveryResult.rejected(f"HTTP {status}: {rejection_reason(data, body)}", cause=f"http_{status}",
                                   http_status=status)


def classify_exception(exc: Exception) -> DeliveryResult:
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError | httpx.InvalidURL):
        # Our side is misconfigured (bad URL scheme, header values): no resend will get through.
        return DeliveryResult.rejected(f"cannot send: {type(exc).__name__}: {exc}", cause="config")
    for kind, cause in _TRANSPORT_CAUSES:
        if isinstance(exc, kind):
            return DeliveryResult.retryable(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__,
                                            cause=cause)
    raise TypeError(f"not a transport failure: {type(exc).__name__}") from exc


def find_reference(data: Any, headers: httpx.Headers) -> str | None:
    """The authority's case reference, in the documented order of preference."""
    if isinstance(data, dict):
        direct = data.get("reference")
        if isinstance(direct, str) and direct.strip():
            return direct.strip()
        if data.get("resourceType") == "Bundle":
            located = _bundle_location(data)
            if located:
                return located
        elif isinstance(data.get("identifier"), list | dict):
            identified = _their_identifier(data["identifier"])
            if identified:
                return identified
    location = headers.get("location")
    return _HISTORY.sub("", location.strip()) if location and location.strip() else None


def _their_identifier(identifiers: list[Any] | dict[str, Any]) -> str | None:
    # The authority may echo our referral identifier back; its own is any other system.
    for ident in identifiers if isinstance(identifiers, list) else [identifiers]:
        if not isinstance(ident, dict):
            continue
        system, value = ident.get("system") or "", ident.get("value")
        if isinstance(value, str) and value.strip() and not str(system).startswith(OUR_SYSTEM_BASE):
            return value.strip()
    return None


def _bundle_location(bundle: dict[str, Any]) -> str | None:
    # A transaction-response: the Task (the referral as the authority tracks it), else the ServiceRequest.
    locations = []
    for entry in bundle.get("entry") or []:
        response = entry.get("response") if isinstance(entry, dict) else None
        location = response.get("location") if isinstance(response, dict) else None
        if isinstance(location, str) and location.strip():
            locations.append(_HISTORY.sub("", location.strip()))
    for prefix in ("Task/", "ServiceRequest/"):
        for location in locations:
            if location.startswith(prefix) or f"/{prefix}" in location:
                return location
    return None


def rejection_reason(data: Any, body: bytes) -> str:
    """Why the authority said no: OperationOutcome issues, a JSON message, or the start of the body."""
    if isinstance(data, dict):
        if data.get("resourceType") == "OperationOutcome":
            parts = [_issue_text(issue) for issue in data.get("issue") or [] if isinstance(issue, dict)]
            if any(parts):
                return _clip("; ".join(p for p in parts if p))
        for key in ("reason", "detail", "message", "error", "title"):
            if isinstance(data.get(key), str) and data[key].strip():
                return _clip(data[key].strip())
    text = body.decode("utf-8", errors="replace").strip()
    return _clip(" ".join(text.split())) if text else "no reason given"


def _issue_text(issue: dict[str, Any]) -> str:
    details = issue["details"] if isinstance(issue.get("details"), dict) else {}
    message = issue.get("diagnostics") or details.get("text") or ""
    code = issue.get("code") or ""
    return f"{code}: {message}" if code and message else str(message or code)


def retry_after(headers: httpx.Headers) -> float | None:
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # an HTTP-date is GMT even when it fails to say so
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def _clip(text: str) -> str:
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"
