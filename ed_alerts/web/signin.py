"""The sign-in page, sign-in and sign-out for the browser: a session cookie, CSRF-protected forms.

The session cookie holds our signed session token: HttpOnly, SameSite=Lax (so a link from e-mail to a
page still arrives signed in, while cross-site form posts do not carry it), Secure outside development.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from ed_alerts.audit.service import record
from ed_alerts.auth import csrf, tokens
from ed_alerts.auth.authenticate import session_cookie_name
from ed_alerts.auth.errors import Forbidden, TooManyAttempts, Unauthorized
from ed_alerts.auth.policy import authenticator, public
from ed_alerts.auth.principal import Principal
from ed_alerts.auth.router import client_ip
from ed_alerts.auth.signin import FAILED, Attempt, sign_in
from ed_alerts.deps import get_services
from ed_alerts.errors import DomainError
from ed_alerts.services import Services
from ed_alerts.web.templates import render

router = APIRouter(tags=["web"], include_in_schema=False, dependencies=[public()])
ServicesDep = Annotated[Services, Depends(get_services)]
DEFAULT_LANDING = "/signin"  # the web pages will land on their home page instead


def safe_next(value: str | None) -> str:
    """Only a path on this site, so the sign-in page cannot be used to send people elsewhere."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")) or any(c in value for c in "\r\n"):
        return DEFAULT_LANDING
    return value


def _signed_in(request: Request, services: Services) -> Principal | None:
    cookie = request.cookies.get(session_cookie_name(authenticator(request).settings))
    if not cookie:
        return None
    try:
        return authenticator(request).from_session(cookie, services.db)
    except DomainError:
        return None  # an expired or revoked session just shows the form


@router.get("/signin", name="signin_page")
def signin_page(request: Request, services: ServicesDep, next: str | None = None) -> Response:
    principal = _signed_in(request, services)
    return render(request, authenticator(request).settings, "signin.html",
                  {"signed_in": principal, "next": safe_next(next), "username": "", "error": None})


@router.post("/signin", name="signin_submit")
async def signin_submit(request: Request, services: ServicesDep,
                        username: Annotated[str, Form(max_length=200)] = "",
                        password: Annotated[str, Form(max_length=1000)] = "",
                        csrf_token: Annotated[str, Form(max_length=200)] = "",
                        next: Annotated[str, Form(max_length=2000)] = "") -> Response:
    settings = authenticator(request).settings  # the app's: the same that verifies

    def page(error: str, status: int) -> Response:
        return render(request, settings, "signin.html", {"signed_in": None, "next": safe_next(next),
                                                         "username": username, "error": error},
                      status_code=status)

    try:
        csrf.verify(request, settings, csrf_token)
    except Forbidden as exc:
        return page(exc.reason, 403)
    attempt = Attempt(username=username, password=password, client_ip=client_ip(request), channel="web")
    try:
        principal = await run_in_threadpool(sign_in, authenticator(request), services.db, attempt)
    except TooManyAttempts as exc:
        response = page(f"Too many failed sign-ins. Try again in {exc.retry_after_s} seconds.", 429)
        response.headers.update(exc.headers)
        return response
    except Unauthorized:
        return page(f"Sign-in failed: {FAILED}.", 401)
    assert principal.user_id is not None
    session_token, expires = tokens.issue(settings, user_id=principal.user_id, name=principal.name,
                                          role=principal.role.value, kind="session")
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(session_cookie_name(settings), session_token, httponly=True, samesite="lax",
                        secure=csrf.secure_cookies(settings), path="/", expires=expires)
    csrf.set_cookie(response, settings, csrf.new_cookie_value())  # a planted pre-sign-in value dies here
    return response


@router.post("/signout", name="signout")
async def signout(request: Request, services: ServicesDep,
                  csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    settings = authenticator(request).settings  # the app's: the same that verifies
    csrf.verify(request, settings, csrf_token)
    principal = await run_in_threadpool(_signed_in, request, services)
    if principal is not None:
        def audit() -> None:
            with services.db.session() as session:
                record(session, principal.actor, "auth.signout", "user", principal.name)
        await run_in_threadpool(audit)
    response = RedirectResponse(DEFAULT_LANDING, status_code=303)
    response.delete_cookie(session_cookie_name(settings), path="/", secure=csrf.secure_cookies(settings),
                           httponly=True, samesite="lax")
    csrf.set_cookie(response, settings, csrf.new_cookie_value())
    return response
