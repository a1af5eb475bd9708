"""Metrics are read as an integration user (what Prometheus would use); health checks are public."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient


@pytest.fixture(autouse=True)
def signed_in(client: TestClient, make_user: Callable, auth_headers: Callable) -> None:
    client.headers.update(auth_headers(make_user("integration")))
