"""Search CP-IS once for one child, over httpx, and say what the answer means.

`CpisClient.lookup` makes exactly one GET and never raises for what the network or CP-IS does:
timeouts, refusals, errors and unreadable answers come back as `CpisResult.error` with a cause and
whether retrying may help. The caller (ed_alerts' lookup queue) owns retries, because each attempt
must be recorded before the next is scheduled.

Logs carry the correlation id, TraceID, outcome, cause, HTTP status and duration: never the NHS
number, the URL (its query holds the NHS number) or the answer (it names a local authority's child).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Self

import httpx
import nhs_number as nhs

from .codes import (
    FHIR_JSON,
    HEADER_ACCESS_EVENT,
    HEADER_CORRELATION_ID,
    HEADER_REQUEST_ID,
    HEADER_TRACE_ID,
    NHS_NUMBER_SYSTEM,
    SEARCH_PARAMETER,
)
from .endpoint import CpisEndpoint
from .parse import CpisAnswerError, operation_outcome_code, parse_search_bundle
from .result import CpisResult

log = logging.getLogger(__name__)

USER_AGENT = "ed-alerts CP-IS client"
MAX_ANSWER_BYTES = 1024 * 1024  # a child has a few CareTeams; a huge answer is refused, not buffered
MAX_RETRY_AFTER_S = 3600.0
_RETRYABLE_STATUSES = {408, 425, 429, 500, 502, 503, 504}


class _DropQueryStrings(logging.Filter):
    """httpx logs each request's URL at INFO ("HTTP Request: GET https://…?patient:identifier=…|<NHS
    number>"). Whatever level the host application sets, the query is cut from those records."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(isinstance(a, httpx.URL) and a.query for a in args):
            record.args = tuple(a.copy_with(query=None) if isinstance(a, httpx.URL) else a for a in args)
        return True


def _guard_httpx_log() -> None:
    httpx_log = logging.getLogger("httpx")
    if not any(isinstance(f, _DropQueryStrings) for f in httpx_log.filters):
        httpx_log.addFilter(_DropQueryStrings())


def search_params(nhs_number: str) -> dict[str, str]:
    """The one search CP-IS supports: patient:identifier=<NHS number system>|<NHS number>."""
    return {SEARCH_PARAMETER: f"{NHS_NUMBER_SYSTEM}|{nhs_number}"}


class CpisClient:
    """A ChildProtectionLookup over httpx; one connection pool for every lookup."""

    def __init__(self, endpoint: CpisEndpoint, client: httpx.Client | None = None, *,
                 user_agent: str = USER_AGENT) -> None:
        self.endpoint = endpoint
        self._owns_client = client is None
        # Redirects are not followed: the query names a child, and must only go where configured.
        self._client = client or httpx.Client(follow_redirects=False)
        self._user_agent = user_agent
        _guard_httpx_log()

    def headers(self, *, trace_id: str, correlation_id: str | None, unscheduled: bool) -> dict[str, str]:
        headers = {
            "Accept": f"{FHIR_JSON}, application/json;q=0.9",
            "User-Agent": self._user_agent,
            # "true" tells CP-IS this is an unscheduled care contact: it records the access and
            # notifies the child's local authority. That notification is the point of asking.
            HEADER_ACCESS_EVENT: "true" if unscheduled else "false",
            HEADER_TRACE_ID: trace_id,
            HEADER_REQUEST_ID: trace_id,
            **self.endpoint.static_headers(),
        }
        if correlation_id:
            headers[HEADER_CORRELATION_ID] = correlation_id
        return headers

    def lookup(self, nhs_number: str, *, correlation_id: str | None = None,
               unscheduled: bool = True) -> CpisResult:
        digits = nhs_number.replace(" ", "") if isinstance(nhs_number, str) else ""
        if not (len(digits) == 10 and digits.isdigit() and nhs.is_valid(digits)):
            # Only verified numbers may be searched: a typo would search (and notify about) another child.
            raise ValueError("CP-IS lookups need a valid NHS number (Modulus 11)")
        trace_id = str(uuid.uuid4())
        started = time.monotonic()
        try:
            result = self._get(digits, trace_id, correlation_id, unscheduled, started)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            result = _classify_exception(exc, trace_id)
        self._log(correlation_id, result, time.monotonic() - started)
        return result

    def _get(self, nhs_number: str, trace_id: str, correlation_id: str | None, unscheduled: bool,
             started: float) -> CpisResult:
        budget = self.endpoint.timeout_s
        request = self._client.build_request(
            "GET", self.endpoint.search_url, params=search_params(nhs_number),
            headers=self.headers(trace_id=trace_id, correlation_id=correlation_id, unscheduled=unscheduled),
            timeout=httpx.Timeout(budget))
        response = self._client.send(request, stream=True)
        try:
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    return CpisResult.error("answer_too_large", "the answer exceeded 1 MiB", retryable=False,
                                            http_status=response.status_code, trace_id=trace_id)
                # httpx's timeouts are per phase; a trickling answer must not outlast the whole budget.
                if time.monotonic() - started > budget:
                    raise httpx.ReadTimeout("the answer did not arrive within the lookup timeout")
        finally:
            response.close()
        return _classify_response(response.status_code, response.headers, bytes(body), nhs_number, trace_id)

    @staticmethod
    def _log(correlation_id: str | None, result: CpisResult, elapsed_s: float) -> None:
        level = logging.INFO if result.answered else logging.WARNING
        log.log(level, "CP-IS lookup: correlation=%s trace=%s outcome=%s cause=%s http=%s plans=%d ms=%d",
                correlation_id or "-", result.trace_id, result.outcome.value, result.cause,
                result.http_status if result.http_status is not None else "-", len(result.plans),
                round(elapsed_s * 1000))

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _json(body: bytes) -> object:
    try:
        return json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return None


