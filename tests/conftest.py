"""Shared fixtures: a migrated database on each backend (SQLite always, PostgreSQL when reachable).

PostgreSQL tests run against a throwaway database created for this run and dropped at its end.
Under CI (CI=true) an unreachable PostgreSQL is an error, not a skip: a green run must mean both.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text

from ed_alerts.audit import triggers
from ed_alerts.db.migrate import upgrade
from ed_alerts.db.models import Base
from ed_alerts.db.session import Database
from ed_alerts.ingest.pipeline import IngestContext
from ed_alerts.services import Services
from ed_alerts.settings import Settings
from ed_alerts.sites.registry import SiteRegistry

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

DATA = Path(__file__).parent / "data"
PG_ADMIN_URL = os.environ.get("ED_ALERTS_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
_BACKENDS_USED: set[str] = set()
_PG_PROBLEM: list[str] = []


def _pg_available() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "not available"
        _PG_PROBLEM.append(f"{type(exc).__name__}: {exc}".splitlines()[0])
        return False


def pytest_report_header(config: pytest.Config) -> list[str]:
    pg = _pg_available()
    return [f"ed-alerts test databases: sqlite (file, WAL); postgresql: "
            f"{'available at ' + PG_ADMIN_URL if pg else 'NOT available: ' + '; '.join(_PG_PROBLEM)}"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    used = ", ".join(sorted(_BACKENDS_USED)) or "none"
    terminalreporter.write_line(f"ed-alerts: database backends used by this run: {used}")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required under CI but not reachable: {_PG_PROBLEM}")
        pytest.skip(f"PostgreSQL not reachable: {_PG_PROBLEM}")
    name = f"ed_alerts_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'ed_alerts.db'}"


@pytest.fixture(scope="session")
def migrated_urls() -> dict[str, str]:
    return {}


def _migrated(request: pytest.FixtureRequest, backend: str, cache: dict[str, str]) -> str:
    if backend not in cache:
        url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
        upgrade(url)  # migrations are the schema: every run exercises them
        cache[backend] = url
    return cache[backend]


def _wipe(db: Database) -> None:
    dialect = db.engine.dialect.name
    with db.engine.begin() as conn:
        # The audit table refuses deletes by trigger; tests step around it, as only an owner could.
        if dialect == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            for statement in triggers.drop_statements(dialect):
                conn.execute(text(statement))
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
        if dialect == "sqlite":
            for statement in triggers.create_statements(dialect):
                conn.execute(text(statement))
        if db.engine.dialect.name == "postgresql":
            # Restart id sequences so that ids are predictable within each test.
            for table in Base.metadata.sorted_tables:
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), 1, false)"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, migrated_urls: dict[str, str]) -> str:
    url = _migrated(request, request.param, migrated_urls)
    _BACKENDS_USED.add(request.param)
    return url


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    # The scheduler stays off in tests unless a test is about it (tests/referrals drive jobs directly).
    # The ingest worker runs as a thread here (no process to spawn per test); tests/e2e start
    # `serve` with its default, a worker process, and tests/ingest/test_worker_process.py tests it.
    return Settings(database_url=db_url, sites_file=DATA / "sites.yaml", mllp_enabled=False,
                    default_trust="UNREGISTERED", scheduler_enabled=False, ingest_worker="thread")


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    svc = Services.build(settings)
    _wipe(svc.db)
    try:
        yield svc
    finally:
        _wipe(svc.db)
        svc.close()


@pytest.fixture
def db(services: Services) -> Database:
    return services.db


@pytest.fixture
def ctx(services: Services) -> IngestContext:
    return services.ingest


@pytest.fixture
def sites(services: Services) -> SiteRegistry:
    return services.sites


@pytest.fixture
def client(settings: Settings, services: Services) -> Iterator["TestClient"]:
    from fastapi.testclient import TestClient

    from ed_alerts.app import create_app

    with TestClient(create_app(settings, services=services)) as test_client:
        yield test_client


# --- signed-in users (ed_alerts/auth) ----------------------------------------------------------

TEST_PASSWORD = "synthetic-password-for-tests"


@dataclass(frozen=True)
class AppUser:
    id: int
    name: str
    role: str
    sites: tuple[str, ...]
    trust: str | None
    password: str
    api_token: str | None


@pytest.fixture(scope="session")
def _test_password_hash() -> str:
    from ed_alerts.auth.passwords import hash_password

    return hash_password(TEST_PASSWORD)  # argon2 is slow on purpose: once per run, not per user


@pytest.fixture
def make_user(services: Services, _test_password_hash: str) -> Callable[..., AppUser]:
    """`make_user(role, sites=[...], trust=..., name=..., api_token=False)`: a user in the database,
    with the password TEST_PASSWORD. Scope is not validated, so tests can build odd users too."""
    from ed_alerts.audit.service import Actor
    from ed_alerts.auth.roles import Role
    from ed_alerts.users.models import User
    from ed_alerts.users.service import issue_api_token

    counter = itertools.count(1)

    def make(role: str, *, sites: Iterable[str] = (), trust: str | None = None, name: str | None = None,
             api_token: bool = False) -> AppUser:
        role_value = Role(role).value
        user_name = (name or f"{role_value.replace('_', '-')}-{next(counter)}").lower()
        site_codes = tuple(sorted(s.upper() for s in sites))
        with services.db.session() as session:
            user = User(name=user_name, role=role_value, sites=list(site_codes), trust=trust,
                        password_hash=_test_password_hash, active=True)
            session.add(user)
            session.flush()
            token = issue_api_token(session, user_name, actor=Actor.system("tests")) if api_token else None
            return AppUser(id=user.id, name=user_name, role=role_value, sites=site_codes, trust=trust,
                           password=TEST_PASSWORD, api_token=token)

    return make


@pytest.fixture
def auth_headers(settings: Settings) -> Callable[[AppUser], dict[str, str]]:
    """`auth_headers(user)`: an Authorization header with a bearer token of ours for that user."""
    from ed_alerts.auth import tokens

    def headers(user: AppUser) -> dict[str, str]:
        token, _ = tokens.issue(settings, user_id=user.id, name=user.name, role=user.role)
        return {"Authorization": f"Bearer {token}"}

    return headers
