"""The CP-IS adapter alone: the request it builds, how it reads answers (tests/data/cpis) and how it
classifies errors and timeouts. HTTP is mocked here (httpx.MockTransport) except where the point is a
real socket (timeouts, refused connections), for which the fake CP-IS runs on 127.0.0.1.

All data is synthetic: NHS numbers from the 999 test range, invented authorities.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle
from pydantic import SecretStr

from integrations.cpis import CpisClient, CpisEndpoint, CpisOutcome, PlanType
from integrations.cpis.codes import NHS_NUMBER_SYSTEM, SNOMED
from integrations.cpis.fake_server import FakeCpis
from integrations.cpis.fake_state import synthetic_nhs_number
from integrations.cpis.parse import CpisAnswerError, parse_search_bundle

DATA = Path(__file__).resolve().parents[1] / "data" / "cpis"
NHS = "9999900100"  # the child of searchset_cpp.json


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


def mock_client(handler: Callable[[httpx.Request], httpx.Response], **endpoint: Any) -> CpisClient:
    settings = {"base_url": "https://cpis.example.nhs.uk/FHIR/R4", **endpoint}
    return CpisClient(CpisEndpoint(**settings), httpx.Client(transport=httpx.MockTransport(handler)))


def answering(status: int, body: Any, headers: dict[str, str] | None = None) -> CpisClient:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return mock_client(lambda _: httpx.Response(status, content=content, headers=headers or {}))


# --- the request ------------------------------------------------------------------------------------


def test_request_searches_by_nhs_number_and_sends_the_access_event_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=load("searchset_none.json"))

    client = mock_client(handler, token=SecretStr("tok-123"), asid="200000000999", ods_code="RGT")
    result = client.lookup(NHS, correlation_id="ed-alerts-cpis-7")
    request = seen[0]
    assert request.method == "GET" and request.url.path == "/FHIR/R4/CareTeam"
    assert request.url.params["patient:identifier"] == f"{NHS_NUMBER_SYSTEM}|{NHS}"
    assert b"%7C" in request.url.query  # the pipe is percent-encoded, as NHS FHIR APIs ask
    headers = request.headers
    assert headers["IsUnscheduledAccessEvent"] == "true"
    assert uuid.UUID(headers["TraceID"]) and headers["X-Request-ID"] == headers["TraceID"]
    assert headers["X-Correlation-ID"] == "ed-alerts-cpis-7"
    assert headers["Authorization"] == "Bearer tok-123"
    assert headers["NHSD-ASID"] == "200000000999" and headers["NHSD-End-User-Organisation-ODS"] == "RGT"
    assert headers["Accept"].startswith("application/fhir+json")
    assert result.trace_id == headers["TraceID"]


def test_each_attempt_has_its_own_trace_id_and_a_scheduled_query_says_false() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=load("searchset_none.json"))

    client = mock_client(handler)
    client.lookup(NHS)
    client.lookup(NHS, unscheduled=False)
    assert seen[0].headers["TraceID"] != seen[1].headers["TraceID"]
    assert seen[1].headers["IsUnscheduledAccessEvent"] == "false"
    assert "Authorization" not in seen[0].headers and "X-Correlation-ID" not in seen[0].headers


@pytest.mark.parametrize("bad", ["9999900101", "123", "", "999 990 0100x"])
def test_an_nhs_number_failing_modulus_11_is_never_searched(bad: str) -> None:
    seen: list[httpx.Request] = []
    client = mock_client(lambda r: seen.append(r) or httpx.Response(200))  # type: ignore[func-returns-value]
    with pytest.raises(ValueError, match="Modulus 11"):
        client.lookup(bad)
    assert seen == []


def test_spaces_in_a_valid_nhs_number_are_dropped() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=load("searchset_none.json"))

    mock_client(handler).lookup("999 990 0100")
    assert seen[0].url.params["patient:identifier"].endswith("|9999900100")


def test_endpoint_refuses_bad_urls_and_hides_the_token() -> None:
    with pytest.raises(ValueError):
        CpisEndpoint(base_url="ftp://cpis.example")
    with pytest.raises(ValueError):
        CpisEndpoint(base_url="https://cpis.example/FHIR?x=1")
    endpoint = CpisEndpoint(base_url="https://cpis.example/FHIR/R4/", token=SecretStr("s3cret"))
    assert endpoint.search_url == "https://cpis.example/FHIR/R4/CareTeam" and endpoint.is_https
    assert "s3cret" not in repr(endpoint)


# --- reading answers --------------------------------------------------------------------------------


def test_a_child_protection_plan_is_read_with_its_dates_authority_and_numbers() -> None:
    result = answering(200, load("searchset_cpp.json")).lookup(NHS)
    assert result.outcome is CpisOutcome.FOUND and result.cause == "ok" and result.http_status == 200
    (plan,) = result.plans
    assert plan.plan_type is PlanType.CHILD_PROTECTION_PLAN
    assert (plan.code, plan.system) == ("342191000000101", SNOMED)
    assert (plan.start, plan.end) == (date(2026, 2, 1), date(2027, 2, 1))
    assert plan.local_authority == "Exampleshire County Council" and plan.local_authority_ods == "X9A"
    assert (plan.emergency_phone, plan.office_phone) == ("01632 960001", "01632 960002")
    assert plan.is_current(date(2026, 11, 26)) and not plan.is_current(date(2027, 2, 2))
    assert Bundle.model_validate(load("searchset_cpp.json"))  # the sample is valid R4


def test_looked_after_and_an_ended_plan_are_both_kept() -> None:
    plans = parse_search_bundle(load("searchset_lac_and_cpp.json"), "9999900119")
    assert [p.plan_type for p in plans] == [PlanType.LOOKED_AFTER, PlanType.CHILD_PROTECTION_PLAN]
    looked_after, ended = plans
    assert looked_after.start == date(2025, 9, 14)
    assert looked_after.local_authority == "Testborough Borough Council"
    assert ended.status == "inactive" and ended.end == date(2026, 5, 31)
    assert not ended.is_current(date(2026, 11, 26))
    assert ended.office_phone is None and ended.emergency_phone == "01632 960001"


def test_no_record_is_not_found() -> None:
    result = answering(200, load("searchset_none.json")).lookup("9999900127")
    assert result.outcome is CpisOutcome.NOT_FOUND and result.plans == () and result.answered


def test_a_legacy_plan_type_and_an_included_organisation_are_understood() -> None:
    (plan,) = parse_search_bundle(load("searchset_legacy_plan_type.json"), "9999900135")
    assert plan.plan_type is PlanType.CHILD_PROTECTION_PLAN and plan.code == "CPPI"
    assert plan.local_authority == "Local Authority - Sampleton City Council"
    assert plan.local_authority_ods == "X9C"
    assert (plan.emergency_phone, plan.office_phone) == ("01632 960201", "01632 960202")


def test_an_unrecognised_category_is_kept_as_other_not_dropped() -> None:
    data = load("searchset_cpp.json")
    data["entry"][0]["resource"]["category"] = [{"coding": [{"system": SNOMED, "code": "1234567",
                                                             "display": "Something new"}]}]
    (plan,) = parse_search_bundle(data, NHS)
    assert plan.plan_type is PlanType.OTHER and plan.display == "Something new"


def test_entered_in_error_care_teams_are_ignored() -> None:
    data = load("searchset_cpp.json")
    data["entry"][0]["resource"]["status"] = "entered-in-error"
    assert parse_search_bundle(data, NHS) == []


def test_an_answer_about_another_child_is_refused_whole() -> None:
    result = answering(200, load("searchset_cpp.json")).lookup("9999900119")
    assert result.outcome is CpisOutcome.ERROR and result.cause == "subject_mismatch" and not result.retryable
    with pytest.raises(CpisAnswerError):  # also when the subject is an included Patient
        parse_search_bundle(load("searchset_legacy_plan_type.json"), NHS)


def test_a_bundle_claiming_results_without_care_teams_is_not_taken_as_nothing_found() -> None:
    data = load("searchset_none.json")
    data["total"] = 1
    result = answering(200, data).lookup("9999900127")
    assert result.outcome is CpisOutcome.ERROR and result.cause == "invalid_response"


@pytest.mark.parametrize("body, cause", [
    (b"<html>gateway</html>", "invalid_response"),
    ({"resourceType": "Bundle", "type": "collection"}, "invalid_response"),
    ({"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {"resourceType": "CareTeam",
                                                                              "period": "yesterday"}}]},
     "invalid_response"),
    ({"resourceType": "Patient"}, "invalid_response"),
])
def test_unreadable_answers_are_errors_without_quoting_them(body: Any, cause: str) -> None:
    result = answering(200, body).lookup(NHS)
    assert result.outcome is CpisOutcome.ERROR and result.cause == cause and not result.retryable
    assert "gateway" not in (result.reason or "")


# --- errors -----------------------------------------------------------------------------------------


def test_an_invalid_nhs_number_answer_is_final() -> None:
    result = answering(400, load("operationoutcome_invalid_nhs_number.json")).lookup(NHS)
    assert result.outcome is CpisOutcome.ERROR
    assert (result.cause, result.http_status) == ("invalid_search_data", 400)
    assert not result.retryable and "Invalid NHS number" in (result.reason or "")


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_final(status: int) -> None:
    result = answering(status, load("operationoutcome_access_denied.json")).lookup(NHS)
    assert result.cause == "auth" and not result.retryable


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_server_trouble_is_retryable_with_retry_after(status: int) -> None:
    outcome = {"resourceType": "OperationOutcome", "issue": []}
    result = answering(status, outcome, {"Retry-After": "7"}).lookup(NHS)
    assert result.cause == f"http_{status}" and result.retryable and result.retry_after_s == 7


def test_redirects_are_not_followed() -> None:
    result = answering(302, b"", {"Location": "https://elsewhere.example/CareTeam"}).lookup(NHS)
    assert result.cause == "redirect" and not result.retryable


def test_a_huge_answer_is_refused() -> None:
    result = answering(200, b"[" + b"0," * 600_000 + b"0]").lookup(NHS)
    assert result.cause == "answer_too_large"


@pytest.mark.parametrize("exc, cause", [
    (httpx.ConnectTimeout("x"), "connect_timeout"),
    (httpx.ReadTimeout("x"), "read_timeout"),
    (httpx.ConnectError("x"), "connect_error"),
    (httpx.RemoteProtocolError("x"), "remote_protocol_error"),
])
def test_network_failures_are_retryable_errors(exc: Exception, cause: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    result = mock_client(handler).lookup(NHS)
    assert result.outcome is CpisOutcome.ERROR and result.cause == cause and result.retryable
    assert result.trace_id


def test_an_answer_trickling_in_past_the_timeout_is_abandoned() -> None:
    def trickle() -> Iterator[bytes]:
        for _ in range(20):
            time.sleep(0.1)
            yield b" "

    client = mock_client(lambda _: httpx.Response(200, content=trickle()), timeout_s=0.3)
    started = time.monotonic()
    result = client.lookup(NHS)
    assert result.cause == "read_timeout" and result.retryable
    assert time.monotonic() - started < 1.5  # the budget is for the whole answer, not each chunk


# --- over a real socket -----------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeCpis]:
    with FakeCpis() as server:
        yield server


def test_a_slow_cp_is_is_abandoned_at_the_timeout(fake: FakeCpis) -> None:
    fake.set_mode("slow", delay_s=10)
    client = CpisClient(CpisEndpoint(base_url=fake.base_url, timeout_s=0.5))
    started = time.monotonic()
    result = client.lookup(synthetic_nhs_number(0))
    assert time.monotonic() - started < 5.0  # not the 10 s CP-IS would take
    assert result.cause == "read_timeout" and result.retryable
    client.close()


def test_a_cp_is_that_is_down_is_a_connect_error(fake: FakeCpis) -> None:
    url = fake.base_url
    fake.stop()
    result = CpisClient(CpisEndpoint(base_url=url, timeout_s=1)).lookup(synthetic_nhs_number(0))
    assert result.cause == "connect_error" and result.retryable


def test_logs_never_carry_the_nhs_number(fake: FakeCpis, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # httpx logs URLs at INFO and DEBUG: they hold the NHS number
    # The service quietens httpx to WARNING when it starts (ed_alerts/logs.py): an earlier test in
    # the same run may have done so, and this test is about what httpx would log if it were not.
    caplog.set_level(logging.DEBUG, logger="httpx")
    caplog.set_level(logging.DEBUG, logger="integrations.cpis")
    client = CpisClient(CpisEndpoint(base_url=fake.base_url, timeout_s=1))
    number = synthetic_nhs_number(0)
    result = client.lookup(number, correlation_id="ed-alerts-cpis-1")
    fake.set_mode("fail")
    client.lookup(number)
    assert result.outcome is CpisOutcome.FOUND
    ours = [r for r in caplog.records if r.name.startswith("integrations.cpis")]
    assert len(ours) == 2 and "outcome=found" in ours[0].getMessage()
    assert any(r.name == "httpx" for r in caplog.records)  # httpx did log each request, without the query
    # uvicorn.access is the fake CP-IS's own server (its access log is off, but pytest captures
    # non-propagating loggers anyway): it stands for NHS England's side, not ours.
    assert all(number not in r.getMessage() for r in caplog.records if r.name != "uvicorn.access")
    client.close()
