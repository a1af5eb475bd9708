"""The web UI as a sub-application mounted on the service: its pages, its error pages, its static files.

`mount_web(app)` adds it after every API router. It shares the service's state (services, the
authenticator) and resolves names with `request.url_for` across both apps. Its mount only claims
paths one of its own routes serves (`WebMount`), so an unknown path or a wrong method on an API route
still answers as the API does (404, 405).

Who may use each page is declared on the page with the auth policy (`require(...)`, see access.py);
here, failures become pages rather than JSON: 401 shows the sign-in form (and returns to the page),
403 says why, 404/409/422 say what is wrong. Scripts asking for fragments get short answers.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match, Mount
from starlette.types import Scope

from ed_alerts.auth.errors import Unauthorized
from ed_alerts.errors import DomainError
from ed_alerts.web import attendance, board, dashboard, queue, static_files
from ed_alerts.web.rendering import FRAGMENT_HEADER, install_filters, page

log = logging.getLogger(__name__)


class WebMount(Mount):
    """A mount at the root that matches only the paths its app serves (any method), so it never
    swallows the API's 404s and 405s."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is Match.NONE:
            return match, child
        inner = {**scope, **child}
        if any(route.matches(inner)[0] is not Match.NONE for route in self.routes):
            return match, child
        return Match.NONE, {}


def create_web_app(parent: FastAPI) -> FastAPI:
    web = FastAPI(title="ed-alerts web", docs_url=None, redoc_url=None, openapi_url=None)
    web.state = parent.state  # the same services and authenticator as the API
    install_filters()
    for module in (board, attendance, queue, dashboard, static_files):
        web.include_router(module.router)
    web.add_exception_handler(DomainError, _domain_error)
    web.add_exception_handler(RequestValidationError, _validation_error)
    web.add_exception_handler(StarletteHTTPException, _http_error)
    return web


def mount_web(app: FastAPI) -> FastAPI:
    web = create_web_app(app)
    app.router.routes.append(WebMount("", app=web))
    return web


def _is_fragment(request: Request) -> bool:
    return request.headers.get(FRAGMENT_HEADER) is not None


def error_page(request: Request, status: int, title: str, reason: str, *,
               headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None) -> Response:
    if _is_fragment(request):
        return JSONResponse({"detail": reason}, status_code=status, headers=headers)
    template = "signin_required.html" if status == 401 else "error.html"
    next_path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = page(request, template, {"title": title, "reason": reason, "status": status,
                                        "next": next_path, **(extra or {})},
                    principal=getattr(request.state, "principal", None), status_code=status)
    if headers:
        response.headers.update(headers)
    return response


_TITLES = {401: "Sign in to continue", 403: "You cannot see this page", 404: "Not found",
           409: "This cannot be done now", 422: "Something is missing or wrong", 429: "Too many attempts"}


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    status = exc.status_code
    reason = exc.reason
    if isinstance(exc, Unauthorized):
        reason = "Your session has ended or you have not signed in yet."
    return error_page(request, status, _TITLES.get(status, "Something went wrong"), reason,
                      headers=getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'request'}: {e['msg']}"
                         for e in exc.errors()[:5])
    return error_page(request, 422, _TITLES[422], problems)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404 and "text/html" not in request.headers.get("accept", ""):
        return JSONResponse({"detail": exc.detail}, status_code=404)
    return error_page(request, exc.status_code, _TITLES.get(exc.status_code, "Something went wrong"),
                      str(exc.detail), headers=getattr(exc, "headers", None))
