"""The ED board: the nurse's sites only, flagged children first, refreshed from a fragment, audited
once per child per shift rather than on every refresh."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from ed_alerts.audit.models import AuditEntry
from ed_alerts.services import Services
from ed_alerts.synthetic import Generator
from tests.web.conftest import sign_in
from tests.web.helpers import arrive


def _row_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr data-attendance-id="(\d+)"', html)]


def test_the_board_lists_my_sites_flagged_first_with_severity_and_reason(client: TestClient, services: Services,
                                                                       make_user) -> None:
    gen = Generator(seed=21)
    plain = arrive(services, gen, kind="plain", family="Plainfield")
    flagged = arrive(services, gen, kind="weapon", family="Knifeworth",
                     arrival=datetime.now(UTC) - timedelta(hours=2))
    elsewhere = arrive(services, gen, site="RGT02", kind="weapon", family="Otherside")
    old = arrive(services, gen, kind="weapon", arrival=datetime.now(UTC) - timedelta(hours=30))
    sign_in(client, make_user("ed_nurse", sites=["RGT01"]))
    page = client.get("/board")
    assert page.status_code == 200
    ids = _row_ids(page.text)
    assert ids[0] == flagged and plain in ids and elsewhere not in ids and old not in ids
    row = page.text.split(f'data-attendance-id="{flagged}"')[1].split("</tr>")[0]
    assert "KNIFEWORTH" in row and 'class="badge critical"' in row and "Weapon injury" in row
    assert "Stab wound" in row and "flag-reason" in row and "Decision due" in row
    # The page refreshes itself from this fragment; without scripts it reloads itself.
    assert 'data-poll-url="/board/rows"' in page.text and 'http-equiv="refresh"' in page.text
    fragment = client.get("/board/rows", headers={"X-Fragment": "1"})
    assert fragment.status_code == 200 and _row_ids(fragment.text) == ids and "<html" not in fragment.text


def test_a_new_attendance_appears_in_the_fragment(client: TestClient, services: Services, make_user) -> None:
    gen = Generator(seed=22)
    sign_in(client, make_user("ed_nurse", sites=["RGT01"]))
    before = _row_ids(client.get("/board/rows").text)
    new = arrive(services, gen, kind="disclosure")
    after = _row_ids(client.get("/board/rows").text)
    assert new not in before and after[0] == new


def test_board_views_are_audited_once_per_child_per_shift(client: TestClient, services: Services,
                                                         make_user) -> None:
    gen = Generator(seed=23)
    first = arrive(services, gen)
    user = make_user("ed_nurse", sites=["RGT01"])
    sign_in(client, user)
    for _ in range(3):
        client.get("/board/rows")
    second = arrive(services, gen, kind="plain")
    client.get("/board")

    with services.db.session() as s:
        views = s.execute(select(AuditEntry.entity_id, AuditEntry.reason).where(
            AuditEntry.action == "record.viewed", AuditEntry.actor == user.name)).all()
    assert sorted(int(e) for e, _ in views) == sorted([first, second])
    assert {r for _, r in views} == {"direct care: ED board"}


def test_a_safeguarding_nurse_sees_the_trust_and_ambulance_children_of_its_area(
        client: TestClient, services: Services, make_user) -> None:
    gen = Generator(seed=24)
    own = arrive(services, gen, site="RGT02")
    ambulance_home = arrive(services, gen, site="RYC", kind="disclosure", postcode="CB4 1XY")
    ambulance_away = arrive(services, gen, site="RYC", kind="disclosure", postcode="E8 3QP")
    sign_in(client, make_user("safeguarding_nurse", trust="RGT"))
    ids = _row_ids(client.get("/board").text)
    assert own in ids and ambulance_home in ids and ambulance_away not in ids
