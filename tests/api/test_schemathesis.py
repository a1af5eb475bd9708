"""Schemathesis against our own OpenAPI document: no 5xx, and every answer matches what the document says.

The document is the app's own (`create_app(...).openapi()`, what `/openapi.json` serves), read when the
module is collected, so a route added anywhere is fuzzed without touching this file. Requests go
in-process (ASGI) to one app per module on a throwaway SQLite database: the document and the answers do
not depend on the backend, so PostgreSQL adds time and no finding. The database holds two flagged
attendances, a pending decision and a drafted referral, so that small generated ids reach real records.

Each operation runs once per role, signed in with that role's bearer token: between them the roles may
use every operation, and each also meets the 401/403s of the routes it may not use, which must be
documented like any other answer. Checked: no 5xx, status code, content type and body as documented.

Small for CI (ED_ALERTS_FUZZ_EXAMPLES, default 5 generated requests per operation and role, plus
schemathesis' explicit examples and coverage cases); `make fuzz` runs 200, and ED_ALERTS_FUZZ_RANDOM=1
draws new requests instead of the same derandomised ones each run (the convention of tests/fuzz).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi as schemathesis_asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ed_alerts.app import create_app
from ed_alerts.audit.service import Actor
from ed_alerts.auth import tokens
from ed_alerts.db.migrate import upgrade
from ed_alerts.services import Services
from ed_alerts.settings import Settings
from ed_alerts.synthetic import Generator
from ed_alerts.users.models import User
from ed_alerts.users.service import issue_api_token
from tests.conftest import _BACKENDS_USED, DATA
from tests.referrals.factory import complete, flagged_attendance, refer_all

EXAMPLES = int(os.environ.get("ED_ALERTS_FUZZ_EXAMPLES", "5"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("ED_ALERTS_FUZZ_RANDOM"),
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.filter_too_much])
# What the issue asks of every answer: no server error, and the status code, media type and body as
# documented. Schemathesis' other default checks test other properties (that a random id is accepted,
# that a resource deleted stays deleted, ...), which a refusal or a 404 for a made-up id would fail.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass(frozen=True)
class SignIn:
    trust: str | None = None
    sites: tuple[str, ...] = ()
    api_token: bool = False  # a feed token (integration) rather than a signed JWT


# Roles that, between them, may use every operation: the safeguarding nurse reaches attendances,
# decisions, referrals, the queue, FHIR and CDS; the integration user the feeds and message health;
# the admin the users; the ICB lead the aggregates. The scope fits the seeded data (RGT01 belongs to
# trust RGT). The ED nurse is left out: its routes are the safeguarding nurse's, with a narrower scope.
ROLES: dict[str, SignIn] = {
    "safeguarding_nurse": SignIn(trust="RGT"),
    "integration": SignIn(api_token=True),
    "admin": SignIn(),
    "icb_lead": SignIn(),
}
# Not fuzzed (its answers are the integration user's, narrowed), but its scope check reads the path
# before the route validates it.
SCOPED_FEED = SignIn(sites=("RGT02",), api_token=True)

# POST /hl7v2 takes ER7 text: send generated strings as they are.
schemathesis.serializer.alias("x-application/hl7-v2+er7", "text/plain")

# Building the app touches no database: routes and their document are known before the lifespan.
# Nothing is excluded. Outside the document, and so not fuzzed here: the web pages (a mounted
# sub-application of HTML forms; tests/web) and the FHIR catch-all that answers 404 for other resource
# types. /metrics is in, as text/plain.
schema = schemathesis.openapi.from_dict(create_app(Settings(mllp_enabled=False, scheduler_enabled=False)).openapi())


@dataclass(frozen=True)
class World:
    app: FastAPI
    services: Services
    headers: dict[str, dict[str, str]]


def _seed(services: Services) -> None:
    """Records behind ids 1 and 2, so that generated path parameters find something to act on."""
    gen = Generator(seed=907)
    flagged_attendance(services, gen, kind="group_assault")  # a pending decision
    referral_id = refer_all(services, flagged_attendance(services, gen, kind="assault"))
    complete(services, referral_id)  # a drafted referral, complete enough to send


def _sign_in(services: Services, role: str, how: SignIn) -> dict[str, str]:
    # A name no generated path parameter will hit, so that fuzzing /api/users/{name}/disable cannot
    # disable the very user the run signs in as.
    name = f"fuzz-{role.replace('_', '-')}{'-scoped' if how.sites else ''}-7f3a9c"
    with services.db.session() as session:
        user = User(name=name, role=role, sites=list(how.sites), trust=how.trust, password_hash="!unusable",
                    active=True)
        session.add(user)
        session.flush()
        if how.api_token:
            return {"Authorization": f"Bearer {issue_api_token(session, name, actor=Actor.system('tests'))}"}
        token, _ = tokens.issue(services.settings, user_id=user.id, name=name, role=role)
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    url = f"sqlite:///{tmp_path_factory.mktemp('schemathesis') / 'ed_alerts.db'}"
    upgrade(url)
    settings = Settings(database_url=url, sites_file=DATA / "sites.yaml", mllp_enabled=False,
                        default_trust="UNREGISTERED", scheduler_enabled=False)
    services = Services.build(settings)
    _BACKENDS_USED.add("sqlite")  # for the run's last line, which names the databases used
    try:
        _seed(services)
        headers = {role: _sign_in(services, role, how) for role, how in ROLES.items()}
        headers["scoped_feed"] = _sign_in(services, "integration", SCOPED_FEED)
        yield World(app=create_app(settings, services=services), services=services, headers=headers)
    finally:
        # Schemathesis starts the app's lifespan itself and keeps it for the process: end it before
        # the database closes under it.
        schemathesis_asgi.shutdown_lifespans()
        services.close()


@pytest.mark.parametrize("role", sorted(ROLES))
@schema.parametrize()
@FUZZ
def test_api_answers_as_documented(case: schemathesis.Case, world: World, role: str) -> None:
    case.call_and_validate(app=world.app, headers=world.headers[role], checks=CHECKS)


# What the long run found, kept as plain cases so that the small CI run holds them too: numbers past a
# BIGINT reached the database from path ids (and from the scope checks that read them before the route
# validates), and "²" (a digit to str.isdigit, not to int) reached int() in FHIR search paging.
HUGE = "9223372036854775808"  # 2**63
REFUSED_NOT_FAILED = [
    ("safeguarding_nurse", "GET", f"/api/attendances/{HUGE}"),
    ("safeguarding_nurse", "GET", f"/api/referrals/{HUGE}"),
    ("safeguarding_nurse", "POST", f"/api/referrals/{HUGE}/send"),
    ("safeguarding_nurse", "GET", f"/api/patients/{HUGE}/timeline"),
    ("safeguarding_nurse", "GET", "/api/attendances/%C2%B2"),
    ("safeguarding_nurse", "GET", "/fhir/Flag?_count=%C2%B2"),
    ("safeguarding_nurse", "GET", "/fhir/Flag?_offset=%C2%B2"),
    ("safeguarding_nurse", "GET", f"/fhir/Flag?_offset={HUGE}0"),
    ("integration", "POST", f"/api/messages/{HUGE}/replay"),
    ("scoped_feed", "POST", f"/api/messages/{HUGE}/replay"),
    ("scoped_feed", "POST", "/api/messages/abc/replay"),
]


@pytest.mark.parametrize(("role", "method", "url"), REFUSED_NOT_FAILED)
def test_numbers_out_of_range_are_refused_not_server_errors(world: World, role: str, method: str,
                                                            url: str) -> None:
    with TestClient(world.app, raise_server_exceptions=False) as client:
        res = client.request(method, url, headers=world.headers[role])
    assert res.status_code in (400, 404, 422), (res.status_code, res.text[:200])
