"""Drive a fake local authority over HTTP: how a test steers `ed-alerts fake-la` in another process."""

from __future__ import annotations

from typing import Any

from ..loopback.client import FakeControlClient


class FakeLAControl(FakeControlClient):
    """`control_url` is the fake's base URL (or its control port's): http://127.0.0.1:8090."""

    def __init__(self, control_url: str, *, timeout_s: float = 5.0) -> None:
        super().__init__(control_url, name="fake local authority", timeout_s=timeout_s)

    def set_mode(self, mode: str, **settings: Any) -> dict[str, Any]:
        """mode ok/fail/slow/reject/down; settings: delay_s, fail_next, reject_reason, replay_status,
        retry_after_s, down_for_s."""
        return self._post("/_control", {"mode": mode, **settings})

    def fail_next(self, count: int) -> dict[str, Any]:
        return self._post("/_control", {"fail_next": count})

    def deliveries(self, *, bundles: bool = False) -> dict[str, Any]:
        """{"received": n, "posts_by_key": {...}, "deliveries": [...in acceptance order], "settings": {...}}"""
        return self._get("/_deliveries", params={"bundles": str(bundles).lower()})

    def reset(self) -> dict[str, Any]:
        return self._post("/_reset", None)
