"""The local-authority referral adapter against the fake authority over real HTTP on 127.0.0.1.

All people, places and numbers here are synthetic (NHS numbers from the 999 test range).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from pydantic import SecretStr

from ed_alerts.domain import Address, SourceType
from integrations.local_authority import (
    AttendanceDetails,
    ChildDetails,
    DeliveryResult,
    DeliveryStatus,
    FlagSummary,
    LocalAuthorityEndpoint,
    ReferralDelivery,
    ReferralPayload,
    ReferralSender,
    Referrer,
    deliver_with_retries,
    next_attempt_delay,
    to_fhir_bundle,
)
from integrations.local_authority.answers import classify_exception, classify_response
from integrations.local_authority.cli import _MODES
from integrations.local_authority.codes import IDEMPOTENCY_KEY_SYSTEM, NHS_NUMBER_SYSTEM, REFERRAL_ID_SYSTEM
from integrations.local_authority.fake_client import FakeLAControl
from integrations.local_authority.fake_server import FakeLocalAuthority
from integrations.local_authority.fake_state import FakeMode

REPO = Path(__file__).resolve().parents[2]
LA = "LA-TEST"
NHS_A, NHS_B = "9990000018", "9990000026"
CHILD_NAME = "Zephyrine"  # must never reach a log line


def payload(n: int = 1, *, nhs_number: str = NHS_A, la: str = LA, parents_aware: bool = False,
            flags: int = 2) -> ReferralPayload:
    return ReferralPayload(
        referral_id=f"ref-{n:04d}",
        idempotency_key=f"key-{n:04d}-6f1c2d",
        local_authority_code=la,
        authored_at=datetime(2024, 5, 1, 14, 30, tzinfo=UTC),
        child=ChildDetails(family_name="Testchild", given_names=[CHILD_NAME, "Ann"], birth_date=date(2010, 3, 4),
                           nhs_number=nhs_number, sex="female",
                           address=Address(lines=["1 Synthetic Row"], city="Exampletown", postcode="ZZ99 3AA")),
        attendance=AttendanceDetails(site_code="RX1ED", site_name="Example General ED",
                                     source_type=SourceType.HOSPITAL_ED, visit_number=f"V{n:05d}",
                                     arrival_time=datetime(2024, 5, 1, 13, 5, tzinfo=UTC)),
        what_happened="Assaulted by a group of older youths near the bus station.",
        child_words="They said they'd find me again if I told anyone.",
        risk_factors=["Assault by more than one person", "Child says they do not feel safe"],
        injuries="Laceration to left forearm, bruising to ribs.",
        others_involved="Younger sibling at the same school may be at risk.",
        parents_aware=parents_aware,
        parents_not_aware_reason=None if parents_aware else "Child fears retaliation at home; discussed with MASH",
        referrer=Referrer(name="Sam Nurse", role="ED staff nurse", contact="01632 960000",
                          organisation="Example Hospitals NHS Trust"),
        decision_rationale="Risk of significant harm from exploitation; threshold for referral met.",
        flags=[FlagSummary(rule_id=f"rule-{i}", rule_version="3", reason=f"matched reason {i}",
                           title=f"Rule {i}") for i in range(flags)],
    )


def endpoint(fake: FakeLocalAuthority, **overrides: Any) -> LocalAuthorityEndpoint:
    return LocalAuthorityEndpoint(**{"code": LA, "url": fake.url, "timeout_s": 2.0, **overrides})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def shared_fake() -> Iterator[FakeLocalAuthority]:
    with FakeLocalAuthority(delay_s=0.5) as fake:
        yield fake


@pytest.fixture
def fake(shared_fake: FakeLocalAuthority) -> FakeLocalAuthority:
    shared_fake.reset(settings=True)  # every test starts with an empty fake in ok mode
    return shared_fake


@pytest.fixture(scope="module")
def sender() -> Iterator[ReferralSender]:
    with ReferralSender() as s:
        yield s


# --- the payload and its FHIR Bundle ----------------------------------------------------------------


def test_bundle_is_a_valid_r4_transaction_with_our_identifiers() -> None:
    bundle = to_fhir_bundle(payload())
    Bundle.model_validate(bundle)
    for entry in bundle["entry"]:  # each resource on its own too, so an error names its type
        get_fhir_model_class(entry["resource"]["resourceType"]).model_validate(entry["resource"])
    assert bundle["type"] == "transaction"
    assert bundle["identifier"] == {"system": IDEMPOTENCY_KEY_SYSTEM, "value": "key-0001-6f1c2d"}
    by_type: dict[str, list[dict[str, Any]]] = {}
    for entry in bundle["entry"]:
        by_type.setdefault(entry["resource"]["resourceType"], []).append(entry)
    assert set(by_type) == {"Task", "ServiceRequest", "QuestionnaireResponse", "Patient", "Encounter",
                            "Practitioner", "PractitionerRole", "Organization", "Flag"}
    assert len(by_type["Flag"]) == 2 and len(by_type["Organization"]) == 2
    service_request = by_type["ServiceRequest"][0]
    assert service_request["resource"]["identifier"] == [{"system": REFERRAL_ID_SYSTEM, "value": "ref-0001"}]
    assert service_request["request"]["ifNoneExist"] == f"identifier={REFERRAL_ID_SYSTEM}|ref-0001"
    assert by_type["Task"][0]["resource"]["focus"] == {"reference": service_request["fullUrl"]}
    patient = by_type["Patient"][0]["resource"]
    assert patient["identifier"] == [{"system": NHS_NUMBER_SYSTEM, "value": NHS_A}]
    assert patient["birthDate"] == "2010-03-04"
    # every reference inside the Bundle resolves to an entry of it
    full_urls = {entry["fullUrl"] for entry in bundle["entry"]}
    assert _references(bundle["entry"]) <= full_urls


def _references(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            found.add(node["reference"])
        for value in node.values():
            found |= _references(value)
    elif isinstance(node, list):
        for value in node:
            found |= _references(value)
    return found


def test_bundle_carries_every_mash_answer_and_is_deterministic() -> None:
    bundle = to_fhir_bundle(payload())
    assert bundle == to_fhir_bundle(payload())  # a retry is a byte-identical replay
    form = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "QuestionnaireResponse")
    answers = {item["linkId"]: [next(iter(a.values())) for a in item["answer"]] for item in form["item"]}
    assert answers["child-words"] == ["They said they'd find me again if I told anyone."]
    assert answers["risk-factors"] == ["Assault by more than one person", "Child says they do not feel safe"]
    assert answers["parents-aware"] == [False]
    assert answers["parents-not-aware-reason"] == ["Child fears retaliation at home; discussed with MASH"]
    assert {"what-happened", "injuries", "others-involved", "decision-rationale"} <= set(answers)
    told = to_fhir_bundle(payload(parents_aware=True, flags=0))
    Bundle.model_validate(told)
    form = next(e["resource"] for e in told["entry"] if e["resource"]["resourceType"] == "QuestionnaireResponse")
    assert "parents-not-aware-reason" not in {item["linkId"] for item in form["item"]}


def test_a_minimal_referral_of_an_unidentified_child_still_validates() -> None:
    data = payload(flags=0).model_dump()
    data["child"] = {"family_name": "Unknown", "given_names": ["Unknown"]}
    data["attendance"] = {"site_code": "AMB1", "source_type": "ambulance"}
    data["referrer"]["organisation"] = None
    bundle = to_fhir_bundle(ReferralPayload.model_validate(data))
    Bundle.model_validate(bundle)
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert "Flag" not in types
    encounter = bundle["entry"][types.index("Encounter")]
    assert encounter["resource"]["class"]["code"] == "FLD" and "ifNoneExist" not in encounter["request"]
    assert "ifNoneExist" not in bundle["entry"][types.index("Patient")]["request"]


def test_payload_needs_why_parents_were_not_told_and_hides_identifiers() -> None:
    data = payload().model_dump()
    data["parents_not_aware_reason"] = "  "
    with pytest.raises(ValueError, match="parents_not_aware_reason"):
        ReferralPayload.model_validate(data)
    data["child"]["nhs_number"] = "99900000"  # too short: the error must not quote it
    with pytest.raises(ValueError) as excinfo:
        ReferralPayload.model_validate(data)
    assert "99900000" not in str(excinfo.value)
    shown = f"{payload()!r} {payload()}"
    assert "ref-0001" in shown and NHS_A not in shown and CHILD_NAME not in shown


# --- one attempt against the fake authority ---------------------------------------------------------


def test_accepted_with_the_authoritys_reference(fake: FakeLocalAuthority, sender: ReferralSender) -> None:
    result = sender.send(payload(), endpoint(fake))
    assert result.status is DeliveryStatus.ACCEPTED and result.cause == "created" and result.http_status == 201
    assert result.reference == "FAKE-LA-000001"  # the Task's own identifier, not our echoed referral id
    [delivery] = fake.deliveries()
    assert (delivery.referral_id, delivery.nhs_number, delivery.posts) == ("ref-0001", NHS_A, 1)
    assert isinstance(sender, ReferralDelivery)


def test_replay_of_a_key_returns_the_same_reference_and_counts_one_delivery(
        fake: FakeLocalAuthority, sender: ReferralSender) -> None:
    first = sender.send(payload(), endpoint(fake))
    again = sender.send(payload(), endpoint(fake), attempt=2)
    fake.state.configure(replay_status=409)
    conflict = sender.send(payload(), endpoint(fake), attempt=3)
    assert again.is_accepted and again.http_status == 200
    assert conflict.is_accepted and conflict.cause == "replay"
    assert first.reference == again.reference == conflict.reference
    assert len(fake.deliveries()) == 1 and fake.received == 3
    assert fake.posts_by_key() == {"key-0001-6f1c2d": 3}


def test_same_key_for_a_different_referral_is_rejected(fake: FakeLocalAuthority, sender: ReferralSender) -> None:
    sender.send(payload(1), endpoint(fake))
    other = payload(2).model_copy(update={"idempotency_key": payload(1).idempotency_key})
    result = sender.send(other, endpoint(fake))
    assert result.is_rejected and "different referral" in (result.reason or "")


def test_outage_503_is_retryable(fake: FakeLocalAuthority, sender: ReferralSender) -> None:
    fake.set_mode("fail", retry_after_s=7)
    result = sender.send(payload(), endpoint(fake))
    assert result.status is DeliveryStatus.RETRYABLE and result.cause == "http_503"
    assert result.retry_after_s == 7 and "unavailable" in (result.reason or "")
    assert fake.deliveries() == []


def test_slow_authority_times_out_retryable_and_the_retry_is_a_replay(
        fake: FakeLocalAuthority, sender: ReferralSender) -> None:
    fake.set_mode("slow", delay_s=0.5)
    started = time.monotonic()
    result = sender.send(payload(), endpoint(fake, timeout_s=0.1))
    assert time.monotonic() - started < 0.45  # our timeout, not the authority's pace
    assert result.is_retryable and result.cause == "read_timeout"
    # The slow authority stored it anyway: the resend gets the same case, still one delivery.
    wait_for(lambda: len(fake.deliveries()) == 1)
    fake.set_mode("ok")
    retried = sender.send(payload(), endpoint(fake), attempt=2)
    assert retried.is_accepted and retried.reference == fake.deliveries()[0].reference
    assert len(fake.deliveries()) == 1 and fake.posts_by_key()["key-0001-6f1c2d"] == 2


def test_connection_refused_is_retryable_and_the_fake_comes_back_on_the_same_url(
        fake: FakeLocalAuthority, sender: ReferralSender) -> None:
    sender.send(payload(1), endpoint(fake))  # leaves a keep-alive connection in the pool
    url = fake.url
    fake.set_mode("down")
    with pytest.raises(httpx.ConnectError):
        httpx.post(url, content=b"{}")
    result = sender.send(payload(2), endpoint(fake))
    assert result.is_retryable and result.cause in {"connect_error", "remote_protocol_error", "read_error"}
    assert sender.send(payload(2), endpoint(fake)).cause == "connect_error"  # a fresh connection: refused
    fake.set_mode("ok")
    assert fake.url == url
    assert sender.send(payload(2), endpoint(fake)).is_accepted
    assert [d.referral_id for d in fake.deliveries()] == ["ref-0001", "ref-0002"]


def test_rejection_is_permanent_with_the_authoritys_reason(fake: FakeLocalAuthority, sender: ReferralSender) -> None:
    fake.set_mode("reject", reject_reason="No consent recorded and no reason given")
    result = sender.send(payload(), endpoint(fake))
    assert result.status is DeliveryStatus.REJECTED and result.http_status == 422
    assert result.reason == "HTTP 422: business-rule: No consent recorded and no reason given"
    assert fake.deliveries() == []


def test_the_bearer_token_is_enforced(sender: ReferralSender) -> None:
    with FakeLocalAuthority(token="s3cret-synthetic") as fake:
        missing = sender.send(payload(), endpoint(fake))
        wrong = sender.send(payload(), endpoint(fake, token="nope"))
        basic = sender.send(payload(), endpoint(fake, username="ed", password="s3cret-synthetic"))
        right = sender.send(payload(), endpoint(fake, token="s3cret-synthetic"))
        assert [r.cause for r in (missing, wrong, basic)] == ["auth"] * 3
        assert all(r.is_rejected and r.http_status == 401 for r in (missing, wrong, basic))
        assert right.is_accepted and len(fake.deliveries()) == 1


def test_a_referral_is_never_sent_to_another_authority(fake: FakeLocalAuthority, sender: ReferralSender) -> None:
    with pytest.raises(ValueError, match="LA-OTHER"):
        sender.send(payload(la="LA-OTHER"), endpoint(fake))
    assert fake.received == 0


def test_logs_name_the_referral_never_the_child(fake: FakeLocalAuthority, sender: ReferralSender,
                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sender.send(payload(), endpoint(fake))
    fake.set_mode("reject", reject_reason=f"{CHILD_NAME} {NHS_A} is unknown to us")
    sender.send(payload(), endpoint(fake), attempt=2)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "referral=ref-0001 la=LA-TEST attempt=2 outcome=rejected cause=http_422 http=422" in text
    assert CHILD_NAME not in text and NHS_A not in text and "Testchild" not in text


# --- retries ---------------------------------------------------------------------------------------


def test_deliver_with_retries_recovers_after_n_failures(fake: FakeLocalAuthority, sender: ReferralSender) -> None:
    fake.fail_next(3)
    sleeps: list[float] = []
    outcome = deliver_with_retries(sender, payload(), endpoint(fake), max_attempts=5, base_s=1.0, max_s=30.0,
                                   sleep=sleeps.append, rng=random.Random(7))
    assert outcome.result.is_accepted and outcome.attempts == 4 and not outcome.gave_up
    assert len(sleeps) == 3 and all(0 <= s <= c for s, c in zip(sleeps, (1, 2, 4), strict=True))
    assert len(fake.deliveries()) == 1 and fake.posts_by_key() == {"key-0001-6f1c2d": 4}


def test_deliver_with_retries_gives_up_and_obeys_retry_after(fake: FakeLocalAuthority,
                                                             sender: ReferralSender) -> None:
    fake.set_mode("fail", retry_after_s=20)
    sleeps: list[float] = []
    outcome = deliver_with_retries(sender, payload(), endpoint(fake), max_attempts=3, base_s=1.0, max_s=15.0,
                                   sleep=sleeps.append)
    assert outcome.gave_up and outcome.attempts == 3 and outcome.result.cause == "http_503"
    assert sleeps == [15.0, 15.0]  # the authority's 20 s, within our 15 s cap
    fake.set_mode("reject")
    rejected = deliver_with_retries(sender, payload(), endpoint(fake), max_attempts=3, sleep=sleeps.append)
    assert rejected.result.is_rejected and rejected.attempts == 1 and not rejected.gave_up


def test_an_outage_then_recovery_delivers_each_referral_exactly_once_in_order(
        fake: FakeLocalAuthority, sender: ReferralSender) -> None:
    referrals = [payload(1, nhs_number=NHS_A), payload(2, nhs_number=NHS_B), payload(3, nhs_number=NHS_A)]
    fake.set_mode("down")
    naps = 0

    def sleep(_: float) -> None:  # the authority comes back during the third wait
        nonlocal naps
        naps += 1
        if naps == 3:
            fake.set_mode("ok")

    outcomes = [deliver_with_retries(sender, p, endpoint(fake), max_attempts=10, sleep=sleep) for p in referrals]
    assert all(o.result.is_accepted for o in outcomes)
    assert [d.referral_id for d in fake.deliveries()] == ["ref-0001", "ref-0002", "ref-0003"]
    assert [d.referral_id for d in fake.deliveries() if d.nhs_number == NHS_A] == ["ref-0001", "ref-0003"]
    assert len({o.result.reference for o in outcomes}) == 3


def test_backoff_grows_exponentially_within_the_cap() -> None:
    class Top(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return b

    ceilings = [next_attempt_delay(a, base_s=0.5, max_s=10.0, rng=Top()) for a in range(1, 8)]
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    rng = random.Random(1)
    for attempt in range(1, 30):
        assert 0.0 <= next_attempt_delay(attempt, base_s=2.0, max_s=60.0, rng=rng) <= min(60.0, 2.0 * 2 ** (attempt - 1))
    assert len({next_attempt_delay(5, rng=rng) for _ in range(20)}) > 1  # jittered
    assert next_attempt_delay(10_000, base_s=1.0, max_s=5.0, rng=Top()) == 5.0  # no overflow
    with pytest.raises(ValueError):
        next_attempt_delay(0)


# --- classification of answers the fake does not give ----------------------------------------------


@pytest.mark.parametrize(("status", "headers", "body", "expected"), [
    (200, {}, b'{"reference": "MASH-42"}', ("accepted", "MASH-42")),
    (201, {"Location": "https://la.example/fhir/Task/9/_history/1"}, b"", ("accepted", "https://la.example/fhir/Task/9")),
    (200, {}, (b'{"resourceType": "Bundle", "type": "transaction-response", "entry": ['
               b'{"response": {"status": "201", "location": "Patient/4/_history/1"}},'
               b'{"response": {"status": "201", "location": "Task/77/_history/1"}}]}'), ("accepted", "Task/77")),
    (202, {}, b"", ("accepted", None)),
    (409, {}, b'{"resourceType": "Task", "identifier": [{"system": "https://la.example/case", "value": "C-1"}]}',
     ("accepted", "C-1")),
    (409, {}, b"", ("retryable", None)),
    (429, {"Retry-After": "3"}, b"", ("retryable", None)),
    (408, {}, b"", ("retryable", None)),
    (500, {}, b"<html>oops</html>", ("retryable", None)),
    (403, {}, b"", ("rejected", None)),
    (302, {"Location": "https://elsewhere.example/"}, b"", ("rejected", None)),
    (400, {}, b'{"detail": "bad bundle"}', ("rejected", None)),
])
def test_classify_response(status: int, headers: dict[str, str], body: bytes, expected: tuple[str, str | None]
                           ) -> None:
    result = classify_response(status, httpx.Headers(headers), body)
    assert (result.status.value, result.reference) == expected
    assert result.http_status == status


def test_classify_exceptions() -> None:
    assert classify_exception(httpx.ConnectError("refused")).cause == "connect_error"
    assert classify_exception(httpx.ReadTimeout("slow")).is_retryable
    assert classify_exception(httpx.RemoteProtocolError("eof")).is_retryable
    assert classify_exception(httpx.UnsupportedProtocol("ftp")).is_rejected
    assert DeliveryResult.retryable("x").retry_after_s is None


# --- steering the fake over HTTP, and as its own process -------------------------------------------


def test_fake_is_steered_over_http(fake: FakeLocalAuthority, sender: ReferralSender) -> None:
    with FakeLAControl(fake.control_url) as control:
        control.set_mode("fail")
        assert sender.send(payload(), endpoint(fake)).cause == "http_503"
        control.set_mode("ok")
        assert sender.send(payload(), endpoint(fake)).is_accepted
        report = control.deliveries()
        assert report["received"] == 2 and report["posts_by_key"] == {"key-0001-6f1c2d": 2}
        assert [d["reference"] for d in report["deliveries"]] == ["FAKE-LA-000001"]
        with pytest.raises(httpx.HTTPStatusError):  # down for good would leave no way back
            control.set_mode("down")
        control.set_mode("down", down_for_s=0.3)
    wait_for(lambda: sender.send(payload(), endpoint(fake)).cause == "connect_error", 3)
    wait_for(lambda: sender.send(payload(), endpoint(fake)).is_accepted, 3)
    assert len(fake.deliveries()) == 1


def test_fake_with_a_control_port_goes_down_and_up_over_http(sender: ReferralSender) -> None:
    with FakeLocalAuthority(control_port=0) as fake, FakeLAControl(fake.control_url) as control:
        control.set_mode("down")
        wait_for(lambda: sender.send(payload(), endpoint(fake)).cause == "connect_error", 3)
        assert control.deliveries()["settings"]["mode"] == "down"
        control.set_mode("ok")
        assert sender.send(payload(), endpoint(fake)).is_accepted


def test_fake_refuses_a_request_without_an_idempotency_key(fake: FakeLocalAuthority) -> None:
    bundle = to_fhir_bundle(payload())
    response = httpx.post(fake.url, json=bundle, headers={"Content-Type": "application/fhir+json"})
    assert response.status_code == 400 and "Idempotency-Key" in response.text
    assert fake.deliveries() == []


def test_fake_la_command_runs_a_separate_process(sender: ReferralSender) -> None:
    assert _MODES == ", ".join(m.value for m in FakeMode)  # the help text keeps up with the modes
    port = free_port()
    code = "import typer; from integrations.local_authority.cli import fake_la_command; typer.run(fake_la_command)"
    process = subprocess.Popen([sys.executable, "-c", code, "--port", str(port), "--token", "t0k"],
                               cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        with FakeLAControl(f"http://127.0.0.1:{port}") as control:
            control.wait_ready(20)
            target = LocalAuthorityEndpoint(code=LA, url=f"http://127.0.0.1:{port}/referrals",
                                            token=SecretStr("t0k"))
            assert sender.send(payload(), target).reference == "FAKE-LA-000001"
            assert control.deliveries()["deliveries"][0]["referral_id"] == "ref-0001"
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0, err.decode()
    assert f"referrals at http://127.0.0.1:{port}/referrals" in err.decode()
