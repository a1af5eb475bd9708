"""`POST /auth/token` (OAuth2 password flow) and `GET /auth/me`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordRequestForm

from ed_alerts.auth import tokens
from ed_alerts.auth.policy import authenticator, public, signed_in
from ed_alerts.auth.principal import Principal
from ed_alerts.auth.schemas import Me, TokenResponse
from ed_alerts.auth.signin import Attempt, sign_in
from ed_alerts.deps import get_services
from ed_alerts.openapi import errors
from ed_alerts.services import Services

router = APIRouter(prefix="/auth", tags=["auth"])


def client_ip(request: Request) -> str:
    # Behind a proxy, run uvicorn with --proxy-headers and --forwarded-allow-ips so this is the client.
    return request.client.host if request.client else "unknown"


@router.post("/token", dependencies=[public()], summary="Exchange a user name and password for a bearer token",
             responses=errors(401, 429))
async def token(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()],
                services: Annotated[Services, Depends(get_services)]) -> TokenResponse:
    attempt = Attempt(username=form.username, password=form.password, client_ip=client_ip(request),
                      channel="token")
    auth = authenticator(request)
    principal = await run_in_threadpool(sign_in, auth, services.db, attempt)
    assert principal.user_id is not None
    access, expires = tokens.issue(auth.settings, user_id=principal.user_id, name=principal.name,
                                   role=principal.role.value)
    return TokenResponse(access_token=access, expires_in=int((expires - datetime.now(UTC)).total_seconds()))


@router.get("/me", summary="Who the credentials belong to, with role and scope")
def me(principal: Annotated[Principal, signed_in()]) -> Me:
    return Me(name=principal.name, role=principal.role, sites=sorted(principal.sites), trust=principal.trust,
              authenticated_by=principal.via)