def _classify_response(status: int, headers: httpx.Headers, body: bytes, nhs_number: str,
                       trace_id: str) -> CpisResult:
    data = _json(body)
    common = {"http_status": status, "trace_id": trace_id}
    if 200 <= status < 300:
        if data is None:
            return CpisResult.error("invalid_response", "the answer is not JSON", retryable=False, **common)
        code, text = operation_outcome_code(data)
        if code is not None or (isinstance(data, dict) and data.get("resourceType") == "OperationOutcome"):
            return CpisResult.error((code or "operation_outcome").lower(), text or "an OperationOutcome",
                                    retryable=False, **common)
        try:
            plans = parse_search_bundle(data, nhs_number)
        except CpisAnswerError as exc:
            return CpisResult.error(exc.cause, exc.reason, retryable=False, **common)
        return CpisResult.found(plans, **common)
    code, text = operation_outcome_code(data)
    reason = f"HTTP {status}" + (f": {text}" if text else "")
    if status in _RETRYABLE_STATUSES:
        return CpisResult.error(f"http_{status}", reason, retryable=True, retry_after_s=_retry_after(headers),
                                **common)
    if status in (401, 403):
        # Our credentials or rights are wrong: retrying cannot help; a person must fix the configuration.
        return CpisResult.error("auth", reason, retryable=False, **common)
    if 300 <= status < 400:
        return CpisResult.error("redirect", reason + " (redirects are not followed)", retryable=False,
                                **common)
    return CpisResult.error((code or f"http_{status}").lower(), reason, retryable=False, **common)


def _classify_exception(exc: Exception, trace_id: str) -> CpisResult:
    # Messages are not copied: httpx may name the URL, whose query holds the NHS number.
    if isinstance(exc, httpx.ConnectTimeout):
        cause = "connect_timeout"
    elif isinstance(exc, httpx.ReadTimeout):
        cause = "read_timeout"
    elif isinstance(exc, httpx.TimeoutException):
        cause = "timeout"
    elif isinstance(exc, httpx.ConnectError):
        cause = "connect_error"
    elif isinstance(exc, httpx.RemoteProtocolError):
        cause = "remote_protocol_error"
    elif isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.LocalProtocolError)):
        return CpisResult.error("config", f"the request could not be made ({type(exc).__name__})",
                                retryable=False, trace_id=trace_id)
    elif isinstance(exc, httpx.TransportError):
        cause = "transport_error"
    else:
        cause = "http_error"
    return CpisResult.error(cause, f"no answer from CP-IS ({type(exc).__name__})", retryable=True,
                            trace_id=trace_id)
