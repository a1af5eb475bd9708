"""CP-IS fixtures: a fake CP-IS on 127.0.0.1 for every test here, and settings that point at it.

`settings` (and so `services`, `client`, `make_user` from tests/conftest.py) has CP-IS enabled with
short timeouts and retries, so tests of slowness and failure finish in seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ed_alerts.services import Services
from ed_alerts.settings import Settings
from integrations.cpis.fake_server import FakeCpis
from tests.conftest import DATA, _wipe


@pytest.fixture
def fake_cpis() -> Iterator[FakeCpis]:
    with FakeCpis() as fake:
        yield fake


def cpis_settings(db_url: str, fake: FakeCpis, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url, "sites_file": DATA / "sites.yaml", "mllp_enabled": False,
        "default_trust": "UNREGISTERED", "scheduler_enabled": False,
        "cpis_enabled": True, "cpis_url": fake.base_url, "cpis_timeout_s": 1.0, "cpis_max_attempts": 2,
        "cpis_retry_delay_s": 0.2, "cpis_poll_interval_s": 0.1,
    }
    return Settings(**{**values, **overrides})


@pytest.fixture
def settings(db_url: str, fake_cpis: FakeCpis) -> Settings:
    return cpis_settings(db_url, fake_cpis)


@pytest.fixture
def build_services(db_url: str, fake_cpis: FakeCpis) -> Iterator[Callable[..., Services]]:
    """`build_services(**settings)`: a service container on a wiped database with other settings
    (CP-IS disabled, say). Use instead of `services`, not with it."""
    built: list[Services] = []

    def build(**overrides: Any) -> Services:
        svc = Services.build(cpis_settings(db_url, fake_cpis, **overrides))
        _wipe(svc.db)
        built.append(svc)
        return svc

    yield build
    for svc in built:
        _wipe(svc.db)
        svc.close()
