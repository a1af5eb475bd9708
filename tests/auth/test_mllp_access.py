"""MLLP access: allowed peers per feed, production refusing an open listener, mutual TLS."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from ed_alerts.ingest.mllp_listener import build_mllp_server
from ed_alerts.ingest.mllp_peers import MLLPConfigError, PeerPolicy, build_ssl_context
from ed_alerts.ingest.models import InboundMessage
from ed_alerts.services import Services
from ed_alerts.settings import Settings
from ed_alerts.sites.registry import Site, SiteRegistry
from integrations.mllp import AsyncMLLPClient
from tests.auth.helpers import adt_for


def _registry(**peers: list[str]) -> SiteRegistry:
    return SiteRegistry([Site(code=code, name=code, trust="RGT", source_type="hospital_ed", area=["CB1"],
                              mllp_peers=p) for code, p in peers.items()], "UNREGISTERED")


def test_peer_policy_global_and_per_feed() -> None:
    policy = PeerPolicy(["10.0.0.0/24"], _registry(RGT01=["192.168.1.5"], RGT02=["192.168.2.0/24"], RGT03=[]))
    assert policy.connection_allowlist() == {"10.0.0.0/24", "192.168.1.5", "192.168.2.0/24"}
    assert policy.refusal("10.0.0.7", "ANYONE") is None  # the interface engine may send for everyone
    assert policy.refusal("192.168.1.5", "rgt01") is None
    assert policy.refusal("::ffff:192.168.2.9", "RGT02") is None  # IPv4 seen through a dual-stack socket
    assert "may not send" in (policy.refusal("192.168.1.5", "RGT02") or "")  # feed A's address, feed B's sender
    assert policy.refusal("192.168.1.5", None)
    assert policy.refusal("192.168.1.5", "RGT03")  # a site without peers is reachable from global peers only


def test_production_refuses_a_listener_open_to_everyone() -> None:
    prod = Settings(environment="production", secret_key="q" * 20 + "w" * 20 + "0123456789")
    with pytest.raises(MLLPConfigError, match="ALLOWED_PEERS"):
        PeerPolicy.from_settings(prod, _registry())
    assert PeerPolicy.from_settings(prod.model_copy(update={"mllp_allow_any_peer": True}), _registry()).unrestricted
    assert not PeerPolicy.from_settings(prod, _registry(RGT01=["10.1.1.1"])).unrestricted
    assert PeerPolicy.from_settings(Settings(), _registry()).connection_allowlist() is None  # development


def test_registry_refuses_a_bad_peer(tmp_path: Path) -> None:
    from ed_alerts.sites.registry import SiteRegistryError

    bad = tmp_path / "sites.yaml"
    bad.write_text("sites:\n- {code: A, name: A, trust: T, source_type: hospital_ed, mllp_peers: [engine.local]}\n")
    with pytest.raises(SiteRegistryError, match="mllp_peers"):
        SiteRegistry.load(bad, "U")


def _send(port: int, messages: list[bytes], ssl_context: ssl.SSLContext | None = None) -> list[bytes]:
    async def go() -> list[bytes]:
        client = AsyncMLLPClient("127.0.0.1", port, ssl_context=ssl_context)
        try:
            return [await client.send(m) for m in messages]
        finally:
            await client.close()

    return asyncio.run(asyncio.wait_for(go(), 20))


def _serve(settings: Settings, services: Services, registry: SiteRegistry, fn):  # type: ignore[no-untyped-def]
    """Start the real listener (on a free port) over the test database, run `fn(port)` in a thread."""
    ctx = replace(services.ingest, sites=registry)

    async def main():  # type: ignore[no-untyped-def]
        server = build_mllp_server(settings.model_copy(update={"mllp_port": 0}), ctx)
        await server.start()
        try:
            return await asyncio.to_thread(fn, server.port)
        finally:
            await server.stop()

    return asyncio.run(main())


def test_a_message_is_accepted_only_from_its_feeds_peer(settings: Settings, services: Services) -> None:
    registry = _registry(RGT01=["127.0.0.1"], RGT02=["10.20.30.40"])
    acks = _serve(settings, services, registry,
                  lambda port: _send(port, [adt_for("RGT01", "P1"), adt_for("RGT02", "P2", seed=3)]))
    assert b"MSA|AA|P1" in acks[0]
    assert b"MSA|AR|P2" in acks[1] and b"may not send" in acks[1]
    with services.db.session() as s:
        assert s.scalars(select(InboundMessage.control_id)).all() == ["P1"]  # the refused one is not kept


def test_a_peer_not_listed_cannot_connect(settings: Settings, services: Services) -> None:
    registry = _registry(RGT01=["10.20.30.40"])
    with pytest.raises(ConnectionError):  # closed (or reset) at accept, before any message is read
        _serve(settings, services, registry, lambda port: _send(port, [adt_for("RGT01", "X1")]))
    with services.db.session() as s:
        assert s.scalars(select(InboundMessage)).all() == []


# --- mutual TLS -----------------------------------------------------------------------------------

def _cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
          *, ca: bool = False, server: bool = False) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, issuer_key = issuer or (name, key)
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
               .not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                        critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey | None = None) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        path.with_suffix(".key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Path]:
    ca_key, server_key, client_key, rogue_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(4))
    ca = _cert("test CA", ca_key, None, ca=True)
    rogue_ca = _cert("rogue CA", rogue_key, None, ca=True)
    _write(tmp_path / "ca.pem", ca)
    _write(tmp_path / "server.pem", _cert("ed-alerts", server_key, (ca.subject, ca_key), server=True), server_key)
    _write(tmp_path / "client.pem", _cert("RGT01 engine", client_key, (ca.subject, ca_key)), client_key)
    _write(tmp_path / "rogue.pem", _cert("RGT01 engine", client_key, (rogue_ca.subject, rogue_key)), client_key)
    (tmp_path / "rogue.key").write_bytes((tmp_path / "client.key").read_bytes())
    return {"ca": tmp_path / "ca.pem", "server": tmp_path / "server.pem", "server_key": tmp_path / "server.key",
            "client": tmp_path / "client.pem", "client_key": tmp_path / "client.key", "rogue": tmp_path / "rogue.pem",
            "rogue_key": tmp_path / "rogue.key"}


def _client_context(pki: dict[str, Path], cert: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki["ca"]))
    if cert is not None:
        context.load_cert_chain(pki[cert], pki[f"{cert}_key"])
    return context


def test_mutual_tls_accepts_a_certificate_from_the_configured_ca_only(settings: Settings, services: Services,
                                                                      pki: dict[str, Path]) -> None:
    tls = settings.model_copy(update={"mllp_tls_cert_file": pki["server"], "mllp_tls_key_file": pki["server_key"],
                                      "mllp_tls_client_ca_file": pki["ca"]})
    context = build_ssl_context(tls)
    assert context is not None and context.verify_mode == ssl.CERT_REQUIRED

    def attempts(port: int) -> list[str]:
        results = []
        for cert in ("client", None, "rogue"):
            try:
                ack = _send(port, [adt_for("RGT01", f"T-{cert}")], _client_context(pki, cert))[0]
                results.append("AA" if b"MSA|AA" in ack else "other")
            except (ssl.SSLError, ConnectionError):  # the handshake fails on the server's side: closed or reset
                results.append("refused")
        return results

    assert _serve(tls, services, _registry(), attempts) == ["AA", "refused", "refused"]
