"""The three jobs, in a real browser against the real service process:

- an ED nurse signs in, sees a new flagged child appear on the board without reloading (an HL7
  message sent over MLLP after the board is open), opens the attendance, records the decision and
  the child's words, completes the referral (the checklist shrinks as fields are filled) and sends it;
- a safeguarding nurse finds it in the queue, sees it acknowledged by the (fake) local authority,
  and audits it; opens the child's timeline and the audit chain;
- an ICB lead sees the dashboard's counts go up, and is refused the child's page (403).

Also: the board fits 1366x768 without sideways scrolling, and pages read with JavaScript off.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from ed_alerts.audit.service import Actor
from ed_alerts.auth.roles import Role
from ed_alerts.demo_seed import arrive, seed_history, seed_today
from ed_alerts.referrals.models import Referral
from ed_alerts.services import Services
from ed_alerts.synthetic import Generator, adt
from ed_alerts.users.service import NewUser, create_user
from integrations.mllp import MLLPClient
from tests.browser.conftest import Shots
from tests.e2e.service_process import ServiceProcess

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

PASSWORD = "a synthetic browser-test password"
WAIT_MS = 30_000


@pytest.fixture
def world(services: Services) -> dict[str, int]:
    """Before the service starts: users (through the service layer, as an administrator creates them),
    three months of referrals for the dashboard and today's cases for the board and the queue (the
    demo's seeding, ed_alerts/demo_seed.py), and two children without flags."""
    people = {"jo.nurse": (Role.ED_NURSE, ["RGT01"], None), "lee.safeguarding": (Role.SAFEGUARDING_NURSE, [], "RGT"),
              "pat.icb": (Role.ICB_LEAD, [], None)}
    with services.db.session() as session:
        for name, (role, sites, trust) in people.items():
            create_user(session, NewUser(name=name, role=role, sites=sites, trust=trust, password=PASSWORD),
                        actor=Actor.system("tests"), registry=services.sites, password_min_length=12)
    now = datetime.now(UTC)
    seed_history(services, now, months=3, per_month=10)
    cases = seed_today(services, now, Generator(seed=92, now=now))
    gen = Generator(seed=93, now=now)
    for _ in range(2):
        arrive(services, gen, gen.child(), "RGT01", "plain", now - timedelta(minutes=40))
    return cases


def _sign_in(page: Any, base: str, path: str, name: str) -> None:
    response = page.goto(base + path)
    assert response.status == 401  # the page itself offers the sign-in form
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(re.compile(re.escape(base + path) + r"($|\?)"))


def _missing(page: Any) -> int:
    return int(page.get_attribute("#checklist", "data-missing-count"))


