"""The base of the clients that steer a fake in another process over HTTP (its /_control-style
routes): a JSON POST and GET, waiting for the process to listen, and closing as a context manager.
Each fake's client adds the calls for its own routes."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any, Self

import httpx


class FakeControlClient:
    """`base_url` is where the fake's control routes answer; `name` says which fake in errors."""

    def __init__(self, base_url: str, *, name: str, timeout_s: float = 5.0) -> None:
        self._name = name
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)

    def wait_ready(self, timeout_s: float = 10.0) -> None:
        """Until /_health answers: the fake process has started listening."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if self._client.get("/_health").status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet: the process is still starting
            if time.monotonic() > deadline:
                raise TimeoutError(f"the {self._name} did not start listening")
            time.sleep(0.05)

    def _get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        response = self._client.get(path, params=params)
        response.raise_for_status()
        return response.json()

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
