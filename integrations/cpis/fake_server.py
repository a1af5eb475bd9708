"""A fake CP-IS FHIR R4 API over real HTTP, for development and tests.

`FakeCpis` runs uvicorn on a background thread (loopback, a free port by default), holds synthetic
children (fake_state.py), and can be told to be slow, fail (503) or be down (its socket really
closed: connections are refused). It records every search with the headers CP-IS cares about, so a
test can prove the IsUnscheduledAccessEvent header was sent, and which NHS numbers were searched.

    GET  /CareTeam?patient:identifier=https://fhir.nhs.uk/Id/nhs-number|<n>   the search
    POST /_control     {"mode": "slow", "delay_s": 3, "fail_next": 2, "down_for_s": 5, ...}
    POST /_children    {"nhs_number": ..., "plans": [{"plan_type": ..., "start": ..., "end": ...}], ...}
    GET  /_requests    every search received, and the children held
    POST /_reset       forget the searches received
    GET  /_health      {"status": "ok", "mode": ...}
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from datetime import date
from typing import Self

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from ..loopback.server import LoopbackFake, run_until_stopped, status_router
from .codes import CARE_TEAM_PATH, FHIR_JSON, SEARCH_PARAMETER
from .fake_state import (
    EXAMPLESHIRE,
    FakeAuthority,
    FakeChild,
    FakeCpisState,
    FakeMode,
    FakePlan,
    FakeRequest,
    FakeSettings,
)
from .result import PlanType

log = logging.getLogger(__name__)


class ControlRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: FakeMode | None = None
    delay_s: float | None = Field(default=None, ge=0, le=600)
    fail_next: int | None = Field(default=None, ge=0)
    retry_after_s: int | None = Field(default=None, ge=0)
    down_for_s: float | None = Field(default=None, gt=0, le=3600)  # with mode "down": come back by itself


class PlanIn(BaseModel):
    plan_type: PlanType
    start: date
    end: date | None = None


class ChildIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nhs_number: str
    plans: list[PlanIn] = Field(default_factory=list)  # none: CP-IS holds nothing for this number
    authority_name: str = EXAMPLESHIRE.name
    authority_ods: str = EXAMPLESHIRE.ods
    emergency_phone: str = EXAMPLESHIRE.emergency_phone
    office_phone: str = EXAMPLESHIRE.office_phone
    label: str = ""


def create_app(state: FakeCpisState, go_down: Callable[[float], None] | None = None) -> FastAPI:
    app = FastAPI(title="fake CP-IS", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get(CARE_TEAM_PATH)
    async def care_team(request: Request) -> Response:
        base_url = str(request.base_url).rstrip("/")
        answer, delay_s = state.search(request.query_params.get(SEARCH_PARAMETER),
                                       {k.lower(): v for k, v in request.headers.items()}, base_url,
                                       request.url.query)
        if delay_s:
            try:
                await asyncio.sleep(delay_s)
            except asyncio.CancelledError:
                # The fake is going down mid-stall; the caller gave up long ago. Nothing to add.
                return Response(status_code=503)
        return Response(json.dumps(answer.body), status_code=answer.status, headers=answer.headers,
                         media_type=FHIR_JSON)

    @app.post("/_control")
    def control(body: ControlRequest) -> JSONResponse:
        changes = body.model_dump(exclude_none=True, exclude={"mode", "down_for_s"})
        state.configure(**changes)
        if body.mode is FakeMode.DOWN:
            if go_down is None or body.down_for_s is None:
                return JSONResponse({"error": "down needs down_for_s, or nothing could bring it back"}, 400)
            # From another thread: stopping the server waits for this very request to finish.
            threading.Thread(target=go_down, args=(body.down_for_s,), daemon=True).start()
        elif body.mode is not None:
            state.configure(mode=body.mode)
        return JSONResponse(state.snapshot()["settings"])

    @app.post("/_children")
    def seed(body: ChildIn) -> JSONResponse:
        try:
            state.seed(FakeChild(
                nhs_number=body.nhs_number,
                plans=tuple(FakePlan(p.plan_type, p.start, p.end) for p in body.plans),
                authority=FakeAuthority(body.authority_name, body.authority_ods, body.emergency_phone,
                                        body.office_phone), label=body.label))
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse({"children": len(state.children())})

    @app.get("/_requests")
    def requests() -> JSONResponse:
        return JSONResponse(state.snapshot())

    app.include_router(status_router(state))
    return app


class FakeCpis(LoopbackFake[FakeMode]):
    """The fake CP-IS as a real HTTP server on a background thread; a context manager.

    `base_url` is the FHIR base to configure as ED_ALERTS_CPIS_URL. `set_mode` takes ok, slow, fail
    or down, and settings as in FakeSettings (delay_s, fail_next, retry_after_s).
    """

    state: FakeCpisState  # the base knows only its mode; introspection below reads the searches

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, token: str | None = None,
                 mode: FakeMode | str = FakeMode.OK, delay_s: float = 10.0,
                 children: list[FakeChild] | None = None) -> None:
        state = FakeCpisState(token=token, settings=FakeSettings(mode=FakeMode(mode), delay_s=delay_s),
                              children=children)
        # force_exit: slow mode stalls 10 s by default, far past uvicorn's graceful shutdown.
        super().__init__(host, port, state=state, app=create_app(state, self.go_down), up=FakeMode.OK,
                         down=FakeMode.DOWN, thread_name="fake-cpis", force_exit=True)

    def start(self) -> Self:
        super().start()
        log.info("fake CP-IS at %s (mode %s)", self.base_url, self.mode.value)
        return self

    # --- steering ------------------------------------------------------------------------------

    def seed(self, child: FakeChild) -> None:
        self.state.seed(child)

    # --- introspection -------------------------------------------------------------------------

    def children(self) -> list[FakeChild]:
        return self.state.children()

    def requests(self) -> list[FakeRequest]:
        """Every search received, in order, whatever it was answered."""
        return self.state.requests()

    def access_events(self) -> list[FakeRequest]:
        return self.state.access_events()


def run_fake_cpis(host: str = "127.0.0.1", port: int = 8095, *, token: str | None = None, mode: str = "ok",
                  delay_s: float = 10.0, ready: Callable[[FakeCpis], None] | None = None) -> None:
    """Run the fake in the foreground until Ctrl+C or SIGTERM."""
    run_until_stopped(FakeCpis(host, port, token=token, mode=mode, delay_s=delay_s), ready)
