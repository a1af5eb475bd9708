"""Who reaches which page, and how refusals look: the sign-in form (401), the reason (403)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ed_alerts.services import Services
from ed_alerts.synthetic import Generator
from tests.web.conftest import sign_in
from tests.web.helpers import arrive


def test_without_a_session_a_page_shows_the_sign_in_form_and_comes_back(client: TestClient, make_user) -> None:
    res = client.get("/board")
    assert res.status_code == 401 and "www-authenticate" in res.headers
    assert 'action="/signin"' in res.text and 'name="next" value="/board"' in res.text
    user = make_user("ed_nurse", sites=["RGT01"])
    token = res.text.split('name="csrf_token" value="')[1].split('"')[0]
    back = client.post("/signin", data={"username": user.name, "password": user.password, "csrf_token": token,
                                        "next": "/board"}, follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == "/board"
    assert client.get("/board").status_code == 200


def test_home_sends_each_role_to_its_page(client: TestClient, make_user) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/signin?next=%2F"
    for role, scope, page in [("ed_nurse", {"sites": ["RGT01"]}, "/board"),
                              ("safeguarding_nurse", {"trust": "RGT"}, "/queue"),
                              ("icb_lead", {}, "/dashboard")]:
        sign_in(client, make_user(role, **scope))
        assert client.get("/", follow_redirects=False).headers["location"] == page


def test_refusals_are_pages_with_the_reason(client: TestClient, services: Services, make_user) -> None:
    attendance_id = arrive(services, Generator(seed=11))
    sign_in(client, make_user("ed_nurse", sites=["RGT02"]))
    res = client.get(f"/attendances/{attendance_id}")
    assert res.status_code == 403 and "text/html" in res.headers["content-type"]
    assert "site RGT01" in res.text and "You cannot see this page" in res.text
    sign_in(client, make_user("icb_lead"))
    res = client.get(f"/attendances/{attendance_id}")
    assert res.status_code == 403 and "aggregates only" in res.text
    assert client.get("/board").status_code == 403
    assert client.get("/queue").status_code == 403
    assert client.get("/dashboard").status_code == 200
    sign_in(client, make_user("safeguarding_nurse", trust="RGT"))
    assert client.get("/dashboard").status_code == 403
    assert client.get("/attendances/999999").status_code == 404


def test_a_fragment_request_without_a_session_gets_a_short_answer(client: TestClient) -> None:
    res = client.get("/board/rows", headers={"X-Fragment": "1"})
    assert res.status_code == 401 and res.json()["detail"]


def test_the_web_mount_leaves_the_api_answers_alone(client: TestClient) -> None:
    assert client.get("/hl7v2").status_code == 405  # the API route's method, not a page
    res = client.get("/api/no-such-thing")
    assert res.status_code == 404 and res.headers["content-type"].startswith("application/json")


def test_static_files_and_security_headers(client: TestClient, make_user) -> None:
    res = client.get("/static/app.js")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/javascript")
    assert client.get("/static/..%2Fapp.py").status_code == 404
    assert client.get("/static/missing.css").status_code == 404
    sign_in(client, make_user("ed_nurse", sites=["RGT01"]))
    page = client.get("/board")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp
    assert page.headers["cache-control"] == "no-store"
    assert "<script" in page.text and "http://" not in page.text.split("<body")[0].replace("http://www.w3.org", "")
