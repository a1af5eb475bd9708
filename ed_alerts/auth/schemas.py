"""What the auth API returns."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ed_alerts.auth.roles import Role


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds until the token expires")


class Me(BaseModel):
    name: str
    role: Role
    sites: list[str]
    trust: str | None
    authenticated_by: str = Field(description="token, session, api_token or oidc")
