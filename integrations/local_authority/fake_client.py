"""Drive a fake local authority over HTTP: how a test steers `ed-alerts fake-la` in another process."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any, Self

import httpx


class FakeLAControl:
    """`control_url` is the fake's base URL (or its control port's): http://127.0.0.1:8090."""

    def __init__(self, control_url: str, *, timeout_s: float = 5.0) -> None:
        self._client = httpx.Client(base_url=control_url.rstrip("/"), timeout=timeout_s)

    def set_mode(self, mode: str, **settings: Any) -> dict[str, Any]:
        """mode ok/fail/slow/reject/down; settings: delay_s, fail_next, reject_reason, replay_status,
        retry_after_s, down_for_s."""
        return self._post("/_control", {"mode": mode, **settings})

    def fail_next(self, count: int) -> dict[str, Any]:
        return self._post("/_control", {"fail_next": count})

    def deliveries(self, *, bundles: bool = False) -> dict[str, Any]:
        """{"received": n, "posts_by_key": {...}, "deliveries": [...in acceptance order], "settings": {...}}"""
        response = self._client.get("/_deliveries", params={"bundles": str(bundles).lower()})
        response.raise_for_status()
        return response.json()

    def reset(self) -> dict[str, Any]:
        return self._post("/_reset", None)

    def wait_ready(self, timeout_s: float = 10.0) -> None:
        """Until /_health answers: the fake process has started listening."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if self._client.get("/_health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("the fake local authority did not start listening")
            time.sleep(0.05)

    def _post(self, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        response = self._client.post(path, json=body)
        response.raise_for_status()
        return response.json()

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
