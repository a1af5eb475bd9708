"""`ed-alerts users ...` with the password on standard input, and the admin users API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from ed_alerts.audit.models import AuditEntry
from ed_alerts.cli import app
from ed_alerts.services import Services
from ed_alerts.users.models import User
from tests.auth.helpers import HL7_TYPE, adt_for
from tests.conftest import DATA

PASSWORD = "a long synthetic password"


@pytest.fixture
def cli(services: Services, db_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("ED_ALERTS_DATABASE_URL", db_url)
    monkeypatch.setenv("ED_ALERTS_SITES_FILE", str(DATA / "sites.yaml"))
    return CliRunner()


def test_users_add_reads_the_password_from_stdin_and_it_signs_in(cli: CliRunner, client: TestClient,
                                                                 services: Services) -> None:
    result = cli.invoke(app, ["users", "add", "Jo.Nurse", "--role", "ed_nurse", "--site", "rgt01",
                              "--site", "RGT02"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "created jo.nurse (ed_nurse; scope RGT01, RGT02)" in result.output
    assert PASSWORD not in result.output
    with services.db.session() as s:
        user = s.scalars(select(User)).one()
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "user.created")).one()
    assert user.password_hash and user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert user.sites == ["RGT01", "RGT02"] and user.trust is None and user.active
    assert entry.actor.startswith("cli:") and entry.entity_id == "jo.nurse" and "password" in entry.details
    res = client.post("/auth/token", data={"username": "jo.nurse", "password": PASSWORD})
    assert res.status_code == 200


def test_an_integration_user_gets_a_token_shown_once(cli: CliRunner, client: TestClient) -> None:
    result = cli.invoke(app, ["users", "add", "ed-feed", "--role", "integration", "--site", "RGT01",
                              "--no-password"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("eda_")
    res = client.post("/hl7v2", content=adt_for("RGT01", "CLI1"),
                      headers={"Authorization": f"Bearer {token}", **HL7_TYPE})
    assert res.status_code == 200
    rotated = cli.invoke(app, ["users", "token", "ed-feed"])
    assert rotated.exit_code == 0 and rotated.output.strip().splitlines()[-1] != token
    assert client.post("/hl7v2", content=adt_for("RGT01", "CLI2"),
                       headers={"Authorization": f"Bearer {token}", **HL7_TYPE}).status_code == 401


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["nurse", "--role", "ed_nurse"], PASSWORD, "needs at least one site"),
    (["nurse", "--role", "ed_nurse", "--site", "NOWHERE"], PASSWORD, "unknown site code(s) NOWHERE"),
    (["sg", "--role", "safeguarding_nurse"], PASSWORD, "needs a trust"),
    (["sg", "--role", "safeguarding_nurse", "--trust", "NOPE"], PASSWORD, "unknown trust NOPE"),
    (["sg", "--role", "safeguarding_nurse", "--trust", "RGT", "--site", "RGT01"], PASSWORD, "not by site"),
    (["lead", "--role", "icb_lead", "--trust", "RGT"], PASSWORD, "no site or trust scope"),
    (["nurse", "--role", "ed_nurse", "--site", "RGT01"], "short", "at least 12 characters"),
    (["nurse", "--role", "ed_nurse", "--site", "RGT01"], "", "no password"),
    (["boss", "--role", "admin", "--no-password"], "", "needs a password"),
    (["boss", "--role", "superuser"], PASSWORD, "unknown role"),
    (["bad name", "--role", "admin"], PASSWORD, "letters, digits"),
])
def test_users_add_refuses_what_would_not_work(cli: CliRunner, args: list[str], stdin: str, message: str) -> None:
    result = cli.invoke(app, ["users", "add", *args], input=stdin + "\n")
    assert result.exit_code != 0
    assert message in result.output


def test_list_disable_and_password(cli: CliRunner, client: TestClient, services: Services) -> None:
    assert cli.invoke(app, ["users", "add", "lead", "--role", "icb_lead"], input=PASSWORD + "\n").exit_code == 0
    again = cli.invoke(app, ["users", "add", "LEAD", "--role", "icb_lead"], input=PASSWORD + "\n")
    assert again.exit_code == 1 and "already exists" in again.output
    listed = cli.invoke(app, ["users", "list"])
    assert "lead\ticb_lead\t-\tactive" in listed.output
    new_password = "another long synthetic password"
    assert cli.invoke(app, ["users", "password", "lead"], input=new_password + "\n").exit_code == 0
    assert client.post("/auth/token", data={"username": "lead", "password": new_password}).status_code == 200
    assert cli.invoke(app, ["users", "disable", "lead"]).exit_code == 0
    assert "disabled" in cli.invoke(app, ["users", "list"]).output
    assert client.post("/auth/token", data={"username": "lead", "password": new_password}).status_code == 401
    with services.db.session() as s:
        actions = s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert {"user.created", "user.password_set", "user.disabled"} <= set(actions)


def test_admins_manage_users_over_the_api(client: TestClient, make_user, auth_headers) -> None:
    admin = auth_headers(make_user("admin"))
    res = client.post("/api/users", headers=admin, json={"name": "feed2", "role": "integration",
                                                         "sites": ["RGT02"], "api_token": True})
    assert res.status_code == 201, res.text
    body = res.json()
    assert body["api_token"].startswith("eda_") and body["user"]["sites"] == ["RGT02"]
    assert not body["user"]["has_password"] and body["user"]["api_tokens"] == 1
    listed = client.get("/api/users", headers=admin).json()
    assert {u["name"] for u in listed} >= {"feed2"} and "password_hash" not in str(listed)
    bad = client.post("/api/users", headers=admin, json={"name": "x", "role": "ed_nurse", "password": PASSWORD})
    assert bad.status_code == 422 and "at least one site" in bad.json()["detail"]
    token = client.post("/api/users/feed2/api-token", headers=admin).json()["api_token"]
    assert token != body["api_token"]
    assert client.post("/api/users/feed2/disable", headers=admin).json()["active"] is False
    assert client.post("/api/users/nobody/disable", headers=admin).status_code == 404
