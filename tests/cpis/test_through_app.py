"""The whole service (FastAPI app, its lifespan and the background CP-IS worker) with the fake CP-IS
on 127.0.0.1: a feed posts HL7 v2 over HTTP, the ACK comes back at once, and the flag follows."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ed_alerts.services import Services
from ed_alerts.social_care.models import CpisLookup, LookupStatus
from ed_alerts.synthetic import adt
from integrations.cpis.fake_server import FakeCpis
from tests.cpis.helpers import ON_PLAN, RULE, visit

HL7_TYPE = {"content-type": "x-application/hl7-v2+er7"}


@pytest.fixture
def feed(make_user, auth_headers) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {**HL7_TYPE, **auth_headers(make_user("integration"))}


@pytest.fixture
def nurse(make_user, auth_headers) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return auth_headers(make_user("ed_nurse", sites=["RGT01"]))


def wait_for(check: Callable[[], Any], timeout_s: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def post(client: TestClient, feed: dict[str, str], control_id: str) -> tuple[int, float]:
    started = time.monotonic()
    res = client.post("/hl7v2", content=adt(visit(ON_PLAN), control_id=control_id), headers=feed)
    elapsed = time.monotonic() - started
    assert res.status_code == 200 and b"MSA|AA|" + control_id.encode() in res.content
    return int(res.headers["x-message-id"]), elapsed


def attendance_of(client: TestClient, feed: dict[str, str], message_id: int) -> int:
    listed = client.get("/api/messages", headers=feed).json()
    return next(m for m in listed if m["id"] == message_id)["attendance_ids"][0]


def test_posted_registration_is_acked_then_flagged_from_cp_is(
        client: TestClient, feed: dict[str, str], nurse: dict[str, str], fake_cpis: FakeCpis) -> None:
    message_id, _ = post(client, feed, "APP1")
    att_id = attendance_of(client, feed, message_id)

    def cpis_flag() -> dict[str, Any] | None:
        detail = client.get(f"/api/attendances/{att_id}", headers=nurse).json()
        return next((f for f in detail["flags"] if f["rule_id"] == RULE), None)

    flag = wait_for(cpis_flag)
    assert flag["evidence"][0]["origin"] == "CP-IS" and "CP-IS" in flag["reason"]
    assert flag["decision_status"] == "pending"
    (request,) = fake_cpis.requests()
    assert request.nhs_number == ON_PLAN and request.access_event == "true"


def test_a_slow_cp_is_never_delays_the_ack(client: TestClient, feed: dict[str, str], services: Services,
                                          fake_cpis: FakeCpis) -> None:
    fake_cpis.set_mode("slow", delay_s=10)  # ten times the configured timeout
    message_id, elapsed = post(client, feed, "APP2")
    assert elapsed < 5.0  # well inside the stall: the ACK did not wait for CP-IS
    att_id = attendance_of(client, feed, message_id)

    def finished() -> CpisLookup | None:
        with services.db.session() as s:
            row = s.scalar(select(CpisLookup).where(CpisLookup.attendance_id == att_id))
            return row if row is not None and row.status == LookupStatus.FAILED else None

    row = wait_for(finished)
    assert (row.attempts, row.last_cause) == (2, "read_timeout")
    listed = client.get("/api/messages", headers=feed).json()
    assert next(m for m in listed if m["id"] == message_id)["status"] == "processed"
