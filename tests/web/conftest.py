"""Web page fixtures: the app with a fake local authority configured, and signing in through the form."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ed_alerts.settings import Settings
from tests.conftest import DATA, AppUser
from tests.referrals.conftest import fake_la, fake_la_server, write_authorities  # noqa: F401 - fixtures

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@pytest.fixture
def settings(db_url: str, tmp_path: Path, fake_la) -> Settings:  # type: ignore[no-untyped-def]  # noqa: F811
    return Settings(database_url=db_url, sites_file=DATA / "sites.yaml", mllp_enabled=False,
                    default_trust="UNREGISTERED", scheduler_enabled=False,
                    local_authorities_file=write_authorities(tmp_path / "las.yaml", fake_la.url),
                    delivery_base_delay_s=1.0)


def sign_in(client: TestClient, user: AppUser) -> None:
    """Sign in through the sign-in form, as a browser does: a session cookie and a CSRF cookie."""
    client.cookies.clear()
    token = CSRF.search(client.get("/signin").text)
    assert token
    res = client.post("/signin", data={"username": user.name, "password": user.password,
                                       "csrf_token": token.group(1), "next": "/"}, follow_redirects=False)
    assert res.status_code == 303, res.text


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)
