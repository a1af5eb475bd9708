"""CSRF protection for forms and cookie-authenticated requests: a signed double-submit token.

The browser holds a random value in an HttpOnly cookie; forms carry an HMAC of it in a hidden field
(`csrf_token`), scripts in the `X-CSRF-Token` header. Another site can make the browser send the
cookie but can neither read it nor compute the HMAC, so it cannot forge the field. The cookie is
renewed at sign-in, so a value planted before sign-in is useless after it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from ed_alerts.auth.errors import Forbidden
from ed_alerts.auth.keys import derive
from ed_alerts.settings import Settings

FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def cookie_name(settings: Settings) -> str:
    # The __Host- prefix makes browsers refuse the cookie unless Secure, host-only and for path "/".
    return "__Host-ed_alerts_csrf" if secure_cookies(settings) else "ed_alerts_csrf"


def secure_cookies(settings: Settings) -> bool:
    return settings.environment != "development"


def token_for(settings: Settings, cookie_value: str) -> str:
    return hmac.new(derive(settings, "csrf"), cookie_value.encode(), hashlib.sha256).hexdigest()


def new_cookie_value() -> str:
    return secrets.token_urlsafe(32)


def prepare(request: Request, settings: Settings) -> tuple[str, str | None]:
    """The token to put in a form, and a new cookie value to set (None when the browser has one)."""
    current = request.cookies.get(cookie_name(settings))
    if current:
        return token_for(settings, current), None
    fresh = new_cookie_value()
    return token_for(settings, fresh), fresh


def set_cookie(response: Response, settings: Settings, value: str) -> None:
    response.set_cookie(cookie_name(settings), value, httponly=True, samesite="strict",
                        secure=secure_cookies(settings), path="/")


def verify(request: Request, settings: Settings, submitted: str | None) -> None:
    cookie = request.cookies.get(cookie_name(settings))
    if not cookie or not submitted or not hmac.compare_digest(token_for(settings, cookie), submitted):
        raise Forbidden("the form's security token is missing or out of date: reload the page and try again")


async def check_request(request: Request, settings: Settings) -> None:
    """For a cookie-authenticated request that changes something: the header, or the form field."""
    submitted = request.headers.get(HEADER)
    if submitted is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # Starlette caches it, so the route can still read the form
        value = form.get(FIELD)
        submitted = value if isinstance(value, str) else None
    verify(request, settings, submitted)
