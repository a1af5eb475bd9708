"""Where and how to reach CP-IS: the FHIR base URL, credentials and timeout (configuration only)."""

from __future__ import annotations

from typing import Annotated

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, field_validator

from ..http_url import absolute_http_url
from .codes import CARE_TEAM_PATH, HEADER_ASID, HEADER_ODS

_Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20,
                                         pattern=r"^[A-Za-z0-9]+$")]


class CpisEndpoint(BaseModel):
    """The CP-IS FHIR R4 API. The token is a SecretStr so that it never prints or logs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str  # the FHIR base; searches go to {base_url}/CareTeam
    token: SecretStr | None = None  # "Authorization: Bearer <token>" (NHS England API platform)
    asid: _Code | None = None  # our Spine accredited system id, when the service asks for it
    ods_code: _Code | None = None  # our organisation's ODS code, when the service asks for it
    # The whole lookup must finish within this (connect, send, wait and read together): a lookup
    # that takes longer is abandoned and retried later, never waited for.
    timeout_s: float = Field(default=5.0, gt=0, le=120)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if absolute_http_url(value).query:
            raise ValueError("must not carry a query string")
        return value.rstrip("/")

    @property
    def is_https(self) -> bool:
        """The service refuses plain http outside development: the query names a child."""
        return httpx.URL(self.base_url).scheme == "https"

    @property
    def search_url(self) -> str:
        return self.base_url + CARE_TEAM_PATH

    def static_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token.get_secret_value()}"
        if self.asid is not None:
            headers[HEADER_ASID] = self.asid
        if self.ods_code is not None:
            headers[HEADER_ODS] = self.ods_code
        return headers
