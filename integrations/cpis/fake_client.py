"""Drive a fake CP-IS over HTTP: how a test or a developer steers `ed-alerts fake-cpis` in another process."""

from __future__ import annotations

from typing import Any

from ..loopback.client import FakeControlClient


class FakeCpisControl(FakeControlClient):
    """`base_url` is the fake's base URL, e.g. http://127.0.0.1:8095."""

    def __init__(self, base_url: str, *, timeout_s: float = 5.0) -> None:
        super().__init__(base_url, name="fake CP-IS", timeout_s=timeout_s)

    def set_mode(self, mode: str, **settings: Any) -> dict[str, Any]:
        """mode ok/slow/fail/down; settings: delay_s, fail_next, retry_after_s, down_for_s (down needs it)."""
        return self._post("/_control", {"mode": mode, **settings})

    def fail_next(self, count: int) -> dict[str, Any]:
        return self._post("/_control", {"fail_next": count})

    def seed(self, nhs_number: str, plans: list[dict[str, Any]], **authority: Any) -> dict[str, Any]:
        """plans: [{"plan_type": "child_protection_plan", "start": "2026-01-01", "end": "2027-01-01"}];
        authority: authority_name, authority_ods, emergency_phone, office_phone, label."""
        return self._post("/_children", {"nhs_number": nhs_number, "plans": plans, **authority})

    def requests(self) -> dict[str, Any]:
        """{"received": n, "requests": [...], "settings": {...}, "children": [...]}"""
        return self._get("/_requests")

    def reset(self) -> dict[str, Any]:
        return self._post("/_reset", None)
