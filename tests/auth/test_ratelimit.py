"""Failed sign-ins are limited per user name and per client address, and the block is audited once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ed_alerts.app import create_app
from ed_alerts.audit.models import AuditEntry
from ed_alerts.auth.ratelimit import SignInLimiter, SlidingWindow
from ed_alerts.services import Services
from ed_alerts.settings import Settings


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sliding_window_forgets_old_events() -> None:
    clock = FakeClock()
    window = SlidingWindow(limit=3, window_s=60, clock=clock)
    for _ in range(3):
        assert window.retry_after("k") is None
        window.add("k")
        clock.now += 10
    assert window.retry_after("k") == pytest.approx(30)  # the first event leaves the window at t+60
    clock.now += 30
    assert window.retry_after("k") is None
    assert window.retry_after("other") is None


def test_limiter_blocks_by_user_and_by_address_and_reports_each_block_once() -> None:
    clock = FakeClock()
    limiter = SignInLimiter(per_user=2, per_ip=3, window_s=60, clock=clock)
    limiter.failed("Alice", "10.0.0.1")
    limiter.failed("alice", "10.0.0.2")
    assert limiter.blocked("ALICE", "10.0.0.9")  # the name is blocked from anywhere
    assert limiter.blocked("bob", "10.0.0.9") is None
    limiter.failed("bob", "10.0.0.1")
    limiter.failed("carol", "10.0.0.1")
    assert limiter.blocked("dave", "10.0.0.1")  # a spray of names from one address is blocked too
    wait = limiter.blocked("alice", "10.0.0.1")
    assert wait and limiter.first_refusal("alice", "10.0.0.1", wait)
    assert not limiter.first_refusal("alice", "10.0.0.1", wait)
    limiter.succeeded("bob")  # success clears the name's count, not the address's
    assert limiter.blocked("bob", "10.0.0.7") is None and limiter.blocked("bob", "10.0.0.1")


@pytest.fixture
def strict_client(settings: Settings, services: Services) -> Iterator[TestClient]:
    strict = settings.model_copy(update={"signin_max_failures_per_user": 3, "signin_max_failures_per_ip": 5})
    with TestClient(create_app(strict, services=services)) as c:
        yield c


def test_token_endpoint_is_rate_limited_and_the_block_audited_once(strict_client: TestClient, make_user,
                                                                   services: Services) -> None:
    user = make_user("admin", name="target")
    for _ in range(3):
        assert strict_client.post("/auth/token", data={"username": "target", "password": "guess"}).status_code == 401
    for password in ("guess", user.password):  # blocked even with the right password, until the window ends
        res = strict_client.post("/auth/token", data={"username": "target", "password": password})
        assert res.status_code == 429 and int(res.headers["retry-after"]) > 0
    with services.db.session() as s:
        reasons = s.scalars(select(AuditEntry.reason).where(AuditEntry.action == "auth.signin_failed")
                            .order_by(AuditEntry.id)).all()
    assert reasons == ["wrong password"] * 3 + ["rate limited"]


def test_one_address_trying_many_names_is_blocked(strict_client: TestClient, make_user) -> None:
    user = make_user("admin", name="real")
    for i in range(5):
        strict_client.post("/auth/token", data={"username": f"guess{i}", "password": "x"})
    res = strict_client.post("/auth/token", data={"username": "real", "password": user.password})
    assert res.status_code == 429


def test_the_sign_in_page_is_rate_limited_too(strict_client: TestClient, make_user) -> None:
    from tests.auth.helpers import csrf_from_page

    make_user("admin", name="webtarget")
    token = csrf_from_page(strict_client)
    for _ in range(3):
        strict_client.post("/signin", data={"username": "webtarget", "password": "x", "csrf_token": token})
    res = strict_client.post("/signin", data={"username": "webtarget", "password": "x", "csrf_token": token})
    assert res.status_code == 429 and "Too many failed sign-ins" in res.text and res.headers["retry-after"]
