"""Referral fixtures: a real fake local authority (HTTP on loopback) and settings that point at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ed_alerts.settings import Settings
from integrations.local_authority.fake_server import FakeLocalAuthority
from tests.conftest import DATA

LA_CODE = "CAMBS"


@pytest.fixture(scope="module")
def fake_la_server() -> Iterator[FakeLocalAuthority]:
    with FakeLocalAuthority(token="fake-la-test-token-0123456789") as fake:
        yield fake


@pytest.fixture
def fake_la(fake_la_server: FakeLocalAuthority) -> FakeLocalAuthority:
    fake_la_server.reset(settings=True)
    fake_la_server.come_up()
    return fake_la_server


def write_authorities(path: Path, url: str, *, timeout_s: float = 30.0) -> Path:
    path.write_text(yaml.safe_dump({"local_authorities": [
        {"code": LA_CODE, "name": "Cambridgeshire (synthetic)", "url": url,
         "token": "fake-la-test-token-0123456789", "timeout_s": timeout_s, "areas": ["CB", "PE"]},
    ]}), encoding="utf-8")
    return path


@pytest.fixture
def settings(db_url: str, tmp_path: Path, fake_la: FakeLocalAuthority) -> Settings:
    return Settings(
        database_url=db_url, sites_file=DATA / "sites.yaml", mllp_enabled=False, default_trust="UNREGISTERED",
        scheduler_enabled=False, local_authorities_file=write_authorities(tmp_path / "las.yaml", fake_la.url),
        delivery_base_delay_s=1.0, delivery_max_delay_s=30.0, delivery_max_attempts=5,
    )


@pytest.fixture
def nurse(make_user, auth_headers) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """An ED nurse at both test EDs: a bearer token for the sign-in, and X-User/X-Role naming the
    same user for `get_actor`, so the tests hold whichever way the actor is resolved."""
    user = make_user("ed_nurse", sites=["RGT01", "RGT02"], name="sam.nurse")
    return {**auth_headers(user), "X-User": user.name, "X-Role": user.role}


@pytest.fixture
def lead(make_user, auth_headers) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The trust's named safeguarding nurse."""
    user = make_user("safeguarding_nurse", trust="RGT", name="lee.safeguarding")
    return {**auth_headers(user), "X-User": user.name, "X-Role": user.role}
