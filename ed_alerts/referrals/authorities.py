"""Local authorities: their referral endpoints (a YAML file named by settings) and which one a
referral goes to.

Routing: a referral goes to the authority where the child lives (Working Together to Safeguard
Children), so the child's home postcode is matched against each authority's `areas` first (a
district such as CB1 beats a whole area such as CB); then the site's `local_authority` in the site
registry; then ED_ALERTS_DEFAULT_LOCAL_AUTHORITY. The result only pre-fills the referral: the nurse
can change it before sending.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from ed_alerts.evaluation.postcodes import in_area, outward_code
from ed_alerts.sites.registry import Site
from integrations.local_authority import LocalAuthorityEndpoint

_PLACEHOLDER_SECRETS = {"changeme", "change-me", "change_me", "placeholder", "secret", "token", "xxx", "todo"}


class AuthorityEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64)
    name: str | None = None
    url: str
    token: str | None = Field(default=None, description="a bearer token; prefer token_env")
    token_env: str | None = Field(default=None, description="the environment variable holding the token")
    timeout_s: float = Field(default=10.0, gt=0, le=300)
    areas: list[str] = Field(default_factory=list, description="postcode districts or areas of its children")


class AuthoritiesFile(BaseModel):
    local_authorities: list[AuthorityEntry] = Field(default_factory=list)


class LocalAuthorityConfigError(ValueError):
    pass


def _token(entry: AuthorityEntry, production: bool) -> str | None:
    if entry.token is not None and entry.token_env is not None:
        raise LocalAuthorityConfigError(f"local authority {entry.code}: give token or token_env, not both")
    token = entry.token
    if entry.token_env is not None:
        token = os.environ.get(entry.token_env)
        if not token:
            raise LocalAuthorityConfigError(
                f"local authority {entry.code}: environment variable {entry.token_env} is not set")
    if production and token is not None and token.strip().lower() in _PLACEHOLDER_SECRETS:
        raise LocalAuthorityConfigError(f"local authority {entry.code}: the token is a placeholder")
    return token


class LocalAuthorityRegistry:
    def __init__(self, entries: list[tuple[LocalAuthorityEndpoint, list[str]]]) -> None:
        self._endpoints = {e.code.upper(): e for e, _ in entries}
        self._areas = {e.code.upper(): areas for e, areas in entries}

    @classmethod
    def load(cls, path: Path | None, *, production: bool = False) -> LocalAuthorityRegistry:
        if path is None:
            return cls([])
        try:
            parsed = AuthoritiesFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
            entries = []
            for entry in parsed.local_authorities:
                token = _token(entry, production)
                endpoint = LocalAuthorityEndpoint(code=entry.code, name=entry.name, url=entry.url,
                                                  token=SecretStr(token) if token is not None else None,
                                                  timeout_s=entry.timeout_s)
                if production and not endpoint.is_https:
                    # A referral names a child: never in clear text outside development.
                    raise LocalAuthorityConfigError(f"local authority {entry.code}: url must be https")
                entries.append((endpoint, entry.areas))
        except OSError as exc:
            raise LocalAuthorityConfigError(
                f"local authorities file {path}: cannot read ({exc.strerror})") from exc
        except yaml.YAMLError as exc:
            raise LocalAuthorityConfigError(f"local authorities file {path}: not valid YAML: {exc}") from exc
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise LocalAuthorityConfigError(
                f"local authorities file {path}: {where}: {first['msg']}") from exc
        return cls(entries)

    def endpoint(self, code: str) -> LocalAuthorityEndpoint | None:
        return self._endpoints.get(code.upper())

    def knows(self, code: str) -> bool:
        return code.upper() in self._endpoints

    @property
    def codes(self) -> list[str]:
        return [e.code for e in self._endpoints.values()]

    def route(self, postcode: str | None, site: Site | None, default: str | None) -> str | None:
        """The authority for a child living at `postcode`, seen at `site` (see module docstring)."""
        district = outward_code(postcode)
        if district is not None:
            # A district listed exactly wins over a letters-only area that also covers it.
            exact = [code for code, areas in self._areas.items()
                     if district in {a.strip().upper() for a in areas}]
            by_area = [code for code, areas in self._areas.items() if in_area(district, areas)]
            for candidates in (exact, by_area):
                if candidates:
                    return self._endpoints[candidates[0]].code
        if site is not None and site.local_authority:
            return site.local_authority
        return default
