"""Our own signed tokens (JWT, HS256): bearer tokens from `POST /auth/token` and the web session.

A token names the user; the user's role and scope are read from the database on every request, so
disabling a user or changing their sites takes effect at once, not when the token expires.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import jwt

from ed_alerts.auth.keys import derive
from ed_alerts.settings import Settings

ISSUER = "ed-alerts"
AUDIENCE = "ed-alerts"
ALGORITHM = "HS256"
TokenKind = Literal["access", "session"]


class InvalidToken(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    name: str
    kind: TokenKind
    expires_at: datetime


def _key(settings: Settings) -> bytes:
    return derive(settings, "jwt")


def issue(settings: Settings, *, user_id: int, name: str, role: str, kind: TokenKind = "access",
          ttl: timedelta | None = None, now: datetime | None = None) -> tuple[str, datetime]:
    """A signed token and when it expires. The role is informational (clients may show it)."""
    now = now or datetime.now(UTC)
    if ttl is None:
        minutes = settings.token_ttl_minutes if kind == "access" else settings.session_ttl_minutes
        ttl = timedelta(minutes=minutes)
    expires = now + ttl
    claims = {
        "iss": ISSUER, "aud": AUDIENCE, "sub": name, "uid": user_id, "role": role, "typ": kind,
        "iat": int(now.timestamp()), "exp": int(expires.timestamp()), "jti": secrets.token_urlsafe(12),
    }
    return jwt.encode(claims, _key(settings), algorithm=ALGORITHM), expires


def verify(settings: Settings, token: str, *, kind: TokenKind) -> TokenClaims:
    try:
        claims = jwt.decode(token, _key(settings), algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER,
                            options={"require": ["exp", "iat", "sub", "iss", "aud"]}, leeway=10)
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("the token has expired: sign in again") from exc
    except jwt.InvalidTokenError as exc:
        raise InvalidToken("the token is not valid") from exc
    if claims.get("typ") != kind:
        # A session cookie is not a bearer token, nor the reverse: each travels only its own way.
        raise InvalidToken("the token is not valid here")
    uid = claims.get("uid")
    if not isinstance(uid, int):
        raise InvalidToken("the token is not valid")
    return TokenClaims(user_id=uid, name=str(claims["sub"]), kind=kind,
                       expires_at=datetime.fromtimestamp(claims["exp"], UTC))


def unverified_issuer(token: str) -> str | None:
    """Which issuer a token claims, to choose how to verify it. Trust nothing else it says."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return None
    issuer = claims.get("iss")
    return issuer if isinstance(issuer, str) else None
