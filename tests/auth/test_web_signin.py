"""The sign-in page: an accessible form, CSRF-protected posts, a secure session cookie, sign-out."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ed_alerts.app import create_app
from ed_alerts.audit.models import AuditEntry
from ed_alerts.ingest.models import ContentType, Transport
from ed_alerts.ingest.pipeline import ingest
from ed_alerts.services import Services
from ed_alerts.settings import Settings
from tests.auth.helpers import adt_for, csrf_from_page


def _set_cookies(res) -> list[str]:  # type: ignore[no-untyped-def]
    return res.headers.get_list("set-cookie")


def _sign_in(client: TestClient, name: str, password: str, **extra: str):  # type: ignore[no-untyped-def]
    token = csrf_from_page(client)
    return client.post("/signin", data={"username": name, "password": password, "csrf_token": token, **extra},
                       follow_redirects=False)


def test_the_page_is_a_labelled_form_with_a_csrf_field(client: TestClient) -> None:
    res = client.get("/signin")
    assert res.status_code == 200 and res.headers["cache-control"] == "no-store"
    html = res.text
    assert '<html lang="en">' in html and 'href="#main"' in html and '<main id="main"' in html
    for field, autocomplete in (("username", "username"), ("password", "current-password")):
        assert f'<label for="{field}">' in html
        assert re.search(rf'id="{field}" name="{field}"[^>]*autocomplete="{autocomplete}"', html)
    assert 'name="csrf_token"' in html and "<script" not in html  # works without JavaScript
    assert "frame-ancestors 'none'" in res.headers["content-security-policy"]  # never framed
    (cookie,) = [c for c in _set_cookies(res) if c.startswith("ed_alerts_csrf=")]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")


def test_sign_in_sets_a_session_cookie_and_redirects(client: TestClient, make_user, services: Services) -> None:
    user = make_user("ed_nurse", sites=["RGT01"], name="web.nurse")
    outcome = ingest(services.ingest, adt_for("RGT01", "W1"), ContentType.HL7V2, Transport.HTTP)
    res = _sign_in(client, "web.nurse", user.password, next=f"/api/attendances/{outcome.attendance_ids[0]}")
    assert res.status_code == 303 and res.headers["location"] == f"/api/attendances/{outcome.attendance_ids[0]}"
    (session,) = [c for c in _set_cookies(res) if c.startswith("ed_alerts_session=")]
    assert "HttpOnly" in session and "samesite=lax" in session.lower() and "Secure" not in session
    assert any(c.startswith("ed_alerts_csrf=") for c in _set_cookies(res))  # renewed at sign-in
    assert client.get(res.headers["location"]).status_code == 200  # the cookie alone is enough to read
    assert client.get("/auth/me").json()["authenticated_by"] == "session"
    assert "Signed in as <strong>web.nurse</strong>" in client.get("/signin").text
    with services.db.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "auth.signin")).one()
    assert entry.details["channel"] == "web"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", ""])
def test_sign_in_never_redirects_off_site(client: TestClient, make_user, target: str) -> None:
    user = make_user("admin")
    res = _sign_in(client, user.name, user.password, next=target)
    assert res.status_code == 303 and res.headers["location"] == "/signin"


def test_a_post_without_or_with_a_forged_csrf_token_is_refused(client: TestClient, make_user) -> None:
    user = make_user("admin")
    csrf_from_page(client)  # the browser has the cookie...
    for token in ("", "0" * 64):  # ...but the form's token is missing or made up
        res = client.post("/signin", data={"username": user.name, "password": user.password, "csrf_token": token},
                          follow_redirects=False)
        assert res.status_code == 403 and "security token" in res.text
        assert not any(c.startswith("ed_alerts_session=") for c in _set_cookies(res))
    # A token from another browser's page does not fit this browser's cookie.
    other = TestClient(client.app)
    stolen = csrf_from_page(other)
    res = client.post("/signin", data={"username": user.name, "password": user.password, "csrf_token": stolen},
                      follow_redirects=False)
    assert res.status_code == 403


def test_a_failed_sign_in_shows_the_error_accessibly_and_is_audited(client: TestClient, make_user,
                                                                    services: Services) -> None:
    make_user("admin", name="boss")
    res = _sign_in(client, "boss", "wrong password")
    assert res.status_code == 401
    assert 'role="alert"' in res.text and 'aria-invalid="true"' in res.text and 'value="boss"' in res.text
    assert "wrong password" not in res.text  # what was typed is not echoed back
    with services.db.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "auth.signin_failed")).one()
    assert entry.details["channel"] == "web" and entry.reason == "wrong password"


def test_cookie_authenticated_changes_need_the_csrf_token(client: TestClient, make_user, services: Services) -> None:
    user = make_user("integration")
    outcome = ingest(services.ingest, adt_for("RGT01", "C1"), ContentType.HL7V2, Transport.HTTP)
    assert _sign_in(client, user.name, user.password).status_code == 303
    replay = f"/api/messages/{outcome.message_id}/replay"
    refused = client.post(replay)
    assert refused.status_code == 403 and "security token" in refused.json()["detail"]
    token = csrf_from_page(client)
    assert client.post(replay, headers={"X-CSRF-Token": token}).status_code == 200
    assert client.post(replay, data={"csrf_token": token}).status_code == 200  # a form post works too
    assert client.get("/api/messages").status_code == 200  # reading needs no token


def test_sign_out_ends_the_session(client: TestClient, make_user, services: Services) -> None:
    user = make_user("icb_lead")
    assert _sign_in(client, user.name, user.password).status_code == 303
    assert client.post("/signout", data={"csrf_token": "forged"}).status_code == 403
    res = client.post("/signout", data={"csrf_token": csrf_from_page(client)}, follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == "/signin"
    assert any(c.startswith("ed_alerts_session=") and "Max-Age=0" in c for c in _set_cookies(res))
    assert client.get("/auth/me").status_code == 401
    with services.db.session() as s:
        assert s.scalars(select(AuditEntry.action).where(AuditEntry.action == "auth.signout")).all()


@pytest.fixture
def production_client(settings: Settings, services: Services) -> Iterator[TestClient]:
    prod = settings.model_copy(update={"environment": "production"})
    with TestClient(create_app(prod, services=services), base_url="https://testserver") as c:
        yield c


def test_production_cookies_are_secure_and_host_locked(production_client: TestClient, make_user) -> None:
    user = make_user("admin")
    page = production_client.get("/signin")
    (csrf_cookie,) = _set_cookies(page)
    assert csrf_cookie.startswith("__Host-ed_alerts_csrf=") and "Secure" in csrf_cookie
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text).group(1)  # type: ignore[union-attr]
    res = production_client.post("/signin", data={"username": user.name, "password": user.password,
                                                  "csrf_token": token}, follow_redirects=False)
    (session,) = [c for c in _set_cookies(res) if "ed_alerts_session" in c]
    assert session.startswith("__Host-ed_alerts_session=") and "Secure" in session and "HttpOnly" in session
    assert "Path=/" in session and "Domain" not in session
