"""The fake CP-IS over real HTTP on 127.0.0.1: what it answers, what it records, how it is steered,
and `ed-alerts fake-cpis` as a separate process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import nhs_number
import pytest
from fhir.resources.R4B.bundle import Bundle
from pydantic import SecretStr

from integrations.cpis import CpisClient, CpisEndpoint, CpisOutcome, PlanType
from integrations.cpis.cli import _MODES
from integrations.cpis.fake_client import FakeCpisControl
from integrations.cpis.fake_server import FakeCpis
from integrations.cpis.fake_state import (
    EXAMPLESHIRE,
    FakeChild,
    FakeMode,
    FakePlan,
    default_children,
    synthetic_nhs_number,
)

REPO = Path(__file__).resolve().parents[2]
ON_PLAN, LOOKED_AFTER, ENDED, UNBORN, BOTH = (synthetic_nhs_number(i) for i in range(5))
UNKNOWN = synthetic_nhs_number(20)


@pytest.fixture
def fake() -> Iterator[FakeCpis]:
    with FakeCpis() as server:
        yield server


@pytest.fixture
def client(fake: FakeCpis) -> Iterator[CpisClient]:
    with CpisClient(CpisEndpoint(base_url=fake.base_url, timeout_s=2)) as cpis:
        yield cpis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_seeded_children_have_valid_synthetic_nhs_numbers() -> None:
    numbers = [c.nhs_number for c in default_children()]
    assert len(set(numbers)) == len(numbers) == 5
    assert all(n.startswith("999") and nhs_number.is_valid(n) for n in numbers)
    assert synthetic_nhs_number(7) == synthetic_nhs_number(7) != synthetic_nhs_number(8)


def test_the_fake_answers_what_it_holds(client: CpisClient) -> None:
    assert client.lookup(ON_PLAN).plans[0].plan_type is PlanType.CHILD_PROTECTION_PLAN
    assert client.lookup(LOOKED_AFTER).plans[0].plan_type is PlanType.LOOKED_AFTER
    ended = client.lookup(ENDED).plans[0]
    assert ended.end is not None and ended.end < date.today() and not ended.is_current(date.today())
    assert client.lookup(UNBORN).plans[0].plan_type is PlanType.UNBORN_CHILD_PROTECTION_PLAN
    assert {p.plan_type for p in client.lookup(BOTH).plans} == {PlanType.CHILD_PROTECTION_PLAN,
                                                               PlanType.LOOKED_AFTER}
    assert client.lookup(UNKNOWN).outcome is CpisOutcome.NOT_FOUND


def test_the_fake_answers_valid_r4_searchsets(fake: FakeCpis) -> None:
    params = {"patient:identifier": f"https://fhir.nhs.uk/Id/nhs-number|{BOTH}"}
    response = httpx.get(f"{fake.base_url}/CareTeam", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(response.json())
    assert bundle.type == "searchset" and bundle.total == 2
    entries = bundle.entry or []
    assert [e.resource.get_resource_type() for e in entries if e.resource] == ["CareTeam", "CareTeam"]
    assert all(e.search is not None and e.search.mode == "match" for e in entries)


def test_the_fake_records_each_search_with_its_headers(fake: FakeCpis, client: CpisClient) -> None:
    client.lookup(ON_PLAN, correlation_id="ed-alerts-cpis-1")
    client.lookup(UNKNOWN, unscheduled=False)
    first, second = fake.requests()
    assert first.nhs_number == ON_PLAN and first.access_event == "true" and first.status == 200
    assert first.correlation_id == "ed-alerts-cpis-1" and first.trace_id == first.request_id
    assert second.access_event == "false"
    assert [r.nhs_number for r in fake.access_events()] == [ON_PLAN]  # a scheduled query is silent


def test_the_fake_refuses_bad_searches_like_cp_is(fake: FakeCpis) -> None:
    url = f"{fake.base_url}/CareTeam"
    bad_number = httpx.get(url, params={"patient:identifier": "https://fhir.nhs.uk/Id/nhs-number|9999900101"})
    assert bad_number.status_code == 400 and "INVALID_SEARCH_DATA" in bad_number.text
    assert httpx.get(url).status_code == 400
    bad_header = httpx.get(url, params={"patient:identifier": f"https://fhir.nhs.uk/Id/nhs-number|{ON_PLAN}"},
                           headers={"IsUnscheduledAccessEvent": "maybe"})
    assert bad_header.status_code == 400 and "PRECONDITION_FAILED" in bad_header.text
    assert [r.status for r in fake.requests()] == [400, 400, 400]


def test_a_token_fake_refuses_callers_without_it() -> None:
    with FakeCpis(token="t0k") as fake:
        without = CpisClient(CpisEndpoint(base_url=fake.base_url)).lookup(ON_PLAN)
        with_it = CpisClient(CpisEndpoint(base_url=fake.base_url, token=SecretStr("t0k"))).lookup(ON_PLAN)
        assert without.cause == "auth" and with_it.outcome is CpisOutcome.FOUND
        assert [r.authorised for r in fake.requests()] == [False, True]


def test_fail_next_then_recovers(fake: FakeCpis, client: CpisClient) -> None:
    fake.state.configure(fail_next=2, retry_after_s=3)
    first, second, third = (client.lookup(ON_PLAN) for _ in range(3))
    assert first.cause == second.cause == "http_503" and first.retry_after_s == 3
    assert third.outcome is CpisOutcome.FOUND


def test_seeding_and_steering_over_http(fake: FakeCpis, client: CpisClient) -> None:
    start = date.today() - timedelta(days=3)
    with FakeCpisControl(fake.base_url) as control:
        control.seed(UNKNOWN, [{"plan_type": "looked_after", "start": start.isoformat()}],
                     authority_name="Sampleton City Council (fake)", label="seeded")
        assert client.lookup(UNKNOWN).plans[0].local_authority == "Sampleton City Council (fake)"
        control.set_mode("fail")
        assert client.lookup(UNKNOWN).cause == "http_503"
        control.set_mode("ok")
        seen = control.requests()
        assert seen["received"] == 2 and seen["requests"][0]["nhs_number"] == UNKNOWN
        assert any(c["label"] == "seeded" for c in seen["children"])
        assert control.reset()["received"] == 0
        with pytest.raises(httpx.HTTPStatusError):
            control.seed("9999900101", [])  # not a valid NHS number


def test_down_and_back_up(fake: FakeCpis, client: CpisClient) -> None:
    fake.set_mode(FakeMode.DOWN)
    assert client.lookup(ON_PLAN).cause == "connect_error"
    fake.come_up()
    assert client.lookup(ON_PLAN).outcome is CpisOutcome.FOUND


def test_a_seeded_child_replaces_the_default(fake: FakeCpis, client: CpisClient) -> None:
    fake.seed(FakeChild(ON_PLAN, (FakePlan(PlanType.LOOKED_AFTER, date.today()),), EXAMPLESHIRE))
    (plan,) = client.lookup(ON_PLAN).plans
    assert plan.plan_type is PlanType.LOOKED_AFTER and plan.end is None


def test_fake_cpis_command_runs_a_separate_process() -> None:
    assert _MODES == ", ".join(m.value for m in FakeMode if m is not FakeMode.DOWN)
    port = free_port()
    code = "import typer; from integrations.cpis.cli import fake_cpis_command; typer.run(fake_cpis_command)"
    process = subprocess.Popen([sys.executable, "-c", code, "--port", str(port), "--token", "t0k"],
                               cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        with FakeCpisControl(base) as control:
            control.wait_ready(20)
            result = CpisClient(CpisEndpoint(base_url=base, token=SecretStr("t0k"))).lookup(ON_PLAN)
            assert result.outcome is CpisOutcome.FOUND
            assert control.requests()["requests"][0]["access_event"] == "true"
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0, err.decode()
    assert f"FHIR base {base}" in err.decode() and ON_PLAN in err.decode()
