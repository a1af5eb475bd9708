"""Operations routes: liveness, readiness and metrics. Thin: the checks and the registry live beside this.

Declared one by one so that access control can be added per route (probes usually stay open to the
orchestrator; /metrics is usually limited to the monitoring network).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ed_alerts.auth.policy import public
from ed_alerts.deps import get_services
from ed_alerts.operations.metrics import CONTENT_TYPE
from ed_alerts.operations.readiness import readiness
from ed_alerts.services import Services

router = APIRouter(tags=["operations"])
ServicesDep = Annotated[Services, Depends(get_services)]


class ReadinessCheck(BaseModel):
    name: str
    ok: bool
    detail: str


class Readiness(BaseModel):
    """The body of /readyz, ready or not (for the OpenAPI document; the route builds it as a dict)."""

    status: Literal["ready", "not ready"]
    failing: list[str]
    checks: list[ReadinessCheck]


@router.get("/healthz", summary="Liveness: the process answers", dependencies=[public()])
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: database, migrations, rule pack, MLLP listener, ingest worker",
            responses={200: {"model": Readiness},
                       503: {"model": Readiness, "description": "not ready; the failing checks are listed"}},
            dependencies=[public()])
def readyz(request: Request, services: ServicesDep) -> JSONResponse:
    checks = readiness(services.db, services.pack, mllp_enabled=services.settings.mllp_enabled,
                       mllp=getattr(request.app.state, "mllp", None),
                       worker=getattr(request.app.state, "ingest_worker", None))
    failing = [c.name for c in checks if not c.ok]
    body: dict[str, Any] = {
        "status": "not ready" if failing else "ready",
        "failing": failing,
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in checks],
    }
    return JSONResponse(body, status_code=503 if failing else 200)


@router.get("/metrics", summary="Prometheus metrics (text exposition format)", response_class=Response,
            dependencies=[public()],
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
def metrics(services: ServicesDep) -> Response:
    return Response(services.metrics.render(), media_type=CONTENT_TYPE)
