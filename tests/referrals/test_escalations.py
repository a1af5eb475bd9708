"""Escalations: overdue decisions and referrals are recorded once each, shown on the queue and posted
to the webhook once, without identifiers."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from ed_alerts.audit.models import AuditEntry
from ed_alerts.cli import app as cli
from ed_alerts.db.base import utcnow
from ed_alerts.flags.models import Decision, Flag
from ed_alerts.patients.models import Patient, PatientIdentifier
from ed_alerts.referrals.escalations import escalate_overdue, notify_escalations
from ed_alerts.referrals.jobs import escalation_job
from ed_alerts.referrals.due import most_severe
from ed_alerts.referrals.models import Escalation, Referral
from ed_alerts.referrals.outbox import drain_outbox
from ed_alerts.services import Services
from ed_alerts.settings import Settings
from ed_alerts.synthetic import Generator
from tests.referrals.factory import (
    SAFEGUARDING,
    complete,
    flagged_attendance,
    refer_all,
    send,
)
from tests.referrals.webhook import WebhookReceiver


def _escalations(services: Services) -> list[Escalation]:
    with services.db.session() as s:
        return list(s.scalars(select(Escalation).order_by(Escalation.id)))


def _due_by(services: Services, when) -> list[int]:  # type: ignore[no-untyped-def]
    with services.db.session() as s:
        return sorted(s.scalars(select(Decision.id).where(Decision.due_at <= when)))


def test_overdue_decisions_escalate_once_each(services: Services) -> None:
    gen = Generator(seed=701)
    flagged_attendance(services, gen, kind="weapon")  # weapon: decision due in 1 hour; assault: 4
    flagged_attendance(services, gen, child=gen.child(age=15, away=True), kind="plain")  # due in 24 hours
    assert escalate_overdue(services.referrals, utcnow()) == []

    at_two_hours = utcnow() + timedelta(hours=2)
    first = escalate_overdue(services.referrals, at_two_hours)
    assert first and len(first) == len(_due_by(services, at_two_hours))
    for _ in range(3):  # the scheduler looks again and again: nothing new
        assert escalate_overdue(services.referrals, at_two_hours) == []
    at_a_day = utcnow() + timedelta(hours=25)
    second = escalate_overdue(services.referrals, at_a_day)
    assert len(first) + len(second) == len(_due_by(services, at_a_day)) > len(first)

    escalations = _escalations(services)
    assert {e.kind for e in escalations} == {"decision_overdue"}
    assert sorted(e.decision_id for e in escalations) == _due_by(services, at_a_day)
    with services.db.session() as s:
        audited = s.scalars(select(AuditEntry.entity_id)
                            .where(AuditEntry.action == "escalation.recorded")).all()
    assert sorted(audited) == sorted(str(e.id) for e in escalations)


def test_a_decision_made_in_time_is_not_escalated(services: Services) -> None:
    gen = Generator(seed=702)
    attendance_id = flagged_attendance(services, gen, kind="weapon")
    refer_all(services, attendance_id)
    assert not [e for e in _escalations(services) if e.kind == "decision_overdue"]
    assert escalate_overdue(services.referrals, utcnow() + timedelta(hours=2)) == []


def test_settings_give_the_due_time_when_the_rule_does_not(services: Services) -> None:
    gen = Generator(seed=703)
    attendance_id = flagged_attendance(services, gen, kind="weapon")
    with services.db.session() as s:
        for d in s.scalars(select(Decision).where(Decision.attendance_id == attendance_id)):
            d.due_at = None  # as if the rule had no decision_due
    severity = {"critical": 0.5}
    services.referrals.settings = services.settings.model_copy(
        update={"decision_due_hours_by_severity": severity})
    assert escalate_overdue(services.referrals, utcnow() + timedelta(minutes=20)) == []
    assert escalate_overdue(services.referrals, utcnow() + timedelta(minutes=40))


def test_a_referral_not_sent_in_time_escalates_once(services: Services) -> None:
    gen = Generator(seed=704)
    referral_id = refer_all(services, flagged_attendance(services, gen, kind="assault"))
    assert escalate_overdue(services.referrals, utcnow() + timedelta(hours=23)) == []
    assert len(escalate_overdue(services.referrals, utcnow() + timedelta(hours=25))) == 1
    assert escalate_overdue(services.referrals, utcnow() + timedelta(hours=26)) == []
    (escalation,) = [e for e in _escalations(services) if e.kind == "referral_overdue"]
    with services.db.session() as s:
        referral = s.get_one(Referral, referral_id)
        flags = s.scalars(select(Flag.severity).join(Decision, Decision.flag_id == Flag.id)
                          .where(Decision.referral_id == referral_id)).all()
    assert escalation.referral_id == referral_id
    assert escalation.severity == referral.severity == most_severe(list(flags))


def test_a_referral_sent_in_time_is_not_escalated(services: Services) -> None:
    gen = Generator(seed=705)
    referral_id = refer_all(services, flagged_attendance(services, gen, kind="assault"))
    complete(services, referral_id)
    send(services, referral_id)
    assert escalate_overdue(services.referrals, utcnow() + timedelta(hours=30)) == []


def test_escalations_on_the_queue_and_the_webhook_without_identifiers(
        client: TestClient, services: Services, settings: Settings, lead: dict[str, str]) -> None:
    gen = Generator(seed=706)
    overdue = flagged_attendance(services, gen, kind="weapon")
    fresh = flagged_attendance(services, gen, kind="assault")
    with services.db.session() as s:
        for d in s.scalars(select(Decision).where(Decision.attendance_id == overdue)):
            d.due_at = utcnow() - timedelta(minutes=5)  # the weapon decision is already late

    with WebhookReceiver() as hook:
        services.referrals.settings = settings.model_copy(update={"escalation_webhook_url": hook.url})
        escalation_job(services)  # what the scheduler runs: escalate, then post
        escalation_job(services)
        hook.status = 500  # a receiver failure later does not re-post what was accepted
        escalation_job(services)

    escalations = _escalations(services)
    assert escalations and all(e.notified_at is not None for e in escalations)
    assert hook.counts() == {e.id: 1 for e in escalations}
    assert hook.keys == [f"edalerts-escalation-{e.id}" for e in escalations]
    with services.db.session() as s:
        identifiers = [v for (v,) in s.execute(select(PatientIdentifier.value))]
        names = [n for p in s.scalars(select(Patient))
                 for n in (p.family_name, p.given_names, p.postcode) if n]
        flag_reasons = list(s.scalars(select(Flag.reason)))
    posted = json.dumps(hook.posts)
    for secret in identifiers + names + flag_reasons:
        assert secret not in posted
    assert set(hook.posts[0]) == {"escalation_id", "kind", "site", "severity", "due_at", "escalated_at",
                                  "queue"}

    queue = client.get("/api/queue", headers=lead).json()
    first = queue["items"][0]
    assert first["attendance_id"] == overdue and first["overdue"] and first["escalated"]
    assert any(i["attendance_id"] == fresh and not i["overdue"] for i in queue["items"])
    assert {e["id"] for e in queue["escalations"]} == {e.id for e in escalations}
    listed = client.get("/api/escalations", headers=lead, params={"kind": "decision_overdue"})
    assert [e["id"] for e in listed.json()] == sorted((e.id for e in escalations), reverse=True)


def test_audit_chain_verifies_after_a_full_lifecycle(services: Services, db_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    gen = Generator(seed=707)
    referral_id = refer_all(services, flagged_attendance(services, gen, kind="group_assault"))
    complete(services, referral_id)
    send(services, referral_id)
    drain_outbox(services, utcnow())
    from ed_alerts.referrals import service

    with services.db.session() as s:
        service.confirm_audited(s, referral_id, SAFEGUARDING, "Complete and timely.")
    escalate_overdue(services.referrals, utcnow() + timedelta(days=2))
    monkeypatch.setenv("ED_ALERTS_DATABASE_URL", db_url)
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "audit chain intact" in result.output
    with services.db.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "referral.audited")) == 1


def test_the_webhook_is_optional(services: Services, tmp_path: Path) -> None:
    gen = Generator(seed=708)
    flagged_attendance(services, gen, kind="weapon")
    escalate_overdue(services.referrals, utcnow() + timedelta(hours=2))
    assert notify_escalations(services.referrals, utcnow()) == 0
    assert all(e.notified_at is None for e in _escalations(services))
