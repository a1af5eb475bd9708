"""These tests read as a safeguarding nurse of trust RGT, whose scope covers every site in the data."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient


@pytest.fixture(autouse=True)
def signed_in(client: TestClient, make_user: Callable, auth_headers: Callable) -> None:
    client.headers.update(auth_headers(make_user("safeguarding_nurse", trust="RGT")))
