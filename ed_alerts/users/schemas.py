"""What the users API takes and returns. Never a password hash or a token hash."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, SecretStr

from ed_alerts.auth.roles import Role

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,59}$"  # 60: what the audit log keeps as entity id


class UserView(BaseModel):
    name: str
    role: Role
    sites: list[str]
    trust: str | None
    active: bool
    has_password: bool
    api_tokens: int = Field(description="active API tokens")
    created_at: datetime


class UserCreate(BaseModel):
    name: str = Field(pattern=NAME_PATTERN)
    role: Role
    sites: list[str] = Field(default_factory=list)
    trust: str | None = None
    password: SecretStr | None = Field(default=None, description="required except for integration users")
    api_token: bool = Field(default=False, description="issue an API token (integration users only)")


class UserCreated(BaseModel):
    user: UserView
    api_token: str | None = Field(default=None, description="shown this once; only its hash is kept")


class ApiTokenIssued(BaseModel):
    name: str
    api_token: str = Field(description="shown this once; earlier tokens of this user are revoked")
