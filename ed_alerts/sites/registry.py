"""Loads the site registry YAML and answers "who is this sender?" for the pipeline."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from ed_alerts.domain import SourceType


class Site(BaseModel):
    code: str = Field(description="the site as the feed knows it: MSH-4 or the FHIR source")
    name: str
    trust: str
    source_type: SourceType
    area: list[str] = Field(default_factory=list, description="postcode districts served, e.g. CB1")
    nhs_number_authorities: list[str] = Field(
        default_factory=list, description="extra PID-3 assigning authorities that mean NHS number"
    )
    local_authority: str | None = Field(
        default=None, description="the local authority code referrals go to when the child's home "
        "postcode matches no authority's areas (see ED_ALERTS_LOCAL_AUTHORITIES_FILE)"
    )
    mllp_peers: list[str] = Field(
        default_factory=list, description="addresses or networks (10.1.2.3, 10.1.2.0/24) this feed's "
        "MLLP connections come from; messages from this sender are refused from anywhere else"
    )

    @field_validator("mllp_peers")
    @classmethod
    def _networks(cls, peers: list[str]) -> list[str]:
        for peer in peers:
            ipaddress.ip_network(peer.strip(), strict=False)  # ValueError names the bad entry
        return peers


class RegistryFile(BaseModel):
    sites: list[Site] = Field(default_factory=list)


class SiteRegistryError(ValueError):
    pass


class SiteRegistry:
    def __init__(self, sites: list[Site], default_trust: str) -> None:
        self._by_code = {s.code.upper(): s for s in sites}
        self.default_trust = default_trust

    @classmethod
    def load(cls, path: Path | None, default_trust: str) -> SiteRegistry:
        if path is None:
            return cls([], default_trust)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            parsed = RegistryFile.model_validate(data)
        except OSError as exc:
            raise SiteRegistryError(f"site registry {path}: cannot read ({exc.strerror})") from exc
        except yaml.YAMLError as exc:
            raise SiteRegistryError(f"site registry {path}: not valid YAML: {exc}") from exc
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise SiteRegistryError(f"site registry {path}: {where}: {first['msg']}") from exc
        return cls(parsed.sites, default_trust)

    def lookup(self, sender: str) -> Site | None:
        return self._by_code.get(sender.upper())

    @property
    def sites(self) -> list[Site]:
        return list(self._by_code.values())
