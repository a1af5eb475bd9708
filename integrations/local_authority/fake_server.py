"""A fake local authority over real HTTP, for development and tests.

`FakeLocalAuthority` runs uvicorn on a background thread (loopback, a free port by default) and
can be told to accept, fail (503), be slow, reject (422) or be down (its socket really closed, so
connections are refused). It accepts each idempotency key once and answers replays with the same
case reference, and it counts every POST, so a test can prove "delivered exactly once".

Steer it in process (`set_mode`, `fail_next`, `deliveries`) or over HTTP, which is how a test
drives `ed-alerts fake-la` in another process (fake_client.py wraps these):

    POST /referrals        the referral endpoint (the FHIR Bundle, see README.md)
    POST /_control         {"mode": "fail", "delay_s": 1, "fail_next": 3, "down_for_s": 5, ...}
    GET  /_deliveries      received count, POSTs per key, accepted deliveries in order (?bundles=true)
    POST /_reset           forget everything received
    GET  /_health          {"status": "ok", "mode": ...}

The control routes are also served on an optional always-up control port, the only way to bring
a fake that is `down` back up over HTTP without a `down_for_s`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from typing import Protocol, Self

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..loopback.answer import Answer
from ..loopback.server import LoopbackFake, run_until_stopped, status_router
from .fake_state import FakeDelivery, FakeLAState, FakeMode, FakeSettings, operation_outcome

log = logging.getLogger(__name__)

REFERRAL_PATH = "/referrals"
FHIR_JSON = "application/fhir+json"
_ACCEPTED_CONTENT_TYPES = (FHIR_JSON, "application/json")


class _Switch(Protocol):
    """What the HTTP control routes need from the server manager to take the fake down and up."""

    has_control_port: bool

    def go_down(self, for_s: float | None = None) -> None: ...

    def come_up(self) -> None: ...


class ControlRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: FakeMode | None = None
    delay_s: float | None = Field(default=None, ge=0, le=600)
    fail_next: int | None = Field(default=None, ge=0)
    reject_reason: str | None = None
    replay_status: int | None = None
    retry_after_s: int | None = Field(default=None, ge=0)
    down_for_s: float | None = Field(default=None, gt=0, le=3600)  # with mode "down": come back by itself


# --- the ASGI apps --------------------------------------------------------------------------------


def create_app(state: FakeLAState, switch: _Switch | None = None) -> FastAPI:
    """The fake authority: the referral endpoint plus the control routes."""
    app = FastAPI(title="fake local authority", docs_url=None, redoc_url=None, openapi_url=None)

    @app.post(REFERRAL_PATH)
    async def referral(request: Request) -> Response:
        # Read the body first: an authority that stalls has still received the referral, which is
        # exactly the case (sender timed out, referral arrived) idempotency keys exist for.
        body = await request.body()
        key = _idempotency_key(request.headers.get("idempotency-key"))
        answer, delay_s = state.receive(key, request.headers.get("authorization"))
        if answer is None:
            answer = _check(request, body, key)
        if answer is None:
            assert key is not None  # _check answers 400 without one
            answer = state.accept(key, json.loads(body))
        if delay_s:
            await asyncio.sleep(delay_s)
        return _respond(answer)

    app.include_router(control_router(state, switch, on_control_port=False))
    return app


def create_control_app(state: FakeLAState, switch: _Switch | None = None) -> FastAPI:
    """The control routes alone, for the always-up control port."""
    app = FastAPI(title="fake local authority control", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(control_router(state, switch, on_control_port=True))
    return app


def control_router(state: FakeLAState, switch: _Switch | None, *, on_control_port: bool) -> APIRouter:
    router = APIRouter()

    @router.post("/_control")
    def control(request: ControlRequest) -> JSONResponse:
        changes = request.model_dump(exclude_none=True, exclude={"mode", "down_for_s"})
        try:
            state.configure(**changes)
        except ValueError as exc:
            return JSONResponse(operation_outcome("invalid", str(exc)), status_code=400)
        if request.mode is FakeMode.DOWN:
            if switch is None:
                return JSONResponse(operation_outcome("not-supported", "this fake cannot go down"), 400)
            if request.down_for_s is None and not (on_control_port or switch.has_control_port):
                return JSONResponse(operation_outcome(
                    "invalid", "down without down_for_s would leave no way back up: give down_for_s "
                    "or start the fake with a control port"), status_code=400)
            # From another thread: stopping waits for this very request to finish.
            threading.Thread(target=switch.go_down, args=(request.down_for_s,), daemon=True).start()
        elif request.mode is not None:
            state.configure(mode=request.mode)
            if switch is not None:
                switch.come_up()
        return JSONResponse(state.snapshot()["settings"])

    @router.get("/_deliveries")
    def deliveries(bundles: bool = False) -> JSONResponse:
        return JSONResponse(state.snapshot(with_bundles=bundles))

    router.include_router(status_router(state))
    return router


def _idempotency_key(header: str | None) -> str | None:
    # The IETF draft sends the key as a structured-field string ("..."); plain tokens are common too.
    if header is None:
        return None
    key = header.strip().strip('"').strip()
    return key or None


def _check(request: Request, body: bytes, key: str | None) -> Answer | None:
    """400/415 for a request no authority could accept; None when it is a well-formed referral."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in _ACCEPTED_CONTENT_TYPES:
        return Answer(415, operation_outcome("not-supported", f"send {FHIR_JSON}, not {content_type or 'nothing'}"))
    if key is None:
        return Answer(400, operation_outcome("required", "the Idempotency-Key header is required"))
    try:
        data = json.loads(body)
    except ValueError:
        return Answer(400, operation_outcome("structure", "the body is not JSON"))
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle" or data.get("type") != "transaction":
        return Answer(400, operation_outcome("structure", "expected a FHIR transaction Bundle"))
    if (data.get("identifier") or {}).get("value") != key:
        return Answer(400, operation_outcome("invalid", "Bundle.identifier.value must equal the Idempotency-Key"))
    from fhir.resources.R4B.bundle import Bundle  # slow to import; only the fake needs it

    try:
        Bundle.model_validate(data)
    except ValidationError as exc:
        # Locations only: the fake never echoes content (it may be a real-looking name).
        where = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})[:5]
        return Answer(400, operation_outcome("invalid", f"not a valid FHIR R4 Bundle at: {', '.join(where)}"))
    return None


