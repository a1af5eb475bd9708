"""Where and how to reach one local authority: URL, credentials and timeout (configuration only)."""

from __future__ import annotations

from typing import Annotated

import httpx
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
    model_validator,
)

from ..http_url import absolute_http_url


class LocalAuthorityEndpoint(BaseModel):
    """One authority's referral endpoint. Credentials are SecretStr so they never print or log."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    url: str  # POST target, e.g. https://mash.example-county.gov.uk/fhir (the Bundle goes to it as is)
    name: str | None = None
    token: SecretStr | None = None  # sent as "Authorization: Bearer <token>"
    username: str | None = None  # basic auth, with password; not together with token
    password: SecretStr | None = None
    timeout_s: float = Field(default=10.0, gt=0, le=300)  # per phase: connect, write, read

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        absolute_http_url(value)
        return value

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> LocalAuthorityEndpoint:
        if (self.username is None) != (self.password is None):
            raise ValueError("basic auth needs both username and password")
        if self.token is not None and self.username is not None:
            raise ValueError("give a bearer token or basic credentials, not both")
        return self

    @property
    def is_https(self) -> bool:
        """The service should refuse plain http outside development: a referral names a child."""
        return httpx.URL(self.url).scheme == "https"

    def auth(self) -> httpx.Auth | None:
        if self.username is not None and self.password is not None:
            return httpx.BasicAuth(self.username, self.password.get_secret_value())
        return None

    def auth_headers(self) -> dict[str, str]:
        if self.token is not None:
            return {"Authorization": f"Bearer {self.token.get_secret_value()}"}
        return {}
