"""The attendance page: evidence marked in the original text, other attendances, the decision form,
the referral form with its server-computed checklist, sending, and its delivery status."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from ed_alerts.audit.models import AuditEntry
from ed_alerts.db.base import utcnow
from ed_alerts.flags.models import Decision
from ed_alerts.referrals.models import Referral, ReferralOutbox
from ed_alerts.referrals.outbox import drain_outbox
from ed_alerts.services import Services
from ed_alerts.synthetic import Generator
from tests.web.conftest import csrf_of, sign_in
from tests.web.helpers import arrive

COMPLETE_FORM = {
    "local_authority_code": "CAMBS", "what_happened": "Jumped by three older boys on the way home.",
    "child_words": "They said they'd get me again.", "risk_factors": "Group violence\nThreats of more harm",
    "injuries": "Bruised cheek.", "others_involved": "Three older boys; a younger brother.",
    "parents_aware": "yes", "referrer_name": "Sam Nurse", "referrer_role": "ED nurse",
    "referrer_contact": "ed@example.nhs.invalid", "decision_rationale": "Group assault with threats.",
}


def _missing(html: str) -> int:
    found = re.search(r'data-missing-count="(\d+)"', html)
    assert found, "no checklist on the page"
    return int(found.group(1))


def _pending(services: Services, attendance_id: int) -> list[int]:
    with services.db.session() as s:
        return list(s.scalars(select(Decision.id).where(Decision.attendance_id == attendance_id,
                                                        Decision.status == "pending")))


def test_the_page_marks_the_evidence_in_the_text_and_is_audited(client: TestClient, services: Services,
                                                                make_user) -> None:
    attendance_id = arrive(services, Generator(seed=31), kind="disclosure")
    user = make_user("ed_nurse", sites=["RGT01"])
    sign_in(client, user)
    page = client.get(f"/attendances/{attendance_id}?reason=triage review")
    assert page.status_code == 200
    # The note is "Pt tearful, says 'I don't feel safe going home', won't say why." with offsets 20-35.
    assert "says &#39;I <mark title=\"Does not feel safe\">don&#39;t feel safe</mark> going home" in page.text
    assert '<mark title="Does not feel safe">Does the child feel safe: No</mark>' in page.text  # the coded answer
    assert "NHS number" in page.text and "Record decision" in page.text
    with services.db.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "record.viewed",
                                                   AuditEntry.actor == user.name)).one()
    assert entry.entity_id == str(attendance_id) and entry.reason == "triage review" and entry.patient_id


def test_other_attendances_outside_my_scope_show_when_and_where_but_not_what(
        client: TestClient, services: Services, make_user) -> None:
    gen = Generator(seed=32)
    child = gen.child(age=15)
    earlier = arrive(services, gen, site="RGT02", kind="assault", child=child,
                     arrival=datetime.now(UTC) - timedelta(days=10))
    ambulance = arrive(services, gen, site="RYC", kind="assault", child=child,
                       arrival=datetime.now(UTC) - timedelta(days=5))
    now = arrive(services, gen, site="RGT01", kind="group_assault", child=child)
    sign_in(client, make_user("ed_nurse", sites=["RGT01"]))
    page = client.get(f"/attendances/{now}").text
    section = page.split('id="h-others"')[1]
    assert "Other attendances of this child (2)" in page
    assert "Hinchingbrooke" in section and "East of England Ambulance" in section
    assert "outside your scope" in section and "Assaulted - punched in face" not in section
    assert f"/attendances/{earlier}" not in section and f"/attendances/{ambulance}" not in section
    sign_in(client, make_user("safeguarding_nurse", trust="RGT"))
    section = client.get(f"/attendances/{now}").text.split('id="h-others"')[1]
    assert f"/attendances/{earlier}" in section and "Assaulted - punched in face" in section


def test_deciding_then_completing_and_sending_the_referral(client: TestClient, services: Services,
                                                           make_user) -> None:
    attendance_id = arrive(services, Generator(seed=33), kind="group_assault")
    decisions = _pending(services, attendance_id)
    sign_in(client, make_user("ed_nurse", sites=["RGT01"], name="sam.nurse"))
    token = csrf_of(client.get(f"/attendances/{attendance_id}").text)

    # Not referring needs a reason: the form comes back with the problem and what was typed.
    res = client.post(f"/attendances/{attendance_id}/decisions",
                      data={"csrf_token": token, "decision": decisions, "outcome": "not_refer",
                            "child_words": "kept typing"})
    assert res.status_code == 422 and 'role="alert"' in res.text and "rationale" in res.text
    assert "kept typing" in res.text and _pending(services, attendance_id) == decisions

    # Without the CSRF token a cookie-authenticated post is refused.
    assert client.post(f"/attendances/{attendance_id}/decisions",
                       data={"decision": decisions, "outcome": "refer"}).status_code == 403

    res = client.post(f"/attendances/{attendance_id}/decisions",
                      data={"csrf_token": token, "decision": decisions, "outcome": "refer",
                            "child_words": "They said they'd get me again."}, follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"].endswith("?done=referral#referral")
    page = client.get(res.headers["location"]).text
    assert "A referral has been started" in page and not _pending(services, attendance_id)
    referral_id = int(re.search(r'/referrals/(\d+)/checklist', page).group(1))
    start = _missing(page)
    assert start > 0 and "They said they&#39;d get me again." in page  # the child's words carried over

    # The checklist follows the form as typed, without saving it.
    shrinking = []
    typed: dict[str, str] = {"csrf_token": token}
    for field, value in COMPLETE_FORM.items():
        typed[field] = value
        res = client.post(f"/referrals/{referral_id}/checklist", data=typed, headers={"X-Fragment": "1"})
        shrinking.append(_missing(res.text))
    assert shrinking[-1] == 0 and shrinking == sorted(shrinking, reverse=True)
    with services.db.session() as s:
        assert s.get_one(Referral, referral_id).state == "required"  # nothing was saved

    # Sending with a field missing saves the draft and says what is missing (works without scripts).
    res = client.post(f"/referrals/{referral_id}",
                      data={**COMPLETE_FORM, "injuries": "", "csrf_token": token, "action": "send"})
    assert res.status_code == 422 and "saved but not sent" in res.text and "injuries" in res.text
    assert _missing(res.text) == 1
    with services.db.session() as s:
        referral = s.get_one(Referral, referral_id)
        assert referral.state == "drafted" and referral.what_happened == COMPLETE_FORM["what_happened"]

    res = client.post(f"/referrals/{referral_id}", data={**COMPLETE_FORM, "csrf_token": token, "action": "send"},
                      follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"].endswith("?done=sent#delivery")
    page = client.get(res.headers["location"]).text
    assert "Waiting for the local authority" in page and 'data-poll-url="/referrals/' in page
    with services.db.session() as s:
        referral = s.get_one(Referral, referral_id)
        assert referral.state == "sent" and referral.sent_by == "sam.nurse"
        assert s.scalars(select(ReferralOutbox).where(ReferralOutbox.referral_id == referral_id)).one()

    drain_outbox(services, utcnow())  # the scheduler's job
    status = client.get(f"/referrals/{referral_id}/delivery", headers={"X-Fragment": "1"}).text
    assert "Acknowledged by the local authority" in status and "data-poll-done" in status
    assert "Audit as sent" not in status  # that is the safeguarding nurse's


def test_a_sent_referral_cannot_be_edited_from_the_page(client: TestClient, services: Services,
                                                        make_user) -> None:
    attendance_id = arrive(services, Generator(seed=34))
    sign_in(client, make_user("ed_nurse", sites=["RGT01"]))
    token = csrf_of(client.get(f"/attendances/{attendance_id}").text)
    client.post(f"/attendances/{attendance_id}/decisions",
                data={"csrf_token": token, "decision": _pending(services, attendance_id), "outcome": "refer",
                      "child_words": "words"})
    with services.db.session() as s:
        referral_id = s.scalars(select(Referral.id).where(Referral.attendance_id == attendance_id)).one()
    client.post(f"/referrals/{referral_id}", data={**COMPLETE_FORM, "csrf_token": token, "action": "send"})
    res = client.post(f"/referrals/{referral_id}", data={**COMPLETE_FORM, "what_happened": "changed",
                                                         "csrf_token": token, "action": "save"})
    assert res.status_code == 422 and "only a referral that is required" in res.text
    page = client.get(f"/attendances/{attendance_id}").text
    assert "Save draft" not in page and "Send referral" not in page