def _respond(answer: Answer) -> Response:
    return Response(json.dumps(answer.body), status_code=answer.status, headers=answer.headers,
                    media_type=FHIR_JSON)


class FakeLocalAuthority(LoopbackFake[FakeMode]):
    """The fake authority as a real HTTP server on a background thread; a context manager.

    `url` is the referral endpoint to configure as a LocalAuthorityEndpoint's url. `set_mode` takes
    ok, fail, slow, reject or down, and settings as in FakeSettings (delay_s, reject_reason, ...).
    """

    state: FakeLAState  # the base knows only its mode; introspection below reads the deliveries

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, token: str | None = None,
                 mode: FakeMode | str = FakeMode.OK, delay_s: float = 2.0, control_port: int | None = None,
                 reference_prefix: str = "FAKE-LA") -> None:
        state = FakeLAState(token=token, reference_prefix=reference_prefix,
                            settings=FakeSettings(mode=FakeMode(mode), delay_s=delay_s))
        control_app = None if control_port is None else create_control_app(state, self)
        super().__init__(host, port, state=state, app=create_app(state, self), up=FakeMode.OK,
                         down=FakeMode.DOWN, thread_name="fake-la", control_app=control_app,
                         control_port=control_port)

    def start(self) -> Self:
        super().start()
        log.info("fake local authority at %s (mode %s)", self.url, self.mode.value)
        return self

    # --- steering ------------------------------------------------------------------------------

    def fail_next(self, count: int) -> None:
        """Answer the next `count` referrals 503, then carry on in the current mode."""
        self.state.configure(fail_next=count)

    # --- introspection -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.base_url + REFERRAL_PATH

    @property
    def received(self) -> int:
        """Every POST to the referral endpoint, whatever it was answered."""
        return self.state.received

    def deliveries(self) -> list[FakeDelivery]:
        """Accepted referrals, one per idempotency key, in the order they were first accepted."""
        return self.state.deliveries()

    def delivery(self, idempotency_key: str) -> FakeDelivery | None:
        return self.state.delivery(idempotency_key)

    def posts_by_key(self) -> dict[str, int]:
        return self.state.posts_by_key()

    def references(self) -> dict[str, str]:
        """Idempotency key -> the case reference issued for it."""
        return {d.idempotency_key: d.reference for d in self.state.deliveries()}


def run_fake_la(host: str = "127.0.0.1", port: int = 8090, *, token: str | None = None, mode: str = "ok",
                delay_s: float = 2.0, control_port: int | None = None,
                ready: Callable[[FakeLocalAuthority], None] | None = None) -> None:
    """Run the fake in the foreground until Ctrl+C or SIGTERM."""
    fake = FakeLocalAuthority(host, port, token=token, mode=mode, delay_s=delay_s, control_port=control_port)
    run_until_stopped(fake, ready)
