"""Failed sign-ins, limited per user name and per client address over a sliding window.

In memory and per process: enough for one replica, and what an attacker gets from several replicas
is the limit times their number. A deployment with many replicas should also limit at its proxy.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

Clock = Callable[[], float]


class SlidingWindow:
    """At most `limit` events per key in any `window_s` seconds."""

    def __init__(self, limit: int, window_s: float, clock: Clock = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()  # sign-ins are checked in worker threads

    def _recent(self, key: str, now: float) -> deque[float]:
        events = self._events.get(key)
        if events is None:
            return deque()
        while events and events[0] <= now - self.window_s:
            events.popleft()
        if not events:
            del self._events[key]
        return events

    def retry_after(self, key: str) -> float | None:
        """Seconds until another event is allowed, or None if one is allowed now."""
        with self._lock:
            now = self._clock()
            events = self._recent(key, now)
            if len(events) < self.limit:
                return None
            return events[0] + self.window_s - now

    def add(self, key: str) -> None:
        with self._lock:
            now = self._clock()
            self._recent(key, now)
            self._events.setdefault(key, deque()).append(now)
            if len(self._events) > 10_000:
                self._prune(now)

    def reset(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)

    def _prune(self, now: float) -> None:
        # Keys from a spray of user names would otherwise grow without bound.
        for key in [k for k, v in self._events.items() if not v or v[-1] <= now - self.window_s]:
            del self._events[key]


class SignInLimiter:
    def __init__(self, *, per_user: int, per_ip: int, window_s: float, clock: Clock = time.monotonic) -> None:
        self.users = SlidingWindow(per_user, window_s, clock)
        self.ips = SlidingWindow(per_ip, window_s, clock)
        self._clock = clock
        self._reported: dict[str, float] = {}
        self._lock = threading.Lock()

    def blocked(self, username: str, ip: str) -> float | None:
        waits = [w for w in (self.users.retry_after(_user_key(username)), self.ips.retry_after(ip)) if w]
        return max(waits) if waits else None

    def failed(self, username: str, ip: str) -> None:
        self.users.add(_user_key(username))
        self.ips.add(ip)

    def succeeded(self, username: str) -> None:
        # The address keeps its count: one good password must not reset a spray from that address.
        self.users.reset(_user_key(username))

    def first_refusal(self, username: str, ip: str, retry_after: float) -> bool:
        """Whether this refusal is the first of its block, so the audit log gets one entry per block
        rather than one per attempt (an attacker would otherwise fill the audit log at will)."""
        key = f"{_user_key(username)}\x00{ip}"
        with self._lock:
            now = self._clock()
            if self._reported.get(key, 0) > now:
                return False
            self._reported[key] = now + retry_after
            if len(self._reported) > 10_000:
                self._reported = {k: v for k, v in self._reported.items() if v > now}
            return True


def _user_key(username: str) -> str:
    return username.strip().lower()
