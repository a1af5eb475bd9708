"""From a request to a Principal: a bearer token (ours, a feed's API token, or the OIDC issuer's)
or our session cookie. Built once per app (it holds the JWKS cache and the sign-in limiter).

No credentials: None (the policy answers 401). Credentials that do not hold: Unauthorized at once,
never a silent fall back to anonymous.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.orm import Session

from ed_alerts.auth import tokens
from ed_alerts.auth.errors import Unauthorized
from ed_alerts.auth.oidc import OIDCVerifier
from ed_alerts.auth.principal import Principal, Via
from ed_alerts.auth.ratelimit import SignInLimiter
from ed_alerts.auth.roles import Role
from ed_alerts.db.session import Database
from ed_alerts.settings import Settings, warn_if_development_secret
from ed_alerts.users import api_tokens
from ed_alerts.users.models import User
from ed_alerts.users.service import user_for_api_token


def session_cookie_name(settings: Settings) -> str:
    return "__Host-ed_alerts_session" if settings.environment != "development" else "ed_alerts_session"


def principal_for(user: User, via: Via) -> Principal:
    return Principal(name=user.name, role=Role(user.role), sites=frozenset(user.sites or []),
                     trust=user.trust, via=via, user_id=user.id)


@dataclass
class Authenticator:
    settings: Settings
    limiter: SignInLimiter
    oidc: OIDCVerifier | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Authenticator:
        warn_if_development_secret(settings)
        limiter = SignInLimiter(per_user=settings.signin_max_failures_per_user,
                                per_ip=settings.signin_max_failures_per_ip,
                                window_s=settings.signin_failure_window_s)
        return cls(settings=settings, limiter=limiter, oidc=OIDCVerifier.from_settings(settings))

    def authenticate(self, request: Request, db: Database) -> Principal | None:
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, credentials = header.partition(" ")
            if scheme.lower() != "bearer" or not credentials.strip():
                raise Unauthorized("use an Authorization: Bearer token", invalid_token=True)
            return self.from_bearer(credentials.strip(), db)
        cookie = request.cookies.get(session_cookie_name(self.settings))
        if cookie:
            return self.from_session(cookie, db)
        return None

    def from_bearer(self, token: str, db: Database) -> Principal:
        if api_tokens.looks_like_api_token(token):
            with db.session() as session:
                user = user_for_api_token(session, token)
                if user is None or not user.active or Role(user.role) is not Role.INTEGRATION:
                    raise Unauthorized("the API token is not valid (revoked, or its user disabled)",
                                       invalid_token=True)
                return principal_for(user, "api_token")
        if self.oidc is not None and tokens.unverified_issuer(token) == self.oidc.issuer:
            try:
                claims = self.oidc.verify(token)
            except tokens.InvalidToken as exc:
                raise Unauthorized(exc.reason, invalid_token=True) from exc
            return self.oidc.principal(claims)
        return self._ours(token, "access", db)

    def from_session(self, cookie: str, db: Database) -> Principal:
        return self._ours(cookie, "session", db)

    def _ours(self, token: str, kind: tokens.TokenKind, db: Database) -> Principal:
        try:
            claims = tokens.verify(self.settings, token, kind=kind)
        except tokens.InvalidToken as exc:
            raise Unauthorized(exc.reason, invalid_token=True) from exc
        with db.session() as session:
            user = _active_user(session, claims.user_id, claims.name)
            if user is None:
                raise Unauthorized("the user of this token is disabled or no longer exists", invalid_token=True)
            return principal_for(user, "session" if kind == "session" else "token")


def _active_user(session: Session, user_id: int, name: str) -> User | None:
    user = session.get(User, user_id)
    # The name must match too: a database restored from an older copy may reuse ids.
    if user is None or user.name != name or not user.active:
        return None
    return user
