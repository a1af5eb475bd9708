"""Per-feed options: the few ways one sender's HL7 differs from the next."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ed_alerts.domain import SourceType
from integrations.hl7v2.structure import SUPPORTED_VERSIONS


class FeedConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = None
    # Extra CX-4 assigning authorities (namespace or OID, any case) that mark a PID-3/MRG-1
    # repetition as an NHS number, for feeds that use neither type NH nor an NHS authority.
    nhs_number_authorities: frozenset[str] = frozenset()
    # A feed's own codes (DG1-3, OBX-3, OBX-5, PV2-3) -> (system, code), e.g.
    # {"ASLT": ("icd10", "Y04"), "SAFE_Q": ("snomed", "...")}. Applied when the sender's coding
    # system is not ICD-10 or SNOMED CT.
    local_codes: dict[str, tuple[str, str]] = Field(default_factory=dict)
    # Assumed when MSH-12 is empty; must itself be a supported version.
    default_version: str | None = None
    # What kind of service this feed is (an MIU, an ambulance trust), passed on as a hint.
    source_type: SourceType | None = None

    @field_validator("nhs_number_authorities")
    @classmethod
    def _upper(cls, authorities: frozenset[str]) -> frozenset[str]:
        return frozenset(a.strip().upper() for a in authorities if a.strip())

    @field_validator("default_version")
    @classmethod
    def _supported(cls, version: str | None) -> str | None:
        # A bad feed configuration should stop start-up, not reject every message later.
        if version is not None and version not in SUPPORTED_VERSIONS:
            raise ValueError(f"default_version must be one of {', '.join(SUPPORTED_VERSIONS)}")
        return version

    def is_nhs_authority(self, name: str) -> bool:
        return name.upper() in self.nhs_number_authorities


DEFAULT_FEED = FeedConfig()
