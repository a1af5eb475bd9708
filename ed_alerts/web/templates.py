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
SECURITY_HEADERS = {
    "Cache-Control": "no-store",  # pages may hold identifiable data: never cached
    # Scripts and styles from this site only (ed_alerts/web/static; the layout's inline styles too),
    # fetches back to it; never framed (clickjacking); forms post here only.
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; connect-src 'self'; "
                               "style-src 'self' 'unsafe-inline'; img-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


@cache
def templates() -> Jinja2Templates:
    return Jinja2Templates(directory=str(TEMPLATES_DIR))  # autoescapes .html


def render(request: Request, settings: Settings, name: str, context: dict[str, Any] | None = None, *,
           status_code: int = 200) -> Response:
    """A page; forms in it put `{{ csrf_token }}` in a hidden field named `{{ csrf_field }}`.
    Sets the CSRF cookie when the browser has none yet."""
    token, cookie = csrf.prepare(request, settings)
    page = templates().TemplateResponse(request, name, {**(context or {}), "csrf_token": token,
                                                        "csrf_field": csrf.FIELD}, status_code=status_code)
    if cookie is not None:
        csrf.set_cookie(page, settings, cookie)
    page.headers.update(SECURITY_HEADERS)
    return page
