"""/metrics after a known sequence of messages, /readyz when ready and when not, and /healthz."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import prometheus_client
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, select, text

from ed_alerts.db.migrate import upgrade
from ed_alerts.db.session import Database
from ed_alerts.flags.models import Decision
from ed_alerts.ingest.models import ContentType, Transport
from ed_alerts.ingest.pipeline import IngestOutcome, ingest
from ed_alerts.operations.readiness import readiness
from ed_alerts.services import Services
from ed_alerts.settings import Settings
from ed_alerts.synthetic import Generator, adt
from tests.conftest import DATA

HL7_TYPE = {"content-type": "x-application/hl7-v2+er7"}


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    res = client.get("/metrics")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(res.text) for s in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def hl7(make_user, auth_headers) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Headers for posting HL7 v2 as an integration user (the ingest routes require one)."""
    return {**HL7_TYPE, **auth_headers(make_user("integration"))}


def test_metrics_count_a_known_sequence_of_messages(client: TestClient, services: Services,
                                                    hl7: dict[str, str]) -> None:
    gen = Generator(seed=71)
    child = gen.child(age=14)
    good = adt(gen.visit(child, "RGT01", kind="assault"), control_id="M1")
    bad = b"MSH|^~\\&|EDIS|RGT01|X|Y|20260101||ADT^A04|M2|P|2.4\rPID|1"  # no visit, no identifiers
    assert client.post("/hl7v2", content=good, headers=hl7).status_code == 200
    assert client.post("/hl7v2", content=good, headers=hl7).status_code == 200  # a resend: duplicate
    assert client.post("/hl7v2", content=bad, headers=hl7).status_code == 422
    other = adt(gen.visit(gen.child(age=12), "NOT-IN-REGISTRY", kind="plain"), control_id="M3")
    assert ingest(services.ingest, other, ContentType.HL7V2, Transport.MLLP).accepted
    with services.db.session() as session:  # one referral decision past its due time
        decision = session.scalars(select(Decision)).first()
        assert decision is not None
        decision.due_at = datetime.now(UTC) - timedelta(hours=1)

    m = scrape(client)
    rgt01 = {"feed": "RGT01", "transport": "http"}
    assert value(m, "ed_alerts_messages_received_total", **rgt01) == 3
    assert value(m, "ed_alerts_messages_processed_total", **rgt01) == 1
    assert value(m, "ed_alerts_messages_duplicate_total", **rgt01) == 1
    assert value(m, "ed_alerts_messages_quarantined_total", **rgt01) == 1
    elsewhere = {"feed": "unregistered", "transport": "mllp"}  # senders outside the registry: one label
    assert value(m, "ed_alerts_messages_received_total", **elsewhere) == 1
    assert value(m, "ed_alerts_messages_processed_total", **elsewhere) == 1
    assert value(m, "ed_alerts_ingest_duration_seconds_count", transport="http") == 3
    assert value(m, "ed_alerts_ingest_duration_seconds_count", transport="mllp") == 1
    assert value(m, "ed_alerts_ingest_duration_seconds_sum", transport="http") > 0
    # Read from the database at scrape time.
    assert value(m, "ed_alerts_flags", rule="assault", status="active") == 1
    assert value(m, "ed_alerts_messages_in_quarantine", feed="RGT01") == 1
    assert value(m, "ed_alerts_decisions_overdue") == 1
    assert value(m, "ed_alerts_decisions_pending") >= 1
    assert value(m, "ed_alerts_database_scrape_ok") == 1
    assert value(m, "ed_alerts_rule_pack_rules", digest=services.pack.digest[:12]) == len(services.pack.rules)

    text = client.get("/metrics").text
    for identifier in [child.nhs, child.mrn, child.family, child.given, child.postcode]:
        assert identifier and identifier not in text


def test_each_service_has_its_own_registry(services: Services) -> None:
    assert services.metrics.registry is not prometheus_client.REGISTRY
    default_names = {m.name for m in prometheus_client.REGISTRY.collect()}
    assert not any(name.startswith("ed_alerts") for name in default_names)


def test_a_failing_observer_never_changes_the_answer(services: Services) -> None:
    calls: list[IngestOutcome] = []

    def broken(outcome: IngestOutcome, transport: str, seconds: float) -> None:
        calls.append(outcome)
        raise RuntimeError("metrics backend down")

    services.ingest.observers.insert(0, broken)
    gen = Generator(seed=72)
    out = ingest(services.ingest, adt(gen.visit(gen.child(), "RGT01"), control_id="OB1"), ContentType.HL7V2,
                 Transport.FILE)
    assert out.accepted and calls == [out]
    # The observers after the broken one still ran.
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in services.metrics.registry.collect() for s in f.samples}
    assert value(samples, "ed_alerts_messages_processed_total", feed="RGT01", transport="file") == 1


def test_scrape_survives_an_unreachable_database(client: TestClient, services: Services,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def down() -> None:
        raise ConnectionError("database down")

    monkeypatch.setattr(services.db, "session", down)
    m = scrape(client)
    assert value(m, "ed_alerts_database_scrape_ok") == 0
    assert ("ed_alerts_flags", ()) not in m  # no stale figures: only the counters and the failure


# --- probes --------------------------------------------------------------------------------------------

def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_ok(client: TestClient) -> None:
    res = client.get("/readyz")
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["status"] == "ready" and body["failing"] == []
    assert [c["name"] for c in body["checks"]] == ["database", "migrations", "rules"]  # MLLP disabled


def test_readyz_reports_a_database_behind_the_migrations(tmp_path: Path) -> None:
    from ed_alerts.app import create_app

    url = f"sqlite:///{tmp_path / 'behind.db'}"
    upgrade(url)
    engine = create_engine(url)
    with engine.begin() as conn:  # as if a migration had been added and not yet applied here
        conn.execute(text("DELETE FROM alembic_version"))  # one row per head
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('an_older_revision')"))
    engine.dispose()
    settings = Settings(database_url=url, sites_file=DATA / "sites.yaml", mllp_enabled=False,
                        scheduler_enabled=False)
    services = Services.build(settings)
    try:
        with TestClient(create_app(settings, services=services)) as client:
            res = client.get("/readyz")
        assert res.status_code == 503
        body = res.json()
        assert body["status"] == "not ready" and body["failing"] == ["migrations"]
        detail = {c["name"]: c["detail"] for c in body["checks"]}["migrations"]
        assert "database at an_older_revision" in detail and "ed-alerts db upgrade" in detail
    finally:
        services.close()


def test_readyz_reports_mllp_that_stopped_listening(settings: Settings, services: Services) -> None:
    from ed_alerts.app import create_app

    with_mllp = settings.model_copy(update={"mllp_enabled": True, "mllp_port": 0})
    services.settings = with_mllp
    app = create_app(with_mllp, services=services)
    with TestClient(app) as client:
        ready = client.get("/readyz").json()
        assert ready["status"] == "ready"
        assert {c["name"]: c["ok"] for c in ready["checks"]}["mllp"] is True
        client.portal.call(app.state.mllp.stop)
        res = client.get("/readyz")
        assert res.status_code == 503 and res.json()["failing"] == ["mllp"]


def test_readiness_when_the_database_is_unreachable(services: Services) -> None:
    unreachable = Database.from_settings(Settings(
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"))
    try:
        checks = {c.name: c for c in readiness(unreachable, services.pack, mllp_enabled=False, mllp=None)}
    finally:
        unreachable.dispose()
    assert not checks["database"].ok and "unreachable" in checks["database"].detail
    assert not checks["migrations"].ok and checks["rules"].ok
