"""Tokens from an external OpenID Connect issuer (a hospital's sign-on), verified against its JWKS.

The issuer authenticates; its claims say the role and scope (`oidc_role_claim`, `oidc_sites_claim`,
`oidc_trust_claim`, each a claim name or a dotted path to a nested one). A token without exactly one
ed-alerts role is refused with 403: the person is known but has not been given access.
"""

from __future__ import annotations

import logging
from typing import Any

import jwt
from jwt import PyJWKClient, PyJWKClientConnectionError, PyJWKClientError

from ed_alerts.auth.errors import AuthUnavailable, Forbidden
from ed_alerts.auth.principal import Principal
from ed_alerts.auth.roles import Role, ScopeError, check_scope
from ed_alerts.auth.tokens import InvalidToken
from ed_alerts.settings import Settings

log = logging.getLogger(__name__)


class OIDCVerifier:
    def __init__(self, settings: Settings) -> None:
        assert settings.oidc_jwks_url and settings.oidc_issuer and settings.oidc_audience
        self.issuer = settings.oidc_issuer
        self.audience = settings.oidc_audience
        self.algorithms = list(settings.oidc_algorithms)
        self._settings = settings
        # Keys are cached; an unknown key id (the issuer rotated) makes the client fetch again.
        self._jwks = PyJWKClient(settings.oidc_jwks_url, cache_keys=True, lifespan=600, timeout=10)

    @classmethod
    def from_settings(cls, settings: Settings) -> OIDCVerifier | None:
        return cls(settings) if settings.oidc_jwks_url else None

    def verify(self, token: str) -> dict[str, Any]:
        try:
            key = self._jwks.get_signing_key_from_jwt(token)
        except PyJWKClientConnectionError as exc:
            log.warning("OIDC keys could not be fetched: %s", exc)
            raise AuthUnavailable("the identity provider's keys could not be fetched; try again") from exc
        except (PyJWKClientError, jwt.InvalidTokenError) as exc:
            raise InvalidToken("the token is not signed by a known key of the identity provider") from exc
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key.key, algorithms=self.algorithms, audience=self.audience, issuer=self.issuer,
                options={"require": ["exp", "iss", "aud", "sub"]}, leeway=30,
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("the token has expired: sign in again") from exc
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"the token is not valid ({type(exc).__name__})") from exc
        return claims

    def principal(self, claims: dict[str, Any]) -> Principal:
        s = self._settings
        name = _claim(claims, s.oidc_name_claim) or claims.get("sub")
        roles = [r for r in _as_list(_claim(claims, s.oidc_role_claim)) if r in Role._value2member_map_]
        if len(roles) != 1:
            found = "no ed-alerts role" if not roles else f"more than one ed-alerts role ({', '.join(roles)})"
            raise Forbidden(f"the identity provider's token carries {found} in claim {s.oidc_role_claim!r}")
        role = Role(roles[0])
        sites = [str(x).upper() for x in _as_list(_claim(claims, s.oidc_sites_claim))]
        trust_value = _claim(claims, s.oidc_trust_claim)
        trust = str(trust_value) if trust_value else None
        try:
            check_scope(role, sites, trust)
        except ScopeError as exc:
            raise Forbidden(f"the identity provider's token gives an unusable scope: {exc}") from exc
        return Principal(name=str(name)[:200], role=role, sites=frozenset(sites), trust=trust, via="oidc")


def _claim(claims: dict[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        # Some issuers put several values in one space- or comma-separated string.
        return [v for v in value.replace(",", " ").split() if v]
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]
