"""Browser tests: Playwright drives Debian's chromium against the real service process.

They need /usr/bin/chromium and the `playwright` package (never `playwright install`: no browser is
downloaded). Without them the tests are skipped with the reason, unless CI is set: then they fail.
They run on SQLite only, to keep CI time reasonable. Screenshots go to test-output/screenshots/.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ed_alerts.settings import Settings
from integrations.local_authority.fake_server import FakeLocalAuthority
from tests.conftest import _BACKENDS_USED, DATA, _migrated
from tests.e2e.service_process import ServiceProcess
from tests.referrals.conftest import LA_CODE, write_authorities

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-output" / "screenshots"
DOCS_SCREENSHOTS = REPO / "docs" / "screenshots"
LA_TOKEN = "fake-la-test-token-0123456789"  # what write_authorities configures


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a real browser (Playwright and Debian chromium)")


def _unavailable() -> str | None:
    if not CHROMIUM.exists():
        return f"no browser: Debian chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright; never `playwright install`)"
    return None


@pytest.fixture(params=["sqlite"])
def db_url(request: pytest.FixtureRequest, migrated_urls: dict[str, str]) -> str:
    """SQLite only: the browser walks the same code on both databases, and PostgreSQL is covered below it."""
    _BACKENDS_USED.add(request.param)
    return _migrated(request, request.param, migrated_urls)


@pytest.fixture(scope="module")
def fake_la() -> Iterator[FakeLocalAuthority]:
    with FakeLocalAuthority(token=LA_TOKEN) as fake:
        yield fake


@pytest.fixture
def authorities_file(tmp_path: Path, fake_la: FakeLocalAuthority) -> Path:
    fake_la.reset(settings=True)
    return write_authorities(tmp_path / "las.yaml", fake_la.url)


@pytest.fixture
def settings(db_url: str, authorities_file: Path) -> Settings:
    return Settings(database_url=db_url, sites_file=DATA / "sites.yaml", mllp_enabled=False,
                    default_trust="UNREGISTERED", scheduler_enabled=False, local_authorities_file=authorities_file,
                    default_local_authority=LA_CODE)


@pytest.fixture
def service(services: Any, db_url: str, tmp_path: Path, authorities_file: Path) -> Iterator[ServiceProcess]:
    """`ed-alerts serve` with the scheduler on (it delivers referrals to the fake authority)."""
    proc = ServiceProcess(db_url, DATA / "sites.yaml", tmp_path / "service.log",
                          ED_ALERTS_SCHEDULER_ENABLED="true", ED_ALERTS_OUTBOX_DRAIN_INTERVAL_S="1",
                          ED_ALERTS_ESCALATION_INTERVAL_S="5", ED_ALERTS_DELIVERY_BASE_DELAY_S="1",
                          ED_ALERTS_LOCAL_AUTHORITIES_FILE=str(authorities_file),
                          ED_ALERTS_DEFAULT_LOCAL_AUTHORITY=LA_CODE,
                          ED_ALERTS_SECRET_KEY=secrets.token_urlsafe(48))
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Module-scoped: Playwright's sync API keeps an event loop running in this thread while it is
    open, and later tests (asyncio.run) must not find one."""
    reason = _unavailable()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run under CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Shots:
    """Screenshots of each page: test-output/screenshots/ (ignored by git); some also docs/screenshots/."""

    def __init__(self) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.taken: list[Path] = []

    def take(self, page: Any, name: str, *, docs: bool = False, full_page: bool = True) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        self.taken.append(path)
        # The README's screenshots change only when asked, so a test run leaves the tree clean.
        if docs and os.environ.get("ED_ALERTS_UPDATE_SCREENSHOTS"):
            DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS_SCREENSHOTS / f"{name}.png")
        return path


@pytest.fixture
def shots() -> Shots:
    return Shots()
