"""CP-IS lookups through the real ingest pipeline and a real database, against the fake CP-IS over
real HTTP on 127.0.0.1. The worker's drain is driven directly (`drain_lookups`), so each step can be
checked; tests/cpis/test_through_app.py lets the background worker do it.

All people and numbers are synthetic (NHS numbers from the 999 test range).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ed_alerts.audit.models import AuditEntry
from ed_alerts.audit.service import verify_chain
from ed_alerts.flags.models import Decision, DecisionStatus, Flag
from ed_alerts.services import Services
from ed_alerts.social_care.models import CpisLookup, LookupStatus
from ed_alerts.social_care.worker import DrainReport, claim_due, drain_lookups
from integrations.cpis.fake_server import FakeCpis
from tests.cpis.helpers import BOTH, ENDED, LOOKED_AFTER, ON_PLAN, RULE, UNBORN, UNKNOWN, send, visit


def flags(svc: Services, attendance_id: int) -> dict[str, Flag]:
    with svc.db.session() as s:
        return {f.rule_id: f for f in s.scalars(select(Flag).where(Flag.attendance_id == attendance_id))}


def lookups(svc: Services) -> list[CpisLookup]:
    with svc.db.session() as s:
        return list(s.scalars(select(CpisLookup).order_by(CpisLookup.id)))


def drain(svc: Services, *, later_s: float = 0.0) -> DrainReport:
    assert svc.cpis is not None
    return drain_lookups(svc.cpis, datetime.now(UTC) + timedelta(seconds=later_s))


def test_a_child_on_a_plan_is_flagged_with_cp_is_evidence(services: Services, fake_cpis: FakeCpis) -> None:
    out = send(services, visit(ON_PLAN), control_id="C1")
    att_id = out.attendance_ids[0]
    assert RULE not in flags(services, att_id)  # the ACK did not wait for CP-IS
    (pending,) = lookups(services)
    assert pending.status == LookupStatus.PENDING and pending.attendance_id == att_id
    assert fake_cpis.requests() == []

    report = drain(services)
    assert (report.claimed, report.found) == (1, 1)
    flag = flags(services, att_id)[RULE]
    assert flag.reason.startswith(
        "Known to children's social care: CP-IS: Subject to a child protection plan")
    (evidence,) = flag.evidence
    assert evidence["origin"] == "CP-IS" and evidence["source"] == "observation CP_PLAN from CP-IS"
    assert evidence["code"] == "CP_PLAN" and evidence["value"] == "Y"
    assert "Exampleshire County Council (fake)" in evidence["description"]
    assert "emergency duty 01632 960001" in evidence["description"]
    with services.db.session() as s:
        decision = s.scalar(select(Decision).where(Decision.flag_id == flag.id))
        assert decision is not None and decision.status == DecisionStatus.PENDING
        attempts = s.scalars(select(AuditEntry).where(AuditEntry.action == "cpis.lookup_attempt")).all()
        raised = s.scalars(select(AuditEntry).where(AuditEntry.action == "flag.raised",
                                                    AuditEntry.entity_id == str(flag.id))).all()
        assert verify_chain(s).ok
    assert len(attempts) == 1 and attempts[0].details["outcome"] == "found" and len(raised) == 1
    assert ON_PLAN not in str(attempts[0].details)

    (request,) = fake_cpis.requests()
    assert request.nhs_number == ON_PLAN and request.access_event == "true"
    (done,) = lookups(services)
    assert done.status == LookupStatus.DONE and done.outcome == "found" and done.attempts == 1
    assert request.correlation_id == f"ed-alerts-cpis-{done.id}" and done.trace_id == request.trace_id
    assert done.plans[0]["plan_type"] == "child_protection_plan" and done.access_event


def test_updates_of_the_attendance_never_ask_again_and_keep_the_flag(services: Services,
                                                                     fake_cpis: FakeCpis) -> None:
    v = visit(ON_PLAN)
    att_id = send(services, v, control_id="U1").attendance_ids[0]
    drain(services)
    first = flags(services, att_id)[RULE]
    send(services, v, "A08", control_id="U2")
    send(services, v, "A03", control_id="U3")
    assert drain(services).claimed == 0
    assert len(fake_cpis.requests()) == 1 and len(lookups(services)) == 1
    again = flags(services, att_id)[RULE]
    assert again.id == first.id and again.reason == first.reason  # re-evaluated with the stored answer


def test_a_child_unknown_to_cp_is_is_not_flagged(services: Services, fake_cpis: FakeCpis) -> None:
    att_id = send(services, visit(UNKNOWN), control_id="N1").attendance_ids[0]
    assert drain(services).not_found == 1
    assert RULE not in flags(services, att_id)
    (done,) = lookups(services)
    assert (done.status, done.outcome, done.plans) == (LookupStatus.DONE, "not_found", [])
    assert [r.nhs_number for r in fake_cpis.access_events()] == [UNKNOWN]


@pytest.mark.parametrize("nhs, codes, words", [
    (LOOKED_AFTER, ["LOOKED_AFTER"], "CP-IS: Looked after child"),
    (ENDED, ["KNOWN_TO_CSC"], "ended"),
    (UNBORN, ["CP_PLAN"], "Unborn child subject to a child protection plan"),
    (BOTH, ["CP_PLAN", "LOOKED_AFTER"], "Testborough Borough Council (fake)"),
])
def test_each_kind_of_plan_feeds_the_rule(services: Services, nhs: str, codes: list[str], words: str) -> None:
    att_id = send(services, visit(nhs), control_id="K1").attendance_ids[0]
    drain(services)
    flag = flags(services, att_id)[RULE]
    assert [e["code"] for e in flag.evidence] == codes
    assert all(e["origin"] == "CP-IS" for e in flag.evidence) and words in flag.reason


def test_a_slow_cp_is_never_holds_ingest_and_the_lookup_fails_after_its_attempts(
        services: Services, fake_cpis: FakeCpis) -> None:
    fake_cpis.set_mode("slow", delay_s=10)  # ten times the 1 s timeout
    started = time.monotonic()
    out = send(services, visit(ON_PLAN), control_id="S1")
    # Processed and answered without a word to CP-IS: the ACK never waits on it.
    assert out.accepted and fake_cpis.requests() == []
    assert time.monotonic() - started < 5.0

    started = time.monotonic()
    first = drain(services)
    assert first.retrying == 1 and time.monotonic() - started < 5.0  # abandoned at the timeout
    (row,) = lookups(services)
    assert (row.status, row.last_cause, row.attempts) == (LookupStatus.PENDING, "read_timeout", 1)
    assert row.next_attempt_at > datetime.now(UTC)  # not due again at once
    assert drain(services).claimed == 0

    assert drain(services, later_s=60).failed == 1  # attempt 2 of 2
    (row,) = lookups(services)
    assert (row.status, row.outcome, row.attempts) == (LookupStatus.FAILED, "error", 2)
    assert RULE not in flags(services, out.attendance_ids[0])
    assert len(fake_cpis.requests()) == 2
    with services.db.session() as s:
        causes = [e.details["cause"] for e in s.scalars(
            select(AuditEntry).where(AuditEntry.action == "cpis.lookup_attempt").order_by(AuditEntry.id))]
    assert causes == ["read_timeout", "read_timeout"]


def test_cp_is_down_then_back_up_is_retried_to_an_answer(services: Services, fake_cpis: FakeCpis) -> None:
    fake_cpis.set_mode("down")
    att_id = send(services, visit(ON_PLAN), control_id="D1").attendance_ids[0]
    assert drain(services).retrying == 1
    assert lookups(services)[0].last_cause == "connect_error"
    fake_cpis.come_up()
    assert drain(services, later_s=60).found == 1
    assert RULE in flags(services, att_id)


def test_a_refusal_retrying_cannot_fix_fails_at_once(services: Services, fake_cpis: FakeCpis) -> None:
    fake_cpis.state.token = "a-token-we-do-not-have"
    send(services, visit(ON_PLAN), control_id="R1")
    assert drain(services).failed == 1
    (row,) = lookups(services)
    assert (row.status, row.last_cause) == (LookupStatus.FAILED, "auth")
    assert (row.last_http_status, row.attempts) == (401, 1)


def test_disabled_makes_no_requests(build_services: Callable[..., Services], fake_cpis: FakeCpis) -> None:
    svc = build_services(cpis_enabled=False)
    assert svc.cpis is None
    send(svc, visit(ON_PLAN), control_id="X1")
    assert lookups(svc) == [] and fake_cpis.requests() == []


@pytest.mark.parametrize("case", ["adult", "invalid NHS number", "no NHS number", "three days ago"])
def test_who_is_not_looked_up(services: Services, fake_cpis: FakeCpis, case: str) -> None:
    invalid = ON_PLAN[:-1] + str((int(ON_PLAN[-1]) + 1) % 10)  # fails Modulus 11
    v = {
        "adult": visit(ON_PLAN, age=30),
        "invalid NHS number": visit(invalid),
        "no NHS number": visit(None),
        "three days ago": visit(ON_PLAN, arrival=datetime.now(UTC) - timedelta(days=3)),
    }[case]
    send(services, v, control_id="W1")
    assert lookups(services) == [] and drain(services).claimed == 0
    assert fake_cpis.requests() == []


def test_a_cancelled_registration_is_not_looked_up(services: Services, fake_cpis: FakeCpis) -> None:
    v = visit(ON_PLAN)
    send(services, v, "A11", control_id="Z1")  # the cancel arrives first (out of order)
    assert lookups(services) == []


def test_a_repeat_attendance_shows_the_recent_answer_at_once_and_still_tells_cp_is(
        services: Services, fake_cpis: FakeCpis) -> None:
    send(services, visit(ON_PLAN, visit_number="V1"), control_id="P1")
    drain(services)
    second = send(services, visit(ON_PLAN, visit_number="V2", arrival=datetime.now(UTC)), control_id="P2")
    att_id = second.attendance_ids[0]
    assert RULE in flags(services, att_id)  # from the cached answer, before any new request
    assert drain(services).found == 1
    assert [r.access_event for r in fake_cpis.requests()] == ["true", "true"]  # one access event each
    assert len(lookups(services)) == 2


def test_requery_off_reuses_a_recent_answer_without_asking(build_services: Callable[..., Services],
                                                          fake_cpis: FakeCpis) -> None:
    svc = build_services(cpis_requery_each_attendance=False)
    send(svc, visit(ON_PLAN, visit_number="V1"), control_id="Q1")
    drain(svc)
    second = send(svc, visit(ON_PLAN, visit_number="V2", arrival=datetime.now(UTC)), control_id="Q2")
    assert RULE in flags(svc, second.attendance_ids[0])
    assert drain(svc).claimed == 0 and len(fake_cpis.requests()) == 1
    first, skipped = lookups(svc)
    assert skipped.status == LookupStatus.SKIPPED and skipped.source_lookup_id == first.id
    assert not skipped.access_event


def test_a_stale_answer_is_not_reused(build_services: Callable[..., Services], fake_cpis: FakeCpis) -> None:
    svc = build_services(cpis_cache_hours=0.0, cpis_requery_each_attendance=False)
    send(svc, visit(ON_PLAN, visit_number="V1"), control_id="T1")
    drain(svc)
    second = send(svc, visit(ON_PLAN, visit_number="V2", arrival=datetime.now(UTC)), control_id="T2")
    assert RULE not in flags(svc, second.attendance_ids[0])  # nothing cached: asked afresh
    assert drain(svc).found == 1 and len(fake_cpis.requests()) == 2


def test_pending_lookups_survive_a_restart(services: Services, build_services: Callable[..., Services],
                                           fake_cpis: FakeCpis) -> None:
    att_id = send(services, visit(ON_PLAN), control_id="L1").attendance_ids[0]
    services.close()  # the process dies before its worker ran; the pending row was committed
    restarted = Services.build(services.settings)
    try:
        assert drain(restarted).found == 1
        assert RULE in flags(restarted, att_id)
    finally:
        restarted.close()


def test_a_claimed_lookup_is_not_claimed_twice(services: Services) -> None:
    send(services, visit(ON_PLAN), control_id="M1")
    assert services.cpis is not None
    now = datetime.now(UTC)
    assert len(claim_due(services.cpis, now)) == 1
    assert claim_due(services.cpis, now) == []  # leased
    assert len(claim_due(services.cpis, now + timedelta(minutes=5))) == 1  # the lease ran out


def test_logs_carry_ids_never_the_nhs_number(services: Services, fake_cpis: FakeCpis,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    send(services, visit(ON_PLAN, visit_number="V1"), control_id="G1")
    drain(services)
    fake_cpis.set_mode("fail")  # and a failed attempt, which logs a warning
    send(services, visit(LOOKED_AFTER, visit_number="V2", seed=6), control_id="G2")
    assert drain(services).retrying == 1
    mine = [r for r in caplog.records if r.name.startswith(("ed_alerts.social_care", "integrations.cpis"))]
    assert any("outcome=found" in r.getMessage() for r in mine)
    assert any("cause=http_503" in r.getMessage() for r in mine)
    # uvicorn.access is the fake CP-IS's own server log: NHS England's side, not ours.
    logged = " ".join(r.getMessage() for r in caplog.records if r.name != "uvicorn.access")
    assert ON_PLAN not in logged and LOOKED_AFTER not in logged
