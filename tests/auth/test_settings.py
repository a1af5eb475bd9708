"""Security settings: no placeholder secret in production, whole OIDC configuration or none, valid peers."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ed_alerts.settings import Settings, is_placeholder_secret

STRONG = "x7Gq2pL9vR4tY8wZ1aB3cD5eF6gH0jK2mN4pQ6sT8uV"


@pytest.mark.parametrize("secret", [None, "", "change-me", "CHANGEME-please-change-me-now-123456", "secret",
                                    "short-but-random-9f8e7d", "a" * 40, "placeholder-placeholder-placeholder"])
def test_production_refuses_a_missing_or_placeholder_secret(secret: str | None) -> None:
    with pytest.raises(ValidationError, match="ED_ALERTS_SECRET_KEY"):
        Settings(environment="production", secret_key=secret)


def test_production_accepts_a_strong_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ED_ALERTS_ENVIRONMENT", "production")
    monkeypatch.setenv("ED_ALERTS_SECRET_KEY", STRONG)
    settings = Settings()
    assert settings.secret_key is not None and settings.secret_key.get_secret_value() == STRONG
    assert STRONG not in repr(settings)  # a SecretStr: never printed


def test_development_without_a_secret_uses_one_random_key_per_process() -> None:
    first, second = Settings(), Settings()
    assert first.secret_key is not None and second.secret_key is not None
    assert first.secret_key.get_secret_value() == second.secret_key.get_secret_value()
    assert not is_placeholder_secret(first.secret_key.get_secret_value())


def test_oidc_needs_its_whole_configuration() -> None:
    with pytest.raises(ValidationError, match="OIDC"):
        Settings(oidc_jwks_url="https://idp.example/jwks")
    ok = Settings(oidc_jwks_url="https://idp.example/jwks", oidc_issuer="https://idp.example",
                  oidc_audience="ed-alerts", oidc_algorithms="RS256, ES256")
    assert ok.oidc_algorithms == ["RS256", "ES256"]


@pytest.mark.parametrize("algorithms", ["HS256", "RS256,none"])
def test_oidc_refuses_symmetric_or_no_signature(algorithms: str) -> None:
    with pytest.raises(ValidationError, match="asymmetric"):
        Settings(oidc_algorithms=algorithms)


def test_mllp_peers_and_tls_settings_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ED_ALERTS_MLLP_ALLOWED_PEERS", "10.1.2.3, 10.9.0.0/16")
    assert Settings().mllp_allowed_peers == ["10.1.2.3", "10.9.0.0/16"]
    with pytest.raises(ValidationError, match="not an address"):
        Settings(mllp_allowed_peers=["interface-engine.local"])
    with pytest.raises(ValidationError, match="KEY_FILE"):
        Settings(mllp_tls_cert_file="server.pem")
    with pytest.raises(ValidationError, match="CLIENT_CA"):
        Settings(mllp_tls_client_ca_file="ca.pem")
