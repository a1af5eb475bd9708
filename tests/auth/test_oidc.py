"""Tokens from an external OpenID Connect issuer, verified against its JWKS served on a loopback port."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from jwt.algorithms import RSAAlgorithm

from ed_alerts.app import create_app
from ed_alerts.ingest.models import ContentType, Transport
from ed_alerts.ingest.pipeline import ingest
from ed_alerts.services import Services
from ed_alerts.settings import Settings
from tests.auth.helpers import adt_for

ISSUER = "https://sso.hospital.example/realms/ed"
AUDIENCE = "ed-alerts"
KID = "key-1"


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class JWKSServer:
    """A tiny identity provider: serves /jwks.json from a real socket, as PyJWKClient will fetch it."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
        body = json.dumps({"keys": [{**jwk, "kid": KID, "use": "sig", "alg": "RS256"}]}).encode()
        self.fetches = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server names it so
                outer.fetches += 1
                self.send_response(200 if self.path == "/jwks.json" else 404)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def idp_key() -> rsa.RSAPrivateKey:
    return _rsa_key()


@pytest.fixture
def idp(idp_key: rsa.RSAPrivateKey) -> Iterator[JWKSServer]:
    with JWKSServer(idp_key) as server:
        yield server


def _oidc_settings(settings: Settings, jwks_url: str, **extra: Any) -> Settings:
    return settings.model_copy(update={"oidc_jwks_url": jwks_url, "oidc_issuer": ISSUER,
                                       "oidc_audience": AUDIENCE, **extra})


@pytest.fixture
def oidc_client(settings: Settings, services: Services, idp: JWKSServer) -> Iterator[TestClient]:
    with TestClient(create_app(_oidc_settings(settings, idp.url), services=services)) as c:
        yield c


def _token(key: rsa.RSAPrivateKey, *, kid: str = KID, algorithm: str = "RS256", **overrides: Any) -> str:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {"iss": ISSUER, "aud": AUDIENCE, "sub": "f3a1-uuid", "preferred_username": "sam.nurse",
                              "iat": int(now.timestamp()), "exp": int((now + timedelta(minutes=5)).timestamp()),
                              "ed_alerts_role": "ed_nurse", "ed_alerts_sites": ["RGT01"]}
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})


def _hs256_by_hand(claims: dict[str, Any], secret: bytes) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": KID}).encode()) + "." + b64(
        json.dumps(claims).encode())
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(signature)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_valid_token_from_the_issuer_signs_in_with_its_role_and_scope(
        oidc_client: TestClient, idp_key: rsa.RSAPrivateKey, idp: JWKSServer, services: Services) -> None:
    me = oidc_client.get("/auth/me", headers=_bearer(_token(idp_key)))
    assert me.status_code == 200, me.text
    assert me.json() == {"name": "sam.nurse", "role": "ed_nurse", "sites": ["RGT01"], "trust": None,
                         "authenticated_by": "oidc"}
    a = ingest(services.ingest, adt_for("RGT01", "O1"), ContentType.HL7V2, Transport.HTTP).attendance_ids[0]
    b = ingest(services.ingest, adt_for("RGT02", "O2", seed=8), ContentType.HL7V2, Transport.HTTP).attendance_ids[0]
    assert oidc_client.get(f"/api/attendances/{a}", headers=_bearer(_token(idp_key))).status_code == 200
    assert oidc_client.get(f"/api/attendances/{b}", headers=_bearer(_token(idp_key))).status_code == 403
    assert idp.fetches == 1  # the keys are cached, not fetched per request


def test_nested_role_claims_are_read_by_path(settings: Settings, services: Services, idp: JWKSServer,
                                             idp_key: rsa.RSAPrivateKey) -> None:
    configured = _oidc_settings(settings, idp.url, oidc_role_claim="realm_access.roles",
                                oidc_trust_claim="org.trust")
    token = _token(idp_key, ed_alerts_role=None, ed_alerts_sites=None,
                   realm_access={"roles": ["offline_access", "safeguarding_nurse"]}, org={"trust": "RGT"})
    with TestClient(create_app(configured, services=services)) as c:
        me = c.get("/auth/me", headers=_bearer(token)).json()
    assert me["role"] == "safeguarding_nurse" and me["trust"] == "RGT"


@pytest.mark.parametrize("what", ["expired", "wrong audience", "unknown key id", "another key", "no expiry",
                                  "HS256 with the public key as secret"])
def test_tokens_that_do_not_hold_are_401(oidc_client: TestClient, idp_key: rsa.RSAPrivateKey, what: str) -> None:
    past = int((datetime.now(UTC) - timedelta(hours=1)).timestamp())
    public_pem = idp_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    if what == "HS256 with the public key as secret":
        # The classic algorithm confusion: sign HMAC with the public key and hope it is used as a secret.
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": past + 7200, "ed_alerts_role": "admin"}
        token = _hs256_by_hand(claims, public_pem)  # PyJWT itself refuses to sign so
    else:
        token = {
            "expired": lambda: _token(idp_key, exp=past),
            "wrong audience": lambda: _token(idp_key, aud="another-app"),
            "unknown key id": lambda: _token(idp_key, kid="key-2"),
            "another key": lambda: _token(_rsa_key()),
            "no expiry": lambda: _token(idp_key, exp=None),
        }[what]()
    res = oidc_client.get("/auth/me", headers=_bearer(token))
    assert res.status_code == 401, (what, res.text)
    assert 'error="invalid_token"' in res.headers["www-authenticate"]


@pytest.mark.parametrize(("claims", "reason"), [
    ({"ed_alerts_role": None}, "no ed-alerts role"),
    ({"ed_alerts_role": "superuser"}, "no ed-alerts role"),
    ({"ed_alerts_role": ["ed_nurse", "admin"]}, "more than one"),
    ({"ed_alerts_role": "ed_nurse", "ed_alerts_sites": None}, "unusable scope"),
])
def test_a_known_person_without_a_usable_role_is_403(oidc_client: TestClient, idp_key: rsa.RSAPrivateKey,
                                                     claims: dict[str, Any], reason: str) -> None:
    res = oidc_client.get("/auth/me", headers=_bearer(_token(idp_key, **claims)))
    assert res.status_code == 403 and reason in res.json()["detail"]


def test_our_own_tokens_still_work_beside_oidc(oidc_client: TestClient, make_user, auth_headers) -> None:
    assert oidc_client.get("/auth/me", headers=auth_headers(make_user("admin"))).status_code == 200


def test_an_unreachable_issuer_is_503_not_401(settings: Settings, services: Services,
                                              idp_key: rsa.RSAPrivateKey) -> None:
    with JWKSServer(idp_key) as gone:
        url = gone.url
    configured = _oidc_settings(settings, url)
    with TestClient(create_app(configured, services=services)) as c:
        res = c.get("/auth/me", headers=_bearer(_token(idp_key)))
    assert res.status_code == 503 and "identity provider" in res.json()["detail"]
