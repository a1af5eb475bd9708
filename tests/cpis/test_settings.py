"""CP-IS settings: off by default, refused when half-configured, https only in production."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from ed_alerts.settings import Settings

SECRET = SecretStr("a-random-production-secret-key-3f9c1e7a5b2d")


def test_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ED_ALERTS_CPIS_ENABLED", "ED_ALERTS_CPIS_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.cpis_enabled is False and settings.cpis_url is None


def test_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ED_ALERTS_CPIS_ENABLED", "true")
    monkeypatch.setenv("ED_ALERTS_CPIS_URL", "http://127.0.0.1:8095")
    monkeypatch.setenv("ED_ALERTS_CPIS_TIMEOUT_S", "2.5")
    monkeypatch.setenv("ED_ALERTS_CPIS_TOKEN", "zq7-cpis-secret")
    settings = Settings()
    assert settings.cpis_enabled and settings.cpis_timeout_s == 2.5
    assert settings.cpis_token is not None and "zq7-cpis-secret" not in repr(settings)


def test_enabled_needs_a_url() -> None:
    with pytest.raises(ValidationError, match="ED_ALERTS_CPIS_URL"):
        Settings(cpis_enabled=True)


def test_production_needs_https() -> None:
    with pytest.raises(ValidationError, match="https"):
        Settings(environment="production", secret_key=SECRET, cpis_enabled=True,
                 cpis_url="http://cpis.example")
    assert Settings(environment="production", secret_key=SECRET, cpis_enabled=True,
                    cpis_url="https://cpis.example/FHIR/R4").cpis_enabled
