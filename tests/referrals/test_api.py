"""The referral workflow through the HTTP API: decisions, drafting, completeness, sending, auditing."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ed_alerts.audit.models import AuditEntry
from ed_alerts.db.base import utcnow
from ed_alerts.referrals.models import ReferralOutbox
from ed_alerts.referrals.outbox import drain_outbox
from ed_alerts.services import Services
from ed_alerts.synthetic import Generator
from integrations.local_authority.fake_server import FakeLocalAuthority
from tests.referrals.factory import flagged_attendance, pending_decisions

Headers = dict[str, str]


DRAFT = {
    "what_happened": "Jumped by three lads on the way home from school.",
    "child_words": "\"They said next time they'll bring a knife.\"",
    "injuries": "Laceration to scalp, glued; bruised ribs.",
    "others_involved": "Three older boys; a friend was with him and ran off.",
    "parents_aware": False,
    "referrer_contact": "01632 960123",
    "decision_rationale": "Group assault with a threat of a weapon.",
}


def _audit_actions(services: Services, entity_type: str, entity_id: int) -> list[str]:
    with services.db.session() as s:
        return list(s.scalars(select(AuditEntry.action).where(
            AuditEntry.entity_type == entity_type, AuditEntry.entity_id == str(entity_id)
        ).order_by(AuditEntry.id)))


def test_refer_draft_send_deliver_audit(client: TestClient, services: Services, fake_la: FakeLocalAuthority,
                                        nurse: Headers, lead: Headers) -> None:
    gen = Generator(seed=401)
    attendance_id = flagged_attendance(services, gen, kind="group_assault")
    first, *others = pending_decisions(services, attendance_id)
    assert others, "group assault raises more than one flag needing a decision"

    # A decision is made by a named user.
    anonymous = client.post(f"/api/decisions/{first}", json={"outcome": "refer"})
    assert anonymous.status_code == 401  # not signed in
    decided = client.post(f"/api/decisions/{first}", headers=nurse,
                          json={"outcome": "refer", "child_words": "I don't want to go home that way again",
                                "rationale": "Assaulted by a group"})
    assert decided.status_code == 200, decided.text
    referral_id = decided.json()["referral_id"]
    assert decided.json()["decided_by"] == "sam.nurse" and decided.json()["status"] == "refer"
    again = client.post(f"/api/decisions/{first}", headers=nurse,
                        json={"outcome": "not_refer", "rationale": "x"})
    assert again.status_code == 409

    # Every other flag's "refer" joins the same referral: one per attendance.
    for decision_id in others:
        joined = client.post(f"/api/decisions/{decision_id}", headers=nurse, json={"outcome": "refer"})
        assert joined.json()["referral_id"] == referral_id

    view = client.get(f"/api/referrals/{referral_id}", headers=nurse)
    assert view.status_code == 200, view.text
    body = view.json()
    assert body["state"] == "required" and body["local_authority_code"] == "CAMBS"
    assert len(body["risk_factors"]) == len(body["flags"]) == 1 + len(others)
    assert body["child_words"] == "I don't want to go home that way again"
    assert body["referrer_name"] == "sam.nurse"
    missing = {m["field"] for m in body["missing"]}
    assert missing == {"what_happened", "injuries", "others_involved", "parents_aware", "referrer_contact"}
    assert all(m["label"] for m in body["missing"])

    # Not complete: 422 names exactly what is missing.
    refused = client.post(f"/api/referrals/{referral_id}/send", headers=nurse)
    assert refused.status_code == 409  # required -> sent is not a transition: draft it first
    drafted = client.patch(f"/api/referrals/{referral_id}", headers=nurse, json={"what_happened": "Assault"})
    assert drafted.status_code == 200 and drafted.json()["state"] == "drafted"
    incomplete = client.post(f"/api/referrals/{referral_id}/send", headers=nurse)
    assert incomplete.status_code == 422
    assert {m["field"] for m in incomplete.json()["missing"]} == {
        "injuries", "others_involved", "parents_aware", "referrer_contact"}
    labels = {m["label"] for m in incomplete.json()["missing"]}
    assert labels >= {"Injuries", "Whether parents or carers know"}

    # Parents not told: the reason becomes mandatory.
    patched = client.patch(f"/api/referrals/{referral_id}", headers=nurse, json=DRAFT)
    assert [m["field"] for m in patched.json()["missing"]] == ["parents_not_aware_reason"]
    patched = client.patch(f"/api/referrals/{referral_id}", headers=nurse,
                           json={"parents_not_aware_reason": "Child fears retaliation at home if told."})
    assert patched.json()["missing"] == []

    sent = client.post(f"/api/referrals/{referral_id}/send", headers=nurse)
    assert sent.status_code == 202, sent.text
    assert sent.json()["state"] == "sent" and sent.json()["delivery_status"] == "pending"
    assert client.post(f"/api/referrals/{referral_id}/send", headers=nurse).status_code == 409
    with services.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ReferralOutbox)) == 1

    # Not delivered yet: it cannot be audited as sent.
    early = client.post(f"/api/referrals/{referral_id}/audit", headers=lead, json={"comment": "ok"})
    assert early.status_code == 409 and "acknowledged" in early.json()["detail"]

    report = drain_outbox(services, utcnow())
    assert report.delivered == 1
    delivered = client.get(f"/api/referrals/{referral_id}", headers=lead).json()
    assert delivered["delivery_status"] == "delivered"
    assert delivered["delivery_reference"] == fake_la.references()[delivered["idempotency_key"]]
    assert [a["outcome"] for a in delivered["attempts"]] == ["accepted"]

    assert client.post(f"/api/referrals/{referral_id}/audit", headers=nurse, json={}).status_code == 403
    audited = client.post(f"/api/referrals/{referral_id}/audit", headers=lead,
                          json={"comment": "Good account; child's words recorded verbatim."})
    assert audited.status_code == 200
    assert audited.json()["state"] == "audited" and audited.json()["audited_by"] == "lee.safeguarding"
    assert audited.json()["allowed_transitions"] == []

    actions = _audit_actions(services, "referral", referral_id)
    assert actions[0] == "referral.created"
    for expected in ("referral.drafted", "referral.updated", "referral.sent", "referral.delivery_attempt",
                     "referral.delivered", "referral.audited", "record.viewed"):
        assert expected in actions
    verify = client.get("/api/audit/verify", headers=lead)
    assert verify.status_code == 200 and verify.json()["ok"] is True and verify.json()["checked"] > 10


def test_not_refer_needs_a_rationale_and_a_review(client: TestClient, services: Services,
                                                  nurse: Headers, lead: Headers) -> None:
    gen = Generator(seed=402)
    attendance_id = flagged_attendance(services, gen, kind="assault")
    decision_id = pending_decisions(services, attendance_id)[0]

    no_reason = client.post(f"/api/decisions/{decision_id}", headers=nurse, json={"outcome": "not_refer"})
    assert no_reason.status_code == 422
    assert no_reason.json()["missing"][0]["field"] == "rationale"
    ok = client.post(f"/api/decisions/{decision_id}", headers=nurse, json={
        "outcome": "not_refer", "rationale": "Injured in a boxing club bout, supervised; no concerns.",
        "child_words": "It was sparring, coach was there"})
    assert ok.status_code == 200 and ok.json()["referral_id"] is None

    queue = client.get("/api/queue", headers=lead).json()
    item = next(i for i in queue["items"] if i["kind"] == "decision" and i["id"] == decision_id)
    assert item["state"] == "awaiting_review"
    assert queue["counts"]["decision"]["awaiting_review"] >= 1

    assert client.post(f"/api/decisions/{decision_id}/review", headers=nurse, json={}).status_code == 403
    no_reason = client.post(f"/api/decisions/{decision_id}/review", headers=lead, json={"refer": True})
    assert no_reason.status_code == 422
    reviewed = client.post(f"/api/decisions/{decision_id}/review", headers=lead, json={"comment": "Agree."})
    assert reviewed.status_code == 200 and reviewed.json()["reviewed_by"] == "lee.safeguarding"
    assert client.post(f"/api/decisions/{decision_id}/review", headers=lead, json={}).status_code == 409
    after = client.get("/api/queue", headers=lead).json()
    assert not any(i["kind"] == "decision" and i["id"] == decision_id for i in after["items"])
    assert _audit_actions(services, "decision", decision_id) == ["decision.recorded", "decision.reviewed"]


def test_overturned_decision_creates_the_referral(client: TestClient, services: Services,
                                                  nurse: Headers, lead: Headers) -> None:
    gen = Generator(seed=403)
    decision_id = pending_decisions(services, flagged_attendance(services, gen, kind="weapon"))[0]
    client.post(f"/api/decisions/{decision_id}", headers=nurse,
                json={"outcome": "not_refer", "rationale": "Accidental, says he fell on a knife."})
    overturned = client.post(f"/api/decisions/{decision_id}/review", headers=lead,
                             json={"refer": True, "comment": "A stab wound with debt mentioned: refer."})
    assert overturned.status_code == 200 and overturned.json()["status"] == "refer"
    referral = client.get(f"/api/referrals/{overturned.json()['referral_id']}", headers=lead).json()
    assert referral["state"] == "required"
    assert referral["decision_rationale"] == "A stab wound with debt mentioned: refer."


def test_not_required_rationale_review_and_reopen(client: TestClient, services: Services,
                                                  nurse: Headers, lead: Headers) -> None:
    gen = Generator(seed=404)
    attendance_id = flagged_attendance(services, gen, kind="group_assault")
    first, second, *_ = pending_decisions(services, attendance_id)
    decided = client.post(f"/api/decisions/{first}", headers=nurse, json={"outcome": "refer"})
    referral_id = decided.json()["referral_id"]

    assert client.post(f"/api/referrals/{referral_id}/not-required", headers=nurse,
                       json={"rationale": "  "}).status_code == 422
    closed = client.post(f"/api/referrals/{referral_id}/not-required", headers=nurse,
                         json={"rationale": "Police referred to the same MASH this morning (ref given)."})
    assert closed.status_code == 200 and closed.json()["state"] == "not_required"
    edit = client.patch(f"/api/referrals/{referral_id}", headers=nurse, json={"injuries": "x"})
    assert edit.status_code == 409
    queue = client.get("/api/queue", headers=lead, params={"state": "not_required"}).json()
    assert [i["id"] for i in queue["items"]] == [referral_id]
    assert client.post(f"/api/referrals/{referral_id}/review", headers=nurse, json={}).status_code == 403
    reviewed = client.post(f"/api/referrals/{referral_id}/review", headers=lead, json={"comment": "Checked."})
    assert reviewed.status_code == 200 and reviewed.json()["reviewed_by"] == "lee.safeguarding"

    # A later "refer" on another flag of the same attendance reopens it.
    client.post(f"/api/decisions/{second}", headers=nurse, json={"outcome": "refer"})
    reopened = client.get(f"/api/referrals/{referral_id}", headers=nurse).json()
    assert reopened["state"] == "required"
    assert reopened["not_required_rationale"].startswith("Police")  # the earlier closure stays on record
    assert "referral.reopened" in _audit_actions(services, "referral", referral_id)


def test_illegal_transition_is_a_409_naming_the_allowed_ones(client: TestClient, services: Services,
                                                             nurse: Headers, lead: Headers) -> None:
    gen = Generator(seed=405)
    decision_id = pending_decisions(services, flagged_attendance(services, gen, kind="assault"))[0]
    referral_id = client.post(f"/api/decisions/{decision_id}", headers=nurse,
                              json={"outcome": "refer"}).json()["referral_id"]
    refused = client.post(f"/api/referrals/{referral_id}/audit", headers=lead, json={})
    assert refused.status_code == 409
    body = refused.json()
    assert body["state"] == "required" and body["requested"] == "audited"
    assert body["allowed"] == ["drafted", "not_required"]


def test_views_of_identifiable_records_are_audited_with_a_reason(client: TestClient, services: Services,
                                                                 nurse: Headers, lead: Headers) -> None:
    gen = Generator(seed=406)
    attendance_id = flagged_attendance(services, gen, kind="assault")
    assert client.get(f"/api/attendances/{attendance_id}", headers=nurse).status_code == 200
    assert client.get(f"/api/attendances/{attendance_id}", headers={**nurse, "X-Access-Reason": "handover"}
                      ).status_code == 200
    patient_id = client.get(f"/api/attendances/{attendance_id}", headers=lead,
                            params={"reason": "safeguarding review"}).json()["patient"]["id"]
    with services.db.session() as s:
        views = s.execute(select(AuditEntry.actor, AuditEntry.reason).where(
            AuditEntry.action == "record.viewed", AuditEntry.entity_type == "attendance"
        ).order_by(AuditEntry.id)
        ).all()
    assert [tuple(v) for v in views] == [("sam.nurse", "direct care"), ("sam.nurse", "handover"),
                                         ("lee.safeguarding", "safeguarding review")]
    assert client.get("/api/attendances/999999", headers=nurse).status_code == 404

    timeline = client.get(f"/api/patients/{patient_id}/timeline", headers=lead,
                          params={"reason": "strategy meeting"})
    assert timeline.status_code == 200
    entries = timeline.json()["entries"]
    kinds = [e["kind"] for e in entries]
    assert {"attendance", "flag", "decision", "audit"} <= set(kinds)
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)
    with services.db.session() as s:
        viewed = s.scalar(select(AuditEntry).where(AuditEntry.action == "record.viewed",
                                                   AuditEntry.entity_type == "patient"))
    assert viewed is not None and viewed.reason == "strategy meeting" and viewed.patient_id == patient_id
    assert client.get("/api/patients/999999/timeline", headers=lead).status_code == 404


def test_queue_filters_and_overdue_first(client: TestClient, services: Services,
                                         nurse: Headers, lead: Headers) -> None:
    gen = Generator(seed=407)
    old = flagged_attendance(services, gen, kind="assault", site="RGT02")
    new = flagged_attendance(services, gen, kind="weapon", site="RGT01")
    queue = client.get("/api/queue", headers=lead).json()
    assert {i["attendance_id"] for i in queue["items"]} == {old, new}
    assert all(i["state"] == "pending" for i in queue["items"])
    by_site = client.get("/api/queue", headers=lead, params={"site": "RGT02"}).json()
    assert {i["attendance_id"] for i in by_site["items"]} == {old}
    by_rule = client.get("/api/queue", headers=lead, params={"rule": "weapon"}).json()
    assert {i["rule_ids"][0] for i in by_rule["items"]} == {"weapon"}
    future = client.get("/api/queue", headers=lead, params={"from": "2999-01-01T00:00:00Z"}).json()
    assert future["items"] == []
    # The weapon rule's decision is due in 1 hour, assault's in 4: soonest first when none overdue.
    dues = [i["due_at"] for i in queue["items"]]
    assert dues == sorted(dues)
