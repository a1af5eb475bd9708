"""Delivery through the outbox to a real fake local authority (HTTP on loopback).

Time is passed to the drainer explicitly, so backoff is exercised without sleeping: each drain at a
later `now` is the scheduler's next run after the backoff has elapsed.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from ed_alerts.audit.models import AuditEntry
from ed_alerts.audit.service import verify_chain
from ed_alerts.db.base import utcnow
from ed_alerts.ingest.models import ContentType, Transport
from ed_alerts.ingest.pipeline import ingest
from ed_alerts.referrals.escalations import escalate_overdue
from ed_alerts.referrals.models import Escalation, OutboxStatus, Referral, ReferralOutbox
from ed_alerts.referrals.outbox import DrainReport, drain_outbox
from ed_alerts.services import Services
from ed_alerts.synthetic import Generator, adt
from integrations.local_authority.fake_server import FakeLocalAuthority
from tests.referrals.factory import send, sent_referral


def _drain_until_settled(services: Services, start: datetime, *,
                         runs: int = 20) -> tuple[datetime, list[DrainReport]]:
    """Run the drainer as the scheduler would, an hour apart (past any backoff), until nothing is due."""
    now, reports = start, []
    for _ in range(runs):
        report = drain_outbox(services, now)
        reports.append(report)
        if report.claimed == 0:
            break
        now += timedelta(hours=1)
    return now, reports


def _referrals(services: Services) -> dict[int, Referral]:
    with services.db.session() as s:
        return {r.id: r for r in s.scalars(select(Referral))}


def _attempts(services: Services) -> dict[int, list[dict[str, object]]]:
    by_referral: dict[int, list[dict[str, object]]] = defaultdict(list)
    with services.db.session() as s:
        for entry in s.scalars(select(AuditEntry).where(AuditEntry.action == "referral.delivery_attempt")
                               .order_by(AuditEntry.id)):
            by_referral[int(entry.entity_id)].append(entry.details)
    return by_referral


def test_authority_down_then_back_every_referral_once_in_order_per_child(
        services: Services, fake_la: FakeLocalAuthority) -> None:
    gen = Generator(seed=601)
    children = [gen.child(age=13 + i) for i in range(3)]
    by_child = {i: [sent_referral(services, gen, child=c, kind=k) for k in ("assault", "group_assault")]
                for i, c in enumerate(children)}
    fake_la.set_mode("down")

    now = utcnow()
    for _ in range(3):  # three scheduler runs while the authority is unreachable
        report = drain_outbox(services, now)
        assert report.delivered == 0 and report.retrying == report.claimed
        # Per child, only the oldest referral is ever tried while it is pending.
        assert report.claimed == len(children)
        now += timedelta(hours=1)
    assert fake_la.received == 0
    assert all(r.state == "sent" and r.delivery_status == "pending" for r in _referrals(services).values())

    fake_la.come_up()
    _drain_until_settled(services, now)

    referrals = _referrals(services)
    assert all(r.delivery_status == "delivered" for r in referrals.values()), "none lost"
    keys = {r.idempotency_key for r in referrals.values()}
    assert set(fake_la.posts_by_key()) == keys
    assert all(posts == 1 for posts in fake_la.posts_by_key().values()), "each referral sent once"
    references = fake_la.references()
    assert {r.delivery_reference for r in referrals.values()} == set(references.values())
    assert all(r.delivery_reference == references[r.idempotency_key] for r in referrals.values())

    accepted_order = [d.idempotency_key for d in fake_la.deliveries()]
    for older, newer in by_child.values():
        assert accepted_order.index(referrals[older].idempotency_key) < \
            accepted_order.index(referrals[newer].idempotency_key)

    attempts = _attempts(services)
    for first, _ in by_child.values():
        causes = [a["cause"] for a in attempts[first]]
        assert causes[:3] == ["connect_error"] * 3 and attempts[first][-1]["outcome"] == "accepted"
        assert [a["attempt"] for a in attempts[first]] == [1, 2, 3, 4]
    for entries in attempts.values():
        assert all(set(a) >= {"outcome", "cause", "http_status", "local_authority"} for a in entries)
        assert not any("child" in a or "payload" in a for a in entries), "no content in the audit log"
    with services.db.session() as s:
        assert verify_chain(s).ok


def _outbox_depth(client: TestClient) -> float:
    """The outbox depth as Prometheus scrapes it from /metrics (read from the database at scrape time)."""
    res = client.get("/metrics")
    assert res.status_code == 200
    samples = [s for family in text_string_to_metric_families(res.text) for s in family.samples
               if s.name == "ed_alerts_referral_outbox_depth"]
    assert len(samples) == 1, "one unlabelled sample, present even when the outbox is empty"
    return samples[0].value


def test_outbox_depth_on_metrics_rises_during_an_outage_and_falls_to_zero_after_it(
        client: TestClient, services: Services, fake_la: FakeLocalAuthority) -> None:
    gen = Generator(seed=607)
    first, second = gen.child(age=12), gen.child(age=15)
    assert _outbox_depth(client) == 0
    fake_la.set_mode("down")

    # Referrals keep being sent while the authority is unreachable: each drain fails and the depth
    # grows with every referral sent, none leaving.
    depths = []
    now = utcnow()
    sent: dict[str, list[int]] = {"first": [], "second": []}
    for child_key, child, kind in (("first", first, "assault"), ("second", second, "assault"),
                                   ("first", first, "weapon"), ("second", second, "group_assault")):
        sent[child_key].append(sent_referral(services, gen, child=child, kind=kind))
        report = drain_outbox(services, now)
        assert report.delivered == 0 and report.retrying == report.claimed
        depths.append(_outbox_depth(client))
        now += timedelta(hours=1)
    assert depths == [1, 2, 3, 4]
    assert fake_la.received == 0

    # Recovery: the backlog drains to nothing, each referral delivered once, a child's in order.
    fake_la.come_up()
    _, reports = _drain_until_settled(services, now)
    assert sum(r.delivered for r in reports) == 4
    assert _outbox_depth(client) == 0
    referrals = _referrals(services)
    assert all(r.delivery_status == "delivered" for r in referrals.values()), "none lost"
    assert all(posts == 1 for posts in fake_la.posts_by_key().values()), "each referral sent once"
    assert set(fake_la.posts_by_key()) == {r.idempotency_key for r in referrals.values()}
    order = [d.idempotency_key for d in fake_la.deliveries()]
    for ids in sent.values():
        keys = [referrals[i].idempotency_key for i in ids]
        assert sorted(keys, key=order.index) == keys, "a child's referrals arrive in the order sent"


def test_outage_with_503s_retries_until_accepted_and_the_authority_keeps_one_copy(
        services: Services, fake_la: FakeLocalAuthority) -> None:
    gen = Generator(seed=602)
    ids = [sent_referral(services, gen) for _ in range(4)]
    fake_la.set_mode("fail")
    now = utcnow()
    for _ in range(2):
        assert drain_outbox(services, now).retrying == 4
        now += timedelta(hours=1)
    fake_la.set_mode("ok")
    _drain_until_settled(services, now)
    referrals = _referrals(services)
    assert all(referrals[i].delivery_status == "delivered" for i in ids)
    assert len(fake_la.deliveries()) == 4
    assert all(posts == 3 for posts in fake_la.posts_by_key().values())
    attempts = _attempts(services)
    assert [a["http_status"] for a in attempts[ids[0]]] == [503, 503, 201]
    assert all(referrals[i].delivery_attempts == 3 for i in ids)


def test_rejection_fails_escalates_once_and_can_be_resent(services: Services,
                                                          fake_la: FakeLocalAuthority) -> None:
    gen = Generator(seed=603)
    referral_id = sent_referral(services, gen)
    fake_la.set_mode("reject")
    report = drain_outbox(services, utcnow())
    assert report.failed == 1
    referral = _referrals(services)[referral_id]
    assert referral.state == "failed" and referral.delivery_status == "failed"
    assert "not enough information" in (referral.last_delivery_error or "")
    escalate_overdue(services.referrals, utcnow() + timedelta(days=3))
    with services.db.session() as s:
        escalations = s.scalars(select(Escalation).where(Escalation.referral_id == referral_id)).all()
        assert [e.kind for e in escalations] == ["delivery_failed"]
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "referral.failed", AuditEntry.entity_id == str(referral_id))) == 1

    fake_la.set_mode("ok")
    send(services, referral_id)  # failed -> sent: a new outbox row, the same idempotency key
    drain_outbox(services, utcnow())
    referral = _referrals(services)[referral_id]
    assert referral.state == "sent" and referral.delivery_status == "delivered"
    with services.db.session() as s:
        rows = s.scalars(select(ReferralOutbox).where(ReferralOutbox.referral_id == referral_id)
                         .order_by(ReferralOutbox.id)).all()
        assert [r.status for r in rows] == [OutboxStatus.FAILED, OutboxStatus.DELIVERED]
        assert {r.idempotency_key for r in rows} == {referral.idempotency_key}
    assert [d.idempotency_key for d in fake_la.deliveries()] == [referral.idempotency_key]


def test_retries_exhausted_fail_the_referral_and_escalate_once(services: Services,
                                                                fake_la: FakeLocalAuthority) -> None:
    gen = Generator(seed=604)
    referral_id = sent_referral(services, gen)
    fake_la.set_mode("fail")
    _, reports = _drain_until_settled(services, utcnow())
    max_attempts = services.settings.delivery_max_attempts
    assert sum(r.retrying for r in reports) == max_attempts - 1 and sum(r.failed for r in reports) == 1
    referral = _referrals(services)[referral_id]
    assert referral.state == "failed" and referral.delivery_attempts == max_attempts
    for _ in range(3):
        escalate_overdue(services.referrals, utcnow() + timedelta(days=7))
    with services.db.session() as s:
        kinds = s.scalars(select(Escalation.kind).where(Escalation.referral_id == referral_id)).all()
        assert kinds == ["delivery_failed"]
        recorded = s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "escalation.recorded"))
        assert recorded == s.scalar(select(func.count()).select_from(Escalation))


def test_an_older_pending_referral_holds_back_the_newer_one_for_the_same_child(
        services: Services, fake_la: FakeLocalAuthority) -> None:
    gen = Generator(seed=605)
    child, other = gen.child(age=15), gen.child(age=12)
    older = sent_referral(services, gen, child=child, kind="assault")
    newer = sent_referral(services, gen, child=child, kind="weapon")
    unrelated = sent_referral(services, gen, child=other, kind="assault")
    # One delivery at a time, in claim order (oldest referral first), so that the first POST, the
    # one the fake answers 503, is the child's older referral.
    services.referrals.settings = services.settings.model_copy(update={"delivery_concurrency": 1})
    fake_la.fail_next(1)

    now = utcnow()
    first = drain_outbox(services, now)
    referrals = _referrals(services)
    assert referrals[older].delivery_status == "pending"
    assert referrals[newer].delivery_status == "pending", "not sent before the older one"
    assert referrals[unrelated].delivery_status == "delivered"
    assert first.claimed == 2

    drain_outbox(services, now + timedelta(hours=1))
    order = [d.idempotency_key for d in fake_la.deliveries()]
    referrals = _referrals(services)
    assert order == [referrals[unrelated].idempotency_key, referrals[older].idempotency_key,
                     referrals[newer].idempotency_key]


def test_a_slow_authority_does_not_hold_up_ingest(services: Services, fake_la: FakeLocalAuthority) -> None:
    gen = Generator(seed=606)
    referral_id = sent_referral(services, gen)
    fake_la.set_mode("slow", delay_s=3)  # well inside the endpoint timeout (30 s)
    drained: list[DrainReport] = []
    delivery = threading.Thread(target=lambda: drained.append(drain_outbox(services, utcnow())))
    delivery.start()
    try:
        while fake_la.received == 0:  # the authority has the request and is sitting on it
            delivery.join(0.05)
            assert delivery.is_alive(), "the drain ended before the authority answered"

        visit = gen.visit(gen.child(age=11), "RGT01", kind="disclosure")
        raw = adt(visit, control_id="SLOW-LA-1")
        outcome = ingest(services.ingest, raw, ContentType.HL7V2, Transport.MLLP)

        # Ingest committed while the delivery was still waiting for its answer.
        assert outcome.accepted
        assert delivery.is_alive()
        with services.db.session() as s:
            assert s.get_one(Referral, referral_id).delivery_status == "pending"
            row = s.scalar(select(ReferralOutbox).where(ReferralOutbox.referral_id == referral_id))
            assert row is not None and row.status == OutboxStatus.PENDING
    finally:
        delivery.join()
    assert drained[0].delivered == 1
    assert _referrals(services)[referral_id].delivery_status == "delivered"
