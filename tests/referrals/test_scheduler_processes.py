"""Two real `ed-alerts serve` processes on one PostgreSQL database, a real fake authority, many
referrals: the advisory lock makes one of them the scheduler leader, so no referral is posted more
often than its attempts say, none is accepted twice, and no escalation is recorded or posted twice."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ed_alerts.audit.models import AuditEntry
from ed_alerts.audit.service import verify_chain
from ed_alerts.db.base import utcnow
from ed_alerts.flags.models import Decision
from ed_alerts.referrals.models import Escalation, Referral
from ed_alerts.services import Services
from ed_alerts.synthetic import Generator
from integrations.local_authority.fake_server import FakeLocalAuthority
from tests.conftest import DATA
from tests.e2e.service_process import ServiceProcess
from tests.referrals.conftest import write_authorities
from tests.referrals.factory import flagged_attendance, sent_referral
from tests.referrals.webhook import WebhookReceiver

pytestmark = pytest.mark.e2e

REFERRALS_PER_CHILD = ("assault", "group_assault", "weapon")


def _start_together(processes: list[ServiceProcess]) -> None:
    """Start the processes side by side (each loads the rule pack and NLP models) and wait for both."""
    errors: list[BaseException] = []

    def start(process: ServiceProcess) -> None:
        try:
            process.start(timeout=240)  # generous: a busy CI machine loads the NLP models slowly
        except RuntimeError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(p,)) for p in processes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _settled(services: Services, referrals: int, escalations: int) -> bool:
    with services.db.session() as s:
        delivered = s.scalar(select(func.count()).select_from(Referral)
                             .where(Referral.delivery_status == "delivered"))
        notified = s.scalar(select(func.count()).select_from(Escalation)
                            .where(Escalation.notified_at.is_not(None)))
    return delivered == referrals and notified == escalations


def test_two_processes_one_leader_nothing_twice(services: Services, db_url: str, tmp_path: Path,
                                                 fake_la: FakeLocalAuthority) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("several service processes share one PostgreSQL database; SQLite is single-host")
    env = {
        "ED_ALERTS_SCHEDULER_ENABLED": "true",
        "ED_ALERTS_OUTBOX_DRAIN_INTERVAL_S": "0.5",
        "ED_ALERTS_ESCALATION_INTERVAL_S": "0.5",
        "ED_ALERTS_DELIVERY_BASE_DELAY_S": "0.2",
        "ED_ALERTS_DELIVERY_MAX_DELAY_S": "1",
        "ED_ALERTS_DELIVERY_MAX_ATTEMPTS": "20",
        "ED_ALERTS_LOCAL_AUTHORITIES_FILE": str(write_authorities(tmp_path / "las.yaml", fake_la.url)),
    }
    gen = Generator(seed=801)
    with WebhookReceiver() as hook:
        env["ED_ALERTS_ESCALATION_WEBHOOK_URL"] = hook.url
        processes = [ServiceProcess(db_url, DATA / "sites.yaml", tmp_path / f"service-{i}.log", **env)
                     for i in range(2)]
        try:
            _start_together(processes)
            # Both schedulers are ticking before there is any work: they compete for all of it.
            fake_la.fail_next(8)  # a short outage at the start: some deliveries are retried
            children = [gen.child(age=10 + i % 7) for i in range(10)]
            referral_ids = [sent_referral(services, gen, child=child, kind=kind)
                            for child in children for kind in REFERRALS_PER_CHILD]
            late = [flagged_attendance(services, gen, kind="assault") for _ in range(4)]
            with services.db.session() as s:
                overdue = list(s.scalars(select(Decision).where(Decision.attendance_id.in_(late))))
                for decision in overdue:
                    decision.due_at = utcnow() - timedelta(minutes=10)
            deadline = time.monotonic() + 120  # a bound on a hang, not a performance assertion
            while not _settled(services, len(referral_ids), len(overdue)):
                assert time.monotonic() < deadline, "the scheduler did not deliver and escalate everything"
                assert all(p.proc is not None and p.proc.poll() is None for p in processes)
                time.sleep(0.25)
        finally:
            for process in processes:
                process.stop()

    with services.db.session() as s:
        referrals = {r.id: r for r in s.scalars(select(Referral))}
        attempts: dict[int, list[dict[str, object]]] = defaultdict(list)
        for entry in s.scalars(select(AuditEntry).where(AuditEntry.action == "referral.delivery_attempt")
                               .order_by(AuditEntry.id)):
            attempts[int(entry.entity_id)].append(entry.details)
        escalations = list(s.scalars(select(Escalation)))
        recorded = Counter(s.scalars(select(AuditEntry.entity_id)
                                     .where(AuditEntry.action == "escalation.recorded")))
        assert verify_chain(s).ok

    # Every referral accepted once; every POST the authority saw is an attempt the leader recorded.
    posts = fake_la.posts_by_key()
    assert sorted(d.idempotency_key for d in fake_la.deliveries()) == sorted(r.idempotency_key
                                                                             for r in referrals.values())
    for referral_id in referral_ids:
        referral = referrals[referral_id]
        outcomes = [a["outcome"] for a in attempts[referral_id]]
        assert outcomes.count("accepted") == 1 and outcomes[-1] == "accepted"
        assert posts[referral.idempotency_key] == len(outcomes), "a POST no attempt accounts for: sent twice"
        assert referral.delivery_reference == fake_la.delivery(referral.idempotency_key).reference
    assert sum(posts.values()) == len(referral_ids) + 8

    # One leader did all the work.
    nodes = {a["node"] for entries in attempts.values() for a in entries}
    assert len(nodes) == 1
    pids = {str(p.proc.pid) for p in processes if p.proc is not None}
    assert next(iter(nodes)).rsplit(":", 1)[1] in pids

    # Each overdue decision escalated once, audited once, posted once.
    assert sorted(e.decision_id for e in escalations) == sorted(d.id for d in overdue)
    assert set(recorded.values()) == {1} and len(recorded) == len(escalations)
    assert hook.counts() == {e.id: 1 for e in escalations}

    # Per child, referrals were accepted oldest first.
    order = {d.idempotency_key: d.order for d in fake_la.deliveries()}
    by_child: dict[int, list[int]] = defaultdict(list)
    for referral_id in sorted(referral_ids):
        by_child[referrals[referral_id].patient_id].append(order[referrals[referral_id].idempotency_key])
    assert all(sequence == sorted(sequence) for sequence in by_child.values())
