"""The FastAPI application: built by `create_app(settings)`; everything stateful starts in the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ed_alerts.attendances.router import router as attendances_router
from ed_alerts.auth.authenticate import Authenticator
from ed_alerts.auth.router import router as auth_router
from ed_alerts.cds_hooks.router import router as cds_hooks_router
from ed_alerts.errors import DomainError
from ed_alerts.fhir_api.router import router as fhir_router
from ed_alerts.ingest.mllp_listener import build_mllp_server
from ed_alerts.ingest.pipeline import process_pending
from ed_alerts.ingest.router import router as ingest_router
from ed_alerts.ingest.worker import IngestWorker
from ed_alerts.ingest.worker_process import WorkerProcess
from ed_alerts.openapi import install as install_openapi
from ed_alerts.operations.router import router as operations_router
from ed_alerts.referrals.jobs import referral_jobs
from ed_alerts.referrals.router import router as referrals_router
from ed_alerts.scheduler.runner import JobScheduler
from ed_alerts.services import Services
from ed_alerts.settings import Settings, get_settings
from ed_alerts.social_care.worker import CpisWorker
from ed_alerts.users.router import router as users_router
from ed_alerts.violence_export.router import router as violence_export_router
from ed_alerts.web.app import mount_web
from ed_alerts.web.signin import router as signin_router

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = services is None
        svc = services or Services.build(settings)
        app.state.services = svc
        # Messages stored but not processed when the process last died are finished first.
        recovered = process_pending(svc.ingest)
        if recovered:
            log.info("recovered %s messages left unprocessed by an earlier run", recovered)
        mllp = None
        worker: IngestWorker | WorkerProcess | None = None
        if settings.mllp_ack == "stored":
            worker = (WorkerProcess(settings, svc.ingest) if settings.ingest_worker_process
                      else IngestWorker(svc.ingest))
        app.state.ingest_worker = worker
        if worker is not None:
            worker.start()
        if settings.mllp_enabled:
            mllp = build_mllp_server(settings, svc.ingest, worker)
            await mllp.start()
            log.info("MLLP listening on %s:%s", settings.mllp_host, mllp.port)
        app.state.mllp = mllp
        scheduler = None
        if settings.scheduler_enabled:
            scheduler = JobScheduler(svc, referral_jobs(settings))
            scheduler.start()
        cpis_worker = None
        if svc.cpis is not None:  # its own thread: lookups are claimed with leases, no leader needed
            cpis_worker = CpisWorker(svc.cpis)
            cpis_worker.start()
        try:
            yield
        finally:
            if cpis_worker is not None:
                cpis_worker.stop()
            if scheduler is not None:
                scheduler.shutdown()
            if mllp is not None:
                await mllp.stop()
            if worker is not None:
                worker.stop()
            if own:
                svc.close()

    app = FastAPI(title="ed-alerts", version="0.1.0", lifespan=lifespan,
                  description="Safeguarding flags and referral tracking for children in emergency care")

    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        # Access errors carry headers (WWW-Authenticate on 401, Retry-After on 429).
        return JSONResponse(exc.body(), status_code=exc.status_code, headers=getattr(exc, "headers", None))

    # Built with the app, not in the lifespan: it holds the sign-in limiter and the OIDC key cache.
    app.state.auth = Authenticator.from_settings(settings)

    app.include_router(operations_router)
    app.include_router(auth_router)
    app.include_router(signin_router)
    app.include_router(users_router)
    app.include_router(ingest_router)
    app.include_router(attendances_router)
    app.include_router(referrals_router)
    app.include_router(fhir_router)  # after ingest: its catch-all GET /fhir/{type} must not shadow it
    app.include_router(cds_hooks_router)
    app.include_router(violence_export_router)
    mount_web(app)  # last: the pages (ed_alerts/web), a sub-application with its own error pages
    install_openapi(app)  # 401/403 from each route's policy, so the document lists every answer
    return app
