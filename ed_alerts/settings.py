"""Settings from environment variables prefixed `ED_ALERTS_`; built once and injected."""

from __future__ import annotations

import ipaddress
import logging
import secrets
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ED_ALERTS_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = "sqlite:///./ed_alerts.db"
    # WAL with NORMAL survives a killed process (what an ACK promises); FULL also survives power loss.
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL"] = "NORMAL"

    http_host: str = "127.0.0.1"
    http_port: int = 8000

    mllp_enabled: bool = True
    mllp_host: str = "127.0.0.1"
    mllp_port: int = 2575
    mllp_idle_timeout_s: float = 300.0
    # When an MLLP message is acknowledged: "stored" once it is committed and parses, the rest
    # (linking, rules, flags) done by the ingest worker moments later: ACKs in milliseconds however
    # busy the feed. "processed" once it is applied and its rules evaluated, so that an error in any
    # step is answered AE, at the cost of slower ACKs. README: "Acknowledgement modes".
    mllp_ack: Literal["stored", "processed"] = "stored"
    # Where the ingest worker runs (with mllp_ack=stored): "process", a process of its own, so its
    # work (rules, clinical NLP) does not hold the GIL the acknowledgements need; "thread", inside
    # the service process (about 200 MB less). "auto": a process on PostgreSQL, a thread on SQLite,
    # where every writer queues for one file lock and a second process only adds hand-offs.
    # README: "Acknowledgement modes".
    ingest_worker: Literal["auto", "process", "thread"] = "auto"

    @property
    def ingest_worker_process(self) -> bool:
        if self.ingest_worker == "auto":
            return not self.database_url.startswith("sqlite")
        return self.ingest_worker == "process"
    max_message_bytes: int = Field(default=1_048_576, ge=1024)
    max_bundle_entries: int = Field(default=500, ge=1)

    sites_file: Path | None = None
    default_trust: str = "UNREGISTERED"
    rules_dir: Path = REPO_ROOT / "rules"

    log_json: bool = False
    log_level: str = "INFO"

    # Referrals (docs/referrals.md). Severity keys are the rule pack's: critical, high, medium, low.
    local_authorities_file: Path | None = None
    default_local_authority: str | None = None  # when neither the child's postcode nor the site says
    decision_due_hours: float = Field(default=4.0, gt=0)  # used when the rule gives no decision_due
    decision_due_hours_by_severity: dict[str, float] = Field(default_factory=dict)
    referral_due_hours: float = Field(default=24.0, gt=0)  # from the first "refer" decision to sent
    referral_due_hours_by_severity: dict[str, float] = Field(default_factory=dict)

    scheduler_enabled: bool = True
    outbox_drain_interval_s: float = Field(default=5.0, gt=0)
    escalation_interval_s: float = Field(default=60.0, gt=0)
    delivery_base_delay_s: float = Field(default=30.0, gt=0)
    delivery_max_delay_s: float = Field(default=3600.0, gt=0)
    delivery_max_attempts: int = Field(default=10, ge=1)
    # A claimed delivery not finished within this is claimable again (its worker died); it must be
    # longer than any authority's timeout, or a slow answer could be sent twice (harmless, keyed).
    delivery_lease_s: float = Field(default=300.0, gt=0)
    delivery_batch_size: int = Field(default=20, ge=1)
    delivery_concurrency: int = Field(default=4, ge=1)
    escalation_webhook_url: str | None = None
    escalation_webhook_timeout_s: float = Field(default=10.0, gt=0)

    # Sign-in and access (docs/auth.md).
    secret_key: SecretStr | None = None  # signs our tokens, session cookies and CSRF tokens
    token_ttl_minutes: int = Field(default=60, ge=1, le=24 * 60)  # bearer tokens from POST /auth/token
    session_ttl_minutes: int = Field(default=480, ge=1, le=24 * 60)  # the web session: one shift
    password_min_length: int = Field(default=12, ge=8)
    signin_max_failures_per_user: int = Field(default=5, ge=1)
    signin_max_failures_per_ip: int = Field(default=20, ge=1)
    signin_failure_window_s: float = Field(default=900.0, gt=0)
    # An external OpenID Connect issuer (a hospital's sign-on): all three, or none.
    oidc_jwks_url: str | None = None
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_algorithms: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["RS256"])
    oidc_name_claim: str = "preferred_username"  # falls back to `sub`
    oidc_role_claim: str = "ed_alerts_role"  # a dotted path reaches nested claims: realm_access.roles
    oidc_sites_claim: str = "ed_alerts_sites"
    oidc_trust_claim: str = "ed_alerts_trust"

    # MLLP peers and TLS. Peers are addresses or networks, comma separated; each site in the registry
    # may add its own (`mllp_peers`). Production refuses to listen to everyone unless told to.
    mllp_allowed_peers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    mllp_allow_any_peer: bool = False
    mllp_tls_cert_file: Path | None = None
    mllp_tls_key_file: Path | None = None
    mllp_tls_client_ca_file: Path | None = None  # when set, senders must present a certificate it signed

    # Web pages (docs/web.md).
    display_timezone: str = "Europe/London"  # times on pages, and the months of the ICB dashboard
    board_hours: float = Field(default=24.0, gt=0)  # the ED board shows active attendances this recent
    # ICB dashboard and exports: counts from 1 to this minus one are suppressed (1 turns it off).
    small_number_threshold: int = Field(default=5, ge=1)

    # Child Protection - Information Sharing (integrations/cpis/README.md): look up each child who
    # registers with a valid NHS number, in the background; off unless configured.
    cpis_enabled: bool = False
    cpis_url: str | None = None  # the CP-IS FHIR R4 base; searches go to {url}/CareTeam
    cpis_token: SecretStr | None = None  # bearer token from NHS England's API platform
    cpis_asid: str | None = None  # sent as NHSD-ASID when set
    cpis_ods_code: str | None = None  # our organisation, sent as NHSD-End-User-Organisation-ODS when set
    cpis_timeout_s: float = Field(default=5.0, gt=0, le=120)  # a whole lookup; longer is a failed attempt
    cpis_max_attempts: int = Field(default=3, ge=1, le=20)  # then the lookup is recorded as failed
    cpis_retry_delay_s: float = Field(default=30.0, gt=0)  # before attempt 2; doubles each time after
    # A child's CP-IS answer is reused for this long: it is shown on their next attendance at once.
    cpis_cache_hours: float = Field(default=24.0, ge=0)
    # Query again for every new attendance even inside the cache period, so that CP-IS records the
    # access and tells the local authority about each attendance (what CP-IS is for).
    cpis_requery_each_attendance: bool = True
    # Attendances that arrived longer ago than this (a backlog, a bulk load of old files) are not
    # looked up: the access event would tell an authority about a visit as if it were happening now.
    cpis_max_attendance_age_hours: float = Field(default=24.0, gt=0)
    cpis_poll_interval_s: float = Field(default=2.0, gt=0)  # the lookup worker also wakes on each ingest
    cpis_concurrency: int = Field(default=2, ge=1, le=16)

    @field_validator("oidc_algorithms", "mllp_allowed_peers", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("display_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"ED_ALERTS_DISPLAY_TIMEZONE: {value!r} is not a known time zone") from exc
        return value

    @model_validator(mode="after")
    def _check_security(self) -> Settings:
        self._check_secret_key()
        oidc = [self.oidc_jwks_url, self.oidc_issuer, self.oidc_audience]
        if any(oidc) and not all(oidc):
            raise ValueError("OIDC needs ED_ALERTS_OIDC_JWKS_URL, ED_ALERTS_OIDC_ISSUER and "
                             "ED_ALERTS_OIDC_AUDIENCE together")
        if any(a.upper().startswith("HS") or a.lower() == "none" for a in self.oidc_algorithms):
            # A shared-secret or unsigned algorithm would let anyone holding the public JWKS mint tokens.
            raise ValueError("ED_ALERTS_OIDC_ALGORITHMS must be asymmetric (RS256, PS256, ES256, ...)")
        for peer in self.mllp_allowed_peers:
            try:
                ipaddress.ip_network(peer, strict=False)
            except ValueError as exc:
                raise ValueError(f"ED_ALERTS_MLLP_ALLOWED_PEERS: {peer!r} is not an address or network") from exc
        if (self.mllp_tls_cert_file is None) != (self.mllp_tls_key_file is None):
            raise ValueError("MLLP TLS needs both ED_ALERTS_MLLP_TLS_CERT_FILE and ED_ALERTS_MLLP_TLS_KEY_FILE")
        if self.mllp_tls_client_ca_file is not None and self.mllp_tls_cert_file is None:
            raise ValueError("ED_ALERTS_MLLP_TLS_CLIENT_CA_FILE needs the server certificate and key too")
        self._check_cpis()
        return self

    def _check_cpis(self) -> None:
        if not self.cpis_enabled:
            return
        if not self.cpis_url:
            raise ValueError("ED_ALERTS_CPIS_ENABLED needs ED_ALERTS_CPIS_URL")
        if self.environment == "production" and not self.cpis_url.lower().startswith("https://"):
            # The search names a child by NHS number: never in clear text outside development.
            raise ValueError("ED_ALERTS_CPIS_URL must be https in production")

    def _check_secret_key(self) -> None:
        given = self.secret_key.get_secret_value() if self.secret_key is not None else ""
        if self.environment == "production":
            if is_placeholder_secret(given):
                raise ValueError("ED_ALERTS_SECRET_KEY must be set to a random value of at least 32 "
                                 "characters in production (for example: python -c "
                                 "'import secrets; print(secrets.token_urlsafe(48))')")
            return
        if not given:
            self.secret_key = SecretStr(_development_secret())


_PLACEHOLDERS = {"changeme", "secret", "placeholder", "dev", "development", "test", "edalerts", "password",
                 "default", "insecure", "xxx"}
_dev_secret: list[str] = []  # one per process, so every Settings() built in it agrees


def is_placeholder_secret(value: str) -> bool:
    squashed = "".join(ch for ch in value.lower() if ch.isalnum())
    return (len(value) < 32 or squashed in _PLACEHOLDERS or "changeme" in squashed
            or "placeholder" in squashed or len(set(value)) < 8)


def _development_secret() -> str:
    if not _dev_secret:
        _dev_secret.append(secrets.token_urlsafe(48))
    return _dev_secret[0]


def warn_if_development_secret(settings: Settings) -> None:
    """Said where signing starts (the app), not at every Settings(): most commands sign nothing."""
    if _dev_secret and settings.secret_key is not None and settings.secret_key.get_secret_value() == _dev_secret[0]:
        logging.getLogger(__name__).warning(
            "ED_ALERTS_SECRET_KEY is not set: using a random key for this process (development only); "
            "sign-ins end when it stops")


def get_settings() -> Settings:
    return Settings()
