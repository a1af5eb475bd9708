"""The safeguarding nurse's pages: the queue (scope, filters, overdue first), auditing a referral as
sent, reviewing a decision not to refer, the child's timeline, the audit chain."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from ed_alerts.audit.models import AuditEntry
from ed_alerts.db.base import utcnow
from ed_alerts.flags.models import Decision
from ed_alerts.referrals.models import Referral
from ed_alerts.referrals.outbox import drain_outbox
from ed_alerts.services import Services
from ed_alerts.synthetic import Generator
from tests.referrals.factory import NURSE, complete, refer_all, send
from tests.web.conftest import csrf_of, sign_in
from tests.web.helpers import arrive


def _queue_rows(html: str) -> list[tuple[str, int, str]]:
    return [(k, int(i), s) for k, i, s in
            re.findall(r'data-kind="(\w+)" data-id="(\d+)" data-state="(\w+)"', html)]


def test_the_queue_shows_my_trust_overdue_first_and_filters(client: TestClient, services: Services,
                                                          make_user) -> None:
    gen = Generator(seed=41)
    old = arrive(services, gen, kind="weapon", arrival=datetime.now(UTC) - timedelta(hours=10))
    fresh = arrive(services, gen, kind="assault")
    other_trust = arrive(services, gen, site="RYC", kind="assault", postcode="E8 3QP")
    with services.db.session() as s:  # the old one's decisions are past due: as if raised at arrival
        for d in s.scalars(select(Decision).where(Decision.attendance_id == old)):
            d.due_at = utcnow() - timedelta(hours=5)
    sign_in(client, make_user("safeguarding_nurse", trust="RGT"))
    page = client.get("/queue")
    assert page.status_code == 200
    rows = _queue_rows(page.text)
    attendances = re.findall(r'data-attendance-id="(\d+)"', page.text)
    assert str(old) in attendances and str(fresh) in attendances and str(other_trust) not in attendances
    assert attendances[0] == str(old) and "Overdue" in page.text.split("</tr>")[1]
    assert all(kind == "decision" and state == "pending" for kind, _, state in rows)

    filtered = client.get("/queue", params={"rule": "weapon"}).text
    assert set(re.findall(r'data-attendance-id="(\d+)"', filtered)) == {str(old)}
    assert 'selected>Weapon injury' in filtered or '"weapon" selected' in filtered
    assert not _queue_rows(client.get("/queue", params={"site": "RGT02"}).text)
    assert not _queue_rows(client.get("/queue", params={"until": "2000-01-01"}).text)


def test_auditing_a_delivered_referral_from_the_queue(client: TestClient, services: Services, make_user) -> None:
    gen = Generator(seed=42)
    attendance_id = arrive(services, gen)
    referral_id = refer_all(services, attendance_id)
    complete(services, referral_id)
    send(services, referral_id)
    lead = make_user("safeguarding_nurse", trust="RGT", name="lee.safeguarding")
    sign_in(client, lead)
    page = client.get("/queue").text
    assert ("referral", referral_id, "sent") in _queue_rows(page) and "Audit as sent" not in page  # not yet delivered

    drain_outbox(services, utcnow())
    page = client.get("/queue", params={"state": "sent"}).text
    assert "acknowledged" in page and "Audit as sent" in page
    res = client.post(f"/referrals/{referral_id}/audit", data={"csrf_token": csrf_of(page), "comment": "Good.",
                                                               "back": "/queue?state=sent"}, follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == "/queue?state=sent&done=audited"
    with services.db.session() as s:
        referral = s.get_one(Referral, referral_id)
        assert referral.state == "audited" and referral.audited_by == "lee.safeguarding"
    assert "Referral audited as sent." in client.get(res.headers["location"]).text
    # Auditing it twice is refused and the queue says so.
    res = client.post(f"/referrals/{referral_id}/audit", data={"csrf_token": csrf_of(page), "back": "/queue"},
                      follow_redirects=False)
    assert res.headers["location"] == "/queue?error=audit-refused"
    # The back link cannot leave the site.
    assert local_path_refuses("//evil.example/x")


def local_path_refuses(target: str) -> bool:
    from ed_alerts.web.queue import local_path

    return local_path(target, "/fallback") == "/fallback"


def test_reviewing_a_decision_not_to_refer(client: TestClient, services: Services, make_user) -> None:
    attendance_id = arrive(services, Generator(seed=43), kind="assault")
    sign_in(client, make_user("ed_nurse", sites=["RGT01"]))
    token = csrf_of(client.get(f"/attendances/{attendance_id}").text)
    with services.db.session() as s:
        ids = list(s.scalars(select(Decision.id).where(Decision.attendance_id == attendance_id)))
    client.post(f"/attendances/{attendance_id}/decisions",
                data={"csrf_token": token, "decision": ids, "outcome": "not_refer",
                      "rationale": "Fell off a wall; no concerns."})
    sign_in(client, make_user("safeguarding_nurse", trust="RGT"))
    queue = client.get("/queue").text
    assert ("decision", ids[0], "awaiting_review") in _queue_rows(queue)
    page = client.get(f"/attendances/{attendance_id}").text
    assert "Your review of this decision not to refer" in page
    res = client.post(f"/decisions/{ids[0]}/review", data={"csrf_token": csrf_of(page), "comment": ""})
    assert res.status_code == 422 and "Choose whether you agree" in res.text
    res = client.post(f"/decisions/{ids[0]}/review", data={"csrf_token": csrf_of(page), "verdict": "agree",
                                                           "comment": "Agree."}, follow_redirects=False)
    assert res.status_code == 303
    with services.db.session() as s:
        assert s.get_one(Decision, ids[0]).reviewed_by is not None


def test_the_timeline_and_the_audit_chain(client: TestClient, services: Services, make_user) -> None:
    gen = Generator(seed=44)
    child = gen.child(age=15)
    arrive(services, gen, site="RGT02", child=child, arrival=datetime.now(UTC) - timedelta(days=3))
    attendance_id = arrive(services, gen, child=child)
    refer_all(services, attendance_id, NURSE)
    with services.db.session() as s:
        patient_id = s.scalars(select(Referral.patient_id)).one()
    lead = make_user("safeguarding_nurse", trust="RGT")
    sign_in(client, lead)
    page = client.get(f"/patients/{patient_id}/timeline")
    assert page.status_code == 200
    kinds = re.findall(r'<li class="k-(\w+)"', page.text)
    assert kinds.count("attendance") == 2 and "flag" in kinds and "decision" in kinds and "referral" in kinds
    assert kinds.index("attendance") < kinds.index("referral")
    with services.db.session() as s:
        assert s.scalars(select(AuditEntry).where(AuditEntry.entity_type == "patient",
                                                  AuditEntry.action == "record.viewed")).one()
    chain = client.get("/audit-chain").text
    assert re.search(r'id="chain-status">Intact: all \d+ entries check out', chain)
    sign_in(client, make_user("safeguarding_nurse", trust="RYC"))
    assert client.get(f"/patients/{patient_id}/timeline").status_code == 403
