"""The template environment and `render`, which gives every page its CSRF token for its forms."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from ed_alerts.auth import csrf
from ed_alerts.settings import Settings

TEMPLATES_DIR = Path(__file__).parent / "templates"


@cache
def templates() -> Jinja2Templates:
    return Jinja2Templates(directory=str(TEMPLATES_DIR))  # autoescapes .html


def render(request: Request, settings: Settings, name: str, context: dict[str, Any] | None = None, *,
           status_code: int = 200, new_csrf: bool = False) -> Response:
    """A page; forms in it put `{{ csrf_token }}` in a hidden field named `csrf_token`.

    `new_csrf` renews the CSRF cookie (after sign-in and sign-out), which a page rendering a form
    from the old one must not do in the same response.
    """
    if new_csrf:
        cookie: str | None = csrf.new_cookie_value()
        token = csrf.token_for(settings, cookie)
    else:
        token, cookie = csrf.prepare(request, settings)
    page = templates().TemplateResponse(request, name, {**(context or {}), "csrf_token": token,
                                                        "csrf_field": csrf.FIELD}, status_code=status_code)
    if cookie is not None:
        csrf.set_cookie(page, settings, cookie)
    page.headers["Cache-Control"] = "no-store"  # pages may hold identifiable data: never cached
    return page
