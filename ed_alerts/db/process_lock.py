"""One SQLite writer at a time across processes, acknowledgements first: two lock files by the database.

The service process (the MLLP listener, the pages) and its ingest worker process write to one SQLite
file. Left to SQLite, a writer that finds the database locked polls with sleeps of up to 100 ms, and
the worker, committing and beginning again at once, would win nearly every time: acknowledgements
would wait behind its whole backlog. So each transaction first takes an exclusive `flock` on
`<db>-gate`, where the kernel queues waiters and wakes one at each release (no polling). Foreground
transactions (an acknowledgement's store: WriteGate's urgent ones) hold a shared lock on
`<db>-intent` while they wait and run; every other transaction (background) looks there before it
queues, and waits while any foreground one waits or runs; the ingest worker also waits until none
has for a moment (`quiet`). The kernel drops a dead process's locks, so a killed process never
leaves the database locked. Threads within a process are ordered by `WriteGate` (session.py) before
they get here, so only one thread per process ever holds these locks.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

_POLL_S = 0.0005


class ProcessWriteLock:
    def __init__(self, database: Path) -> None:
        self._paths = (f"{database}-gate", f"{database}-intent")
        self._fds: tuple[int, int] | None = None  # opened at first use, closed by close()

    @property
    def _gate(self) -> int:
        return self._open()[0]

    @property
    def _intent(self) -> int:
        return self._open()[1]

    def _open(self) -> tuple[int, int]:
        if self._fds is None:
            gate, intent = (os.open(path, os.O_RDWR | os.O_CREAT, 0o600) for path in self._paths)
            self._fds = (gate, intent)
        return self._fds

    @classmethod
    def for_database(cls, database: str | None) -> ProcessWriteLock | None:
        """None for an in-memory database: no other process can open it."""
        if not database or database == ":memory:" or database.startswith("file::memory:"):
            return None
        return cls(Path(database))

    def acquire(self, background: bool) -> None:
        if background:
            # A foreground transaction that arrives just after this waits for one background
            # transaction at most, as within a process.
            while self._foreground_active():
                time.sleep(_POLL_S)
        else:
            fcntl.flock(self._intent, fcntl.LOCK_SH)
        fcntl.flock(self._gate, fcntl.LOCK_EX)

    def release(self, background: bool) -> None:
        fcntl.flock(self._gate, fcntl.LOCK_UN)
        if not background:
            fcntl.flock(self._intent, fcntl.LOCK_UN)

    def quiet(self, quiet_s: float, deadline: float) -> None:
        """For background work between transactions: return at once when no foreground transaction
        (of any process) waits or runs; otherwise wait until none has for `quiet_s`, but not past
        `deadline` (time.monotonic()). One check, no sleep, in the common case: a worker thread
        calls this for every message, after WriteGate has waited for its own process."""
        if not self._foreground_active():
            return
        free_since: float | None = None
        while (now := time.monotonic()) < deadline:
            if self._foreground_active():
                free_since = None
            elif free_since is None:
                free_since = now
            elif now - free_since >= quiet_s:
                return
            time.sleep(_POLL_S)

    def _foreground_active(self) -> bool:
        try:
            fcntl.flock(self._intent, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(self._intent, fcntl.LOCK_UN)
        return False

    def close(self) -> None:
        """Close the files (releasing any lock); the next transaction opens them again."""
        fds, self._fds = self._fds, None
        for fd in fds or ():
            try:
                os.close(fd)
            except OSError:
                pass
