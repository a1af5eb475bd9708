"""The scheduler starts in the app's lifespan when enabled and delivers what is sent, off the request."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import select

from ed_alerts.app import create_app
from ed_alerts.referrals.authorities import LocalAuthorityRegistry
from ed_alerts.referrals.context import ReferralContext
from ed_alerts.referrals.models import Referral
from ed_alerts.services import Services
from ed_alerts.settings import Settings
from ed_alerts.synthetic import Generator
from integrations.local_authority.fake_server import FakeLocalAuthority
from tests.referrals.conftest import write_authorities
from tests.referrals.factory import sent_referral


def test_scheduler_in_the_lifespan_delivers(settings: Settings, services: Services, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with FakeLocalAuthority(token="fake-la-test-token-0123456789") as fake:
        on = settings.model_copy(update={
            "scheduler_enabled": True, "outbox_drain_interval_s": 0.2,
            "local_authorities_file": write_authorities(tmp_path / "las.yaml", fake.url)})
        services.settings = on
        services.referrals = ReferralContext(
            db=services.db, settings=on, authorities=LocalAuthorityRegistry.load(on.local_authorities_file),
            sites=services.sites, sender=services.referrals.sender)
        with TestClient(create_app(on, services=services)):
            referral_id = sent_referral(services, Generator(seed=901))
            deadline = time.monotonic() + 60  # a bound on a hang, not a timing assertion
            while True:
                with services.db.session() as s:
                    status = s.scalar(select(Referral.delivery_status).where(Referral.id == referral_id))
                if status == "delivered":
                    break
                assert time.monotonic() < deadline, "the scheduler never delivered the referral"
                time.sleep(0.1)
        assert len(fake.deliveries()) == 1
