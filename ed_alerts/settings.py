"""Settings from environment variables prefixed `ED_ALERTS_`; built once and injected."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    max_message_bytes: int = Field(default=1_048_576, ge=1024)
    max_bundle_entries: int = Field(default=500, ge=1)

    sites_file: Path | None = None
    default_trust: str = "UNREGISTERED"
    rules_dir: Path = REPO_ROOT / "rules"

    log_json: bool = False
    log_level: str = "INFO"


def get_settings() -> Settings:
    return Settings()
