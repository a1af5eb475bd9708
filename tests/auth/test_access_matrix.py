"""Every route against every role and scope: allowed, 403 or 401, from one table.

`EXPECTED` names, for each route the app serves, who may use it: PUBLIC, or the set of subjects
allowed. Every other signed-in subject must get 403 and the anonymous caller 401 (on a public route,
everyone is allowed). "Allowed" means neither 401 nor 403 (and no server error): a 404 or 422 for a
well-formed request still means the gate opened.

Three checks keep the table honest:
- every route declares a policy (`require(...)` or `public()`), or the test lists the ones that do not;
- every route has a row here, and every row a route;
- each row holds, for each subject, on SQLite and PostgreSQL, with real data behind the path params.

To cover a new route: declare its policy, add its row to EXPECTED, and, if it has path parameters or
needs a body, add them to `params` / REQUESTS.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ed_alerts.app import create_app
from ed_alerts.auth.policy import Policy, iter_routes
from ed_alerts.ingest.models import ContentType, Transport
from ed_alerts.ingest.pipeline import ingest
from ed_alerts.services import Services
from ed_alerts.settings import Settings
from tests.auth.helpers import HL7_TYPE, adt_for, csrf_from_page
from tests.web.access_table import NURSES, OF_THE_ATTENDANCE, WEB_EXPECTED, WEB_REQUESTS, web_params

PUBLIC = "public"

# Who asks. Scope in brackets: the data below has one attendance, at RGT01 (trust RGT, an ED).
SUBJECTS = {
    "anonymous": None,
    "ed_nurse_a": ("ed_nurse", {"sites": ["RGT01"]}),  # site A: the attendance's site
    "ed_nurse_b": ("ed_nurse", {"sites": ["RGT02"]}),  # site B of the same trust: not the attendance's
    "sg_nurse": ("safeguarding_nurse", {"trust": "RGT"}),
    "sg_nurse_other": ("safeguarding_nurse", {"trust": "RYC"}),  # another trust (the ambulance service)
    "icb_lead": ("icb_lead", {}),
    "integration": ("integration", {"api_token": True}),  # a feed token for any sender
    "integration_b": ("integration", {"sites": ["RGT02"], "api_token": True}),  # a feed token for RGT02 only
    "admin": ("admin", {}),
}
SIGNED_IN = frozenset(SUBJECTS) - {"anonymous"}
FEEDS = frozenset({"integration", "integration_b"})

EXPECTED: dict[tuple[str, str], str | frozenset[str]] = {
    # framework and operations
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,  # probes: the orchestrator does not sign in; no identifiers in the answer
    # sign-in
    ("POST", "/auth/token"): PUBLIC,
    ("GET", "/auth/me"): SIGNED_IN,
    ("GET", "/signin"): PUBLIC,
    ("POST", "/signin"): PUBLIC,
    ("POST", "/signout"): PUBLIC,
    # users: admins only
    ("GET", "/api/users"): frozenset({"admin"}),
    ("POST", "/api/users"): frozenset({"admin"}),
    ("POST", "/api/users/{name}/disable"): frozenset({"admin"}),
    ("POST", "/api/users/{name}/api-token"): frozenset({"admin"}),
    # ingest: feeds; a feed scoped to RGT02 may not send or replay RGT01's messages
    ("POST", "/hl7v2"): frozenset({"integration"}),
    ("POST", "/fhir"): frozenset({"integration"}),  # the body's sender is unreadable: a scoped feed is refused
    ("POST", "/fhir/Encounter"): frozenset({"integration"}),
    ("GET", "/api/messages"): FEEDS,  # a scoped feed sees its own senders' messages only
    ("POST", "/api/messages/{message_id}/replay"): frozenset({"integration"}),
    ("GET", "/api/feeds"): FEEDS,
    # attendances: the ED nurse of the site, the safeguarding nurse of the trust
    ("GET", "/api/attendances/{attendance_id}"): frozenset({"ed_nurse_a", "sg_nurse"}),
    # decisions and referrals: nurses of the attendance; reviews and audits by its safeguarding nurse
    ("POST", "/api/decisions/{decision_id}"): OF_THE_ATTENDANCE,
    ("POST", "/api/decisions/{decision_id}/review"): frozenset({"sg_nurse"}),
    ("GET", "/api/referrals/{referral_id}"): OF_THE_ATTENDANCE,
    ("PATCH", "/api/referrals/{referral_id}"): OF_THE_ATTENDANCE,
    ("POST", "/api/referrals/{referral_id}/not-required"): OF_THE_ATTENDANCE,
    ("POST", "/api/referrals/{referral_id}/send"): OF_THE_ATTENDANCE,
    ("POST", "/api/referrals/{referral_id}/review"): frozenset({"sg_nurse"}),
    ("POST", "/api/referrals/{referral_id}/audit"): frozenset({"sg_nurse"}),
    # the queue and escalations: safeguarding nurses, each seeing their own scope's items
    ("GET", "/api/queue"): frozenset({"sg_nurse", "sg_nurse_other"}),
    ("GET", "/api/escalations"): frozenset({"sg_nurse", "sg_nurse_other"}),
    ("GET", "/api/patients/{patient_id}/timeline"): frozenset({"sg_nurse"}),
    ("GET", "/api/audit/verify"): frozenset({"sg_nurse", "sg_nurse_other", "admin"}),  # no identifiers
    # FHIR: searches are open to nurses and filtered to their scope; a read is scoped to the attendance
    ("GET", "/fhir/metadata"): PUBLIC,
    ("GET", "/fhir/Flag"): NURSES,
    ("POST", "/fhir/Flag/_search"): NURSES,
    ("GET", "/fhir/Flag/{flag_id}"): OF_THE_ATTENDANCE,
    ("GET", "/fhir/{resource_type}"): PUBLIC,  # answers "not supported"
    ("GET", "/fhir/{resource_type}/{resource_id}"): PUBLIC,
    # CDS Hooks: discovery is public; cards need a signed-in nurse and show only their scope
    ("GET", "/cds-services"): PUBLIC,
    ("POST", "/cds-services/{service_id}"): NURSES,
    # metrics: no identifiers, counts only; restrict to the monitoring network in deployment
    ("GET", "/metrics"): PUBLIC,
    # the ISB 1594 violence data set for the community safety partnership: no identifiers, ICB lead only
    ("GET", "/api/violence-export"): frozenset({"icb_lead"}),
}


@dataclass
class World:
    attendance_id: int
    message_id: int
    headers: dict[str, dict[str, str]]
    signin_name: str
    signin_password: str
    extra: dict[str, str] = field(default_factory=dict)  # referral, decision, child of the attendance

    def params(self) -> dict[str, str]:
        return {"attendance_id": str(self.attendance_id), "message_id": str(self.message_id),
                "name": "victim", "service_id": "ed-alerts-patient-view", "resource_type": "Patient",
                "resource_id": "1", **self.extra}


def _signin_form(world: World, client: TestClient) -> dict[str, Any]:
    token = csrf_from_page(client)
    return {"data": {"username": world.signin_name, "password": world.signin_password, "csrf_token": token}}


def _signout_form(world: World, client: TestClient) -> dict[str, Any]:
    return {"data": {"csrf_token": csrf_from_page(client)}}


Request = Callable[[World, TestClient], dict[str, Any]]
REQUESTS: dict[tuple[str, str], Request] = {
    ("POST", "/auth/token"): lambda w, _: {"data": {"username": w.signin_name, "password": w.signin_password}},
    ("POST", "/signin"): _signin_form,
    ("POST", "/signout"): _signout_form,
    ("POST", "/api/users"): lambda w, _: {"json": {"name": "new-nurse", "role": "ed_nurse", "sites": ["RGT01"],
                                                   "password": "a long synthetic password"}},
    ("POST", "/hl7v2"): lambda w, _: {"content": adt_for("RGT01", "MATRIX"), "headers": HL7_TYPE},
    ("POST", "/fhir"): lambda w, _: {"content": b"{}", "headers": {"content-type": "application/fhir+json"}},
    ("POST", "/fhir/Encounter"): lambda w, _: {"content": b"{}",
                                               "headers": {"content-type": "application/fhir+json"}},
    ("GET", "/api/violence-export"): lambda w, _: {"params": {"from": "2026-01-01", "to": "2026-01-31"}},
}


# The web pages' rows and path parameters live beside their tests.
EXPECTED.update(WEB_EXPECTED)
REQUESTS.update(WEB_REQUESTS)


def _app_routes() -> dict[tuple[str, str], Policy | None]:
    # Building the app touches no database: routes and policies are known before the lifespan.
    app = create_app(Settings(mllp_enabled=False, scheduler_enabled=False))
    return {(r.method, r.path): r.policy for r in iter_routes(app)}


def test_every_route_declares_who_may_use_it() -> None:
    undeclared = sorted(f"{m} {p}" for (m, p), policy in _app_routes().items() if policy is None)
    assert not undeclared, ("routes without a declared policy (add require(...) or public()):\n  "
                            + "\n  ".join(undeclared))


def test_the_table_has_a_row_for_every_route() -> None:
    served = set(_app_routes())
    missing = sorted(f"{m} {p}" for m, p in served - set(EXPECTED))
    stale = sorted(f"{m} {p}" for m, p in set(EXPECTED) - served)
    assert not missing, "routes missing from EXPECTED in this test:\n  " + "\n  ".join(missing)
    assert not stale, "rows in EXPECTED for routes the app no longer serves:\n  " + "\n  ".join(stale)


def test_the_table_agrees_with_the_declared_policies() -> None:
    """Public in the table exactly when public in the code; no ICB lead on anything identifiable."""
    problems = []
    for key, policy in _app_routes().items():
        if key not in EXPECTED or policy is None:
            continue
        if (EXPECTED[key] == PUBLIC) != policy.public:
            problems.append(f"{key}: table says {EXPECTED[key]!r}, code says {policy.describe()}")
        if policy.identifiable and EXPECTED[key] != PUBLIC and "icb_lead" in EXPECTED[key]:
            problems.append(f"{key}: identifiable, yet the table lets an ICB lead in")
        if policy.identifiable and policy.roles and any(r.value == "icb_lead" for r in policy.roles):
            problems.append(f"{key}: identifiable, yet declared for icb_lead")
    assert not problems, "\n".join(problems)


@pytest.fixture
def world(services: Services, make_user, auth_headers) -> World:
    outcome = ingest(services.ingest, adt_for("RGT01", "WORLD1"), ContentType.HL7V2, Transport.HTTP)
    assert outcome.accepted and outcome.attendance_ids
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    for subject, spec in SUBJECTS.items():
        if spec is None:
            continue
        role, options = spec
        user = make_user(role, name=subject.replace("_", "-"), **options)
        headers[subject] = ({"Authorization": f"Bearer {user.api_token}"} if user.api_token
                            else auth_headers(user))
    make_user("integration", name="victim", api_token=True)
    signer = make_user("ed_nurse", sites=["RGT01"], name="signer")
    return World(attendance_id=outcome.attendance_ids[0], message_id=outcome.message_id, headers=headers,
                 signin_name=signer.name, signin_password=signer.password,
                 extra=web_params(services, outcome.attendance_ids[0]))


def test_every_route_answers_every_subject_as_the_table_says(client: TestClient, world: World) -> None:
    served = {(r.method, r.path) for r in iter_routes(client.app)}  # type: ignore[arg-type]
    failures: list[str] = []
    checked = 0
    for (method, path), allowed in EXPECTED.items():
        if (method, path) not in served:
            continue  # reported by test_the_table_has_a_row_for_every_route
        try:
            url = path.format(**world.params())
        except KeyError as exc:
            failures.append(f"{method} {path}: no value for path parameter {exc} in World.params()")
            continue
        for subject in SUBJECTS:
            client.cookies.clear()  # every request stands alone: no session left by the one before
            spec = REQUESTS.get((method, path), lambda w, c: {})(world, client)
            spec["headers"] = {**spec.get("headers", {}), **world.headers[subject]}
            res = client.request(method, url, **spec)
            client.cookies.clear()
            expected = _expected(allowed, subject)
            got = "allowed" if res.status_code not in (401, 403) else res.status_code
            checked += 1
            if res.status_code >= 500 or got != expected:
                failures.append(f"{method} {path} as {subject}: expected {expected}, got {res.status_code} "
                                f"{_brief(res.text)}")
            if res.status_code == 401 and "www-authenticate" not in res.headers:
                failures.append(f"{method} {path} as {subject}: 401 without WWW-Authenticate")
            if res.status_code == 403 and not _has_reason(res):
                failures.append(f"{method} {path} as {subject}: 403 without a reason")
    assert checked > 0
    assert not failures, f"{len(failures)} of {checked} answers differ from the table:\n" + "\n".join(failures)


def _expected(allowed: str | frozenset[str], subject: str) -> str | int:
    if allowed == PUBLIC or subject in allowed:
        return "allowed"
    return 401 if subject == "anonymous" else 403


def _has_reason(res: Any) -> bool:
    ctype = res.headers.get("content-type", "")
    if "json" in ctype:
        body = res.json()
        return bool(body.get("detail") or body.get("issue"))
    return len(res.content) > 0  # an HL7 AR acknowledgement, or a page, with the reason in it


def _brief(text: str) -> str:
    try:
        return json.dumps(json.loads(text))[:200]
    except ValueError:
        return text[:200].replace("\r", " ")
