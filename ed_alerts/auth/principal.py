"""The authenticated caller, however they proved who they are."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ed_alerts.audit.service import Actor
from ed_alerts.auth.roles import Role

# How the caller authenticated: our bearer token, our session cookie, a feed's API token, or an
# external OpenID Connect token. Cookie-borne credentials need CSRF protection; the others do not.
Via = Literal["token", "session", "api_token", "oidc"]


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    sites: frozenset[str] = field(default_factory=frozenset)  # upper-case site codes
    trust: str | None = None
    via: Via = "token"
    user_id: int | None = None  # None for OIDC users, who have no local record

    @property
    def actor(self) -> Actor:
        """Who the audit log names for what this principal does."""
        return Actor(name=self.name, role=self.role.value)

    def has_site(self, code: str) -> bool:
        return code.upper() in self.sites
