"""`make run`'s synthetic data: written through the service layer, every state the pages show."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from ed_alerts.demo import demo_feed, late_arrival
from ed_alerts.demo_seed import seed_demo, seed_history
from ed_alerts.flags.models import Decision
from ed_alerts.referrals.models import Referral
from ed_alerts.services import Services
from tests.referrals.conftest import fake_la, fake_la_server  # noqa: F401 - fixtures
from tests.web.conftest import settings  # noqa: F401 - fixture: a fake local authority configured


def test_seeding_gives_every_page_something_and_runs_once(services: Services) -> None:
    now = datetime.now(UTC)
    report = seed_demo(services, now, months=2, per_month=6)
    assert report.history_referrals > 3 and len(report.today) == 6
    with services.db.session() as s:
        states = {r.state for r in s.scalars(select(Referral))}
        awaiting_review = s.scalars(select(Decision).where(Decision.status == "not_refer",
                                                           Decision.reviewed_at.is_(None))).all()
        overdue = s.scalars(select(Referral).where(Referral.state == "required", Referral.due_at < now)).all()
    assert {"required", "drafted", "sent", "audited"} <= states and awaiting_review and overdue
    again = seed_demo(services, now, months=2, per_month=6)
    assert again.history_referrals == 0 and again.today == {}


def test_history_spreads_over_months(services: Services) -> None:
    now = datetime.now(UTC)
    seed_history(services, now, months=2, per_month=3)
    with services.db.session() as s:
        sent = s.scalars(select(Referral.sent_at).where(Referral.sent_at.is_not(None))).all()
    assert sent and min(sent) < max(sent)


def test_the_feed_is_new_every_day() -> None:
    today = datetime(2026, 3, 2, 9, tzinfo=UTC)
    tomorrow = datetime(2026, 3, 3, 9, tzinfo=UTC)
    assert demo_feed(today)[0] != demo_feed(tomorrow)[0]
    assert b"MSH|" in late_arrival(today)
