"""The OAuth2 password flow, our bearer tokens, feed API tokens, and what is refused and audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
from fastapi.testclient import TestClient
from sqlalchemy import select

from ed_alerts.audit.models import AuditEntry
from ed_alerts.audit.service import Actor
from ed_alerts.auth import tokens
from ed_alerts.auth.keys import derive
from ed_alerts.services import Services
from ed_alerts.settings import Settings
from ed_alerts.users.service import disable_user, issue_api_token
from tests.auth.helpers import HL7_TYPE, adt_for

ADMIN = Actor("cli:tests", "system")


def _audit(services: Services, action: str) -> list[AuditEntry]:
    with services.db.session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_password_flow_returns_a_bearer_token_that_works(client: TestClient, make_user, services) -> None:
    user = make_user("ed_nurse", sites=["RGT01"], name="nurse.one")
    res = client.post("/auth/token", data={"username": "Nurse.One", "password": user.password})
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["token_type"] == "bearer" and 3500 < body["expires_in"] <= 3600
    me = client.get("/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json() == {"name": "nurse.one", "role": "ed_nurse", "sites": ["RGT01"], "trust": None,
                         "authenticated_by": "token"}
    (entry,) = _audit(services, "auth.signin")
    assert (entry.actor, entry.role, entry.entity_id) == ("nurse.one", "ed_nurse", "nurse.one")
    assert entry.details["channel"] == "token"


def test_wrong_password_and_unknown_user_get_the_same_answer_and_are_audited(
        client: TestClient, make_user, services) -> None:
    make_user("admin", name="root")
    wrong = client.post("/auth/token", data={"username": "root", "password": "not it"})
    unknown = client.post("/auth/token", data={"username": "nobody", "password": "not it"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.headers["www-authenticate"].startswith("Bearer")
    entries = _audit(services, "auth.signin_failed")
    assert [(e.entity_id, e.reason, e.actor) for e in entries] == [
        ("root", "wrong password", "anonymous"), ("nobody", "no such user", "anonymous")]
    assert all(e.details["client_ip"] for e in entries)
    assert "not it" not in str([e.details for e in entries])  # the attempted password is never kept


def test_no_credentials_is_401_with_a_challenge(client: TestClient) -> None:
    res = client.get("/auth/me")
    assert res.status_code == 401 and res.headers["www-authenticate"] == 'Bearer realm="ed-alerts"'
    other_scheme = client.get("/auth/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert other_scheme.status_code == 401 and 'error="invalid_token"' in other_scheme.headers["www-authenticate"]


def test_expired_token_is_refused(client: TestClient, make_user, settings: Settings) -> None:
    user = make_user("icb_lead")
    old, _ = tokens.issue(settings, user_id=user.id, name=user.name, role=user.role,
                          now=datetime.now(UTC) - timedelta(hours=3))
    res = client.get("/auth/me", headers={"Authorization": f"Bearer {old}"})
    assert res.status_code == 401 and "expired" in res.json()["detail"]
    assert 'error="invalid_token"' in res.headers["www-authenticate"]


def test_forged_tokens_are_refused(client: TestClient, make_user, settings: Settings) -> None:
    user = make_user("admin")
    now = datetime.now(UTC)
    claims = {"iss": tokens.ISSUER, "aud": tokens.AUDIENCE, "sub": user.name, "uid": user.id, "role": "admin",
              "typ": "access", "iat": int(now.timestamp()), "exp": int((now + timedelta(minutes=5)).timestamp())}
    forged = {
        "another key": jwt.encode(claims, b"k" * 32, algorithm="HS256"),
        "the raw secret, not the derived key": jwt.encode(
            claims, settings.secret_key.get_secret_value().encode(), algorithm="HS256"),  # type: ignore[union-attr]
        "no signature": jwt.encode(claims, None, algorithm="none"),
        "another user's id": jwt.encode({**claims, "uid": user.id + 1000}, derive(settings, "jwt"), algorithm="HS256"),
        "another audience": jwt.encode({**claims, "aud": "elsewhere"}, derive(settings, "jwt"), algorithm="HS256"),
        "garbage": "not.a.token",
    }
    good, _ = tokens.issue(settings, user_id=user.id, name=user.name, role=user.role)
    head, payload, sig = good.split(".")
    forged["tampered payload"] = f"{head}.{payload[:-2]}xx.{sig}"
    for what, token in forged.items():
        res = client.get("/api/users", headers={"Authorization": f"Bearer {token}"})
        assert res.status_code == 401, what
    assert client.get("/api/users", headers={"Authorization": f"Bearer {good}"}).status_code == 200


def test_a_session_token_is_not_a_bearer_token(client: TestClient, make_user, settings: Settings) -> None:
    user = make_user("admin")
    session_token, _ = tokens.issue(settings, user_id=user.id, name=user.name, role=user.role, kind="session")
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {session_token}"}).status_code == 401


def test_disabling_a_user_ends_their_tokens_at_once(client: TestClient, make_user, auth_headers, services) -> None:
    user = make_user("safeguarding_nurse", trust="RGT")
    headers = auth_headers(user)
    assert client.get("/auth/me", headers=headers).status_code == 200
    with services.db.session() as s:
        disable_user(s, user.name, actor=ADMIN)
    res = client.get("/auth/me", headers=headers)
    assert res.status_code == 401 and "disabled" in res.json()["detail"]
    again = client.post("/auth/token", data={"username": user.name, "password": user.password})
    assert again.status_code == 401
    assert _audit(services, "auth.signin_failed")[-1].reason == "account disabled"


def test_role_and_scope_are_read_at_each_request_not_from_the_token(
        client: TestClient, make_user, auth_headers, services) -> None:
    from ed_alerts.users.models import User

    user = make_user("ed_nurse", sites=["RGT01"])
    headers = auth_headers(user)
    with services.db.session() as s:
        s.get_one(User, user.id).sites = ["RGT02"]
    assert client.get("/auth/me", headers=headers).json()["sites"] == ["RGT02"]


def test_feed_api_token_ingests_and_is_revoked_by_a_new_one(client: TestClient, make_user, services) -> None:
    feed = make_user("integration", api_token=True)
    assert feed.api_token and feed.api_token.startswith("eda_")
    bearer = {"Authorization": f"Bearer {feed.api_token}", **HL7_TYPE}
    res = client.post("/hl7v2", content=adt_for("RGT01", "TOK1"), headers=bearer)
    assert res.status_code == 200 and b"MSA|AA|TOK1" in res.content
    me = client.get("/auth/me", headers=bearer).json()
    assert me["authenticated_by"] == "api_token" and me["role"] == "integration"
    with services.db.session() as s:
        fresh = issue_api_token(s, feed.name, actor=ADMIN)
    assert client.post("/hl7v2", content=adt_for("RGT01", "TOK2"), headers=bearer).status_code == 401
    res = client.post("/hl7v2", content=adt_for("RGT01", "TOK2"),
                      headers={"Authorization": f"Bearer {fresh}", **HL7_TYPE})
    assert res.status_code == 200
    with services.db.session() as s:
        disable_user(s, feed.name, actor=ADMIN)
    assert client.post("/hl7v2", content=adt_for("RGT01", "TOK3"),
                       headers={"Authorization": f"Bearer {fresh}", **HL7_TYPE}).status_code == 401
    unknown = client.post("/hl7v2", content=b"MSH|", headers={"Authorization": "Bearer eda_madeup", **HL7_TYPE})
    assert unknown.status_code == 401


def test_api_tokens_are_stored_hashed(make_user, services) -> None:
    from ed_alerts.users.models import ApiToken, User

    feed = make_user("integration", api_token=True)
    with services.db.session() as s:
        stored = s.scalars(select(ApiToken.token_hash)).all()
        hashes = s.scalars(select(User.password_hash)).all()
    assert feed.api_token not in stored and len(stored[0]) == 64
    assert all(h.startswith("$argon2id$") for h in hashes if h)


def test_a_scoped_feed_may_send_only_for_its_sites(client: TestClient, make_user, services) -> None:
    from ed_alerts.ingest.models import InboundMessage

    feed = make_user("integration", sites=["RGT02"], api_token=True)
    bearer = {"Authorization": f"Bearer {feed.api_token}", **HL7_TYPE}
    assert client.post("/hl7v2", content=adt_for("RGT02", "OK1"), headers=bearer).status_code == 200
    refused = client.post("/hl7v2", content=adt_for("RGT01", "NO1"), headers=bearer)
    assert refused.status_code == 403
    assert b"MSA|AR|NO1" in refused.content and b"only for RGT02" in refused.content
    with services.db.session() as s:
        assert s.scalars(select(InboundMessage.control_id)).all() == ["OK1"]  # the refused one is not kept
    listed = client.get("/api/messages", headers=bearer).json()
    assert [m["control_id"] for m in listed] == ["OK1"]
    assert [f["sender"] for f in client.get("/api/feeds", headers=bearer).json()] == ["RGT02"]
