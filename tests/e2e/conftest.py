"""Fixtures that start the real service process against the test database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ed_alerts.services import Services
from tests.conftest import DATA
from tests.e2e.service_process import ServiceProcess


@pytest.fixture
def service(services: Services, db_url: str, tmp_path: Path) -> Iterator[ServiceProcess]:
    proc = ServiceProcess(db_url, DATA / "sites.yaml", tmp_path / "service.log")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()