def test_the_three_jobs(world: dict[str, int], service: ServiceProcess, services: Services, browser: Any,
                        shots: Shots) -> None:
    started = time.monotonic()
    base = service.base_url
    viewport = {"width": 1366, "height": 768}

    # The ICB lead's dashboard before.
    icb = browser.new_context(viewport=viewport).new_page()
    _sign_in(icb, base, "/dashboard", "pat.icb")
    flags_before = int(icb.inner_text("#kpi-flags"))
    referrals_before = int(icb.inner_text("#kpi-referrals"))

    # --- the ED nurse ------------------------------------------------------------------------------
    nurse = browser.new_context(viewport=viewport).new_page()
    _sign_in(nurse, base, "/board", "jo.nurse")
    rows_before = nurse.locator("tr[data-attendance-id]").count()
    assert rows_before >= 5
    assert nurse.evaluate("document.documentElement.scrollWidth") <= 1366
    nurse.evaluate("window.__notReloaded = true")

    gen = Generator(seed=91, now=datetime.now(UTC))
    child = gen.child(age=14)
    child.family, child.given = "Brightwater", "Kai"
    raw = adt(gen.visit(child, "RGT01", kind="weapon", arrival=datetime.now(UTC)), control_id="BROWSER-1")
    client = MLLPClient("127.0.0.1", service.mllp_port, timeout=30)
    try:
        assert b"MSA|AA" in client.send(raw)
    finally:
        client.close()
    row = nurse.locator('tr[data-flagged="true"]', has_text="BRIGHTWATER")
    row.wait_for(timeout=WAIT_MS)
    assert nurse.evaluate("window.__notReloaded") is True  # it arrived without a reload
    assert nurse.locator("tr[data-attendance-id]").first.inner_text().count("BRIGHTWATER") == 1  # first: flagged, newest
    assert "Weapon injury" in row.inner_text() and "Critical" in row.inner_text()
    assert "New flagged attendance" in nurse.inner_text("#board-announcer")
    assert nurse.evaluate("document.documentElement.scrollWidth") <= 1366
    nurse.wait_for_timeout(4500)  # let the arrival highlight fade before the picture
    shots.take(nurse, "board", docs=True)

    row.locator("a.child").click()
    nurse.wait_for_url(re.compile(r"/attendances/\d+$"))
    attendance_id = int(nurse.url.rsplit("/", 1)[1])
    assert nurse.locator("mark").count() >= 2  # the evidence, marked in the note
    assert "knife" in nurse.locator("mark").all_inner_texts()
    shots.take(nurse, "attendance")

    nurse.check("#outcome-refer")
    nurse.fill("#child-words", "They said they'd be waiting for me tomorrow.")
    nurse.click("button:has-text('Record decision')")
    nurse.wait_for_url(re.compile(r"done=referral"))
    counts = [_missing(nurse)]
    assert counts[0] > 0
    for selector, value in [("#f-what_happened", "Stabbed in the thigh by someone he says he owes money to."),
                            ("#f-injuries", "Stab wound to the left thigh, 2 cm."),
                            ("#f-others_involved", "An older man, not named; a friend was with him."),
                            ("#f-parents_aware-yes", None),
                            ("#f-referrer_contact", "ed-safeguarding@example.nhs.invalid"),
                            ("#f-decision_rationale", "Group assault with threats of more harm.")]:
        if _missing(nurse) == 0:
            break
        if value is None:
            nurse.check(selector)
        else:
            nurse.fill(selector, value)
        nurse.wait_for_function("n => Number(document.querySelector('#checklist').dataset.missingCount) < n",
                                arg=counts[-1], timeout=WAIT_MS)
        counts.append(_missing(nurse))
    assert counts[-1] == 0 and counts == sorted(counts, reverse=True) and len(set(counts)) == len(counts)
    shots.take(nurse, "referral-complete")
    nurse.click("button:has-text('Send referral')")
    nurse.wait_for_url(re.compile(r"done=sent"))
    nurse.locator('#delivery dl[data-delivery="delivered"]').wait_for(timeout=WAIT_MS)  # polled, no reload
    shots.take(nurse, "referral-delivered")
    with services.db.session() as session:
        referral = session.scalars(select(Referral).where(Referral.attendance_id == attendance_id)).one()
        referral_id = referral.id
        assert referral.delivery_status == "delivered" and referral.delivery_reference

    # --- the safeguarding nurse ----------------------------------------------------------------------
    lead = browser.new_context(viewport=viewport).new_page()
    _sign_in(lead, base, "/queue", "lee.safeguarding")
    item = lead.locator(f'tr[data-kind="referral"][data-id="{referral_id}"]')
    assert item.get_attribute("data-delivery") == "delivered" and "acknowledged" in item.inner_text()
    shots.take(lead, "queue")
    item.locator("input[name=comment]").fill("Complete; acknowledged by the local authority.")
    item.locator("button:has-text('Audit as sent')").click()
    lead.wait_for_url(re.compile(r"done=audited"))
    assert "Referral audited as sent." in lead.inner_text("main")
    with services.db.session() as session:
        audited = session.get_one(Referral, referral_id)
        assert audited.state == "audited" and audited.audited_by == "lee.safeguarding"
    lead.goto(f"{base}/patients/{audited.patient_id}/timeline")
    assert "BRIGHTWATER" in lead.inner_text("h1") and lead.locator("li.k-referral").count() == 1
    shots.take(lead, "timeline")
    lead.goto(f"{base}/audit-chain")
    assert lead.inner_text("#chain-status").startswith("Intact")
    shots.take(lead, "audit-chain")

    # --- the ICB lead -------------------------------------------------------------------------------
    icb.reload()
    assert int(icb.inner_text("#kpi-flags")) > flags_before
    assert int(icb.inner_text("#kpi-referrals")) == referrals_before + 1
    assert "BRIGHTWATER" not in icb.content().upper() and "knife" not in icb.content()
    shots.take(icb, "dashboard", docs=True)
    refused = icb.goto(f"{base}/attendances/{attendance_id}")
    assert refused.status == 403 and "aggregates only" in icb.inner_text("main")

    # --- without JavaScript: the pages still read -----------------------------------------------------
    plain = browser.new_context(viewport=viewport, java_script_enabled=False).new_page()
    _sign_in(plain, base, "/board", "jo.nurse")
    assert plain.locator("tr[data-attendance-id]").count() == rows_before + 1
    shots.take(plain, "board-no-javascript")
    plain.goto(f"{base}/attendances/{attendance_id}")
    assert "BRIGHTWATER" in plain.inner_text("h1") and plain.locator("mark").count() >= 2
    assert "Acknowledged by the local authority" in plain.inner_text("#delivery")
    shots.take(plain, "attendance-no-javascript")

    print(f"\nbrowser walk: {time.monotonic() - started:.1f} s; screenshots: "
          + ", ".join(p.name for p in shots.taken))
