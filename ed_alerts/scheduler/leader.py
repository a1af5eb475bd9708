"""Scheduler leadership: with several service processes, only the holder of the lock runs the jobs.

PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) held on a dedicated connection,
outside the pool. It is released when that connection closes, including when the process dies, so
another process takes over at its next tick. The connection is checked at every tick; if it broke,
leadership is given up (the database already released the lock).

SQLite: an exclusive `flock` on a file next to the database. SQLite is the single-host embedded
mode, so a file lock covers every process that can open the database.

Leadership is belt and braces: the outbox claims with leases and `SKIP LOCKED`, and escalations have
a unique key, so even two leaders for a moment would not send a referral twice or escalate twice.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import threading
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

SCHEDULER_LOCK_KEY = 0x6564_7363  # "edsc": the advisory lock id for the scheduler leader


def node_id() -> str:
    """This process, for logs and audit details: which instance did the work."""
    return f"{socket.gethostname()}:{os.getpid()}"


class LeaderLock(Protocol):
    def is_leader(self) -> bool:
        """Hold (or try to take) leadership now; False means another process runs the jobs."""
        ...

    def release(self) -> None: ...


class PostgresLeaderLock:
    def __init__(self, url: str, key: int = SCHEDULER_LOCK_KEY) -> None:
        # Its own engine without a pool: the lock lives and dies with exactly one connection.
        self._engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        self._key = key
        self._conn: Connection | None = None
        self._mutex = threading.Lock()

    def is_leader(self) -> bool:
        with self._mutex:
            if self._conn is not None:
                try:
                    self._conn.execute(text("SELECT 1"))
                    return True
                except SQLAlchemyError:  # the server closed it, or it was invalidated: either way, gone
                    log.warning("scheduler leader connection lost; leadership given up")
                    self._close()
            try:
                conn = self._engine.connect()
                got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                        {"key": self._key}).scalar())
            except DBAPIError as exc:
                log.warning("cannot reach the database for the scheduler lock: %s", type(exc).__name__)
                return False
            if not got:
                conn.close()
                return False
            self._conn = conn
            log.info("this process (%s) is the scheduler leader", node_id())
            return True

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except SQLAlchemyError:
                pass  # already broken; the server released the lock with the session
            self._conn = None

    def release(self) -> None:
        with self._mutex:
            if self._conn is not None:
                try:
                    self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
                except DBAPIError:
                    pass  # closing the connection below releases it anyway
            self._close()
        self._engine.dispose()


class FileLeaderLock:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: IO[bytes] | None = None
        self._mutex = threading.Lock()

    def is_leader(self) -> bool:
        with self._mutex:
            if self._file is not None:
                return True
            handle = self._path.open("ab")
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                return False
            self._file = handle
            return True

    def release(self) -> None:
        with self._mutex:
            if self._file is not None:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
                self._file.close()
                self._file = None


class AlwaysLeader:
    """An in-memory SQLite database belongs to one process: it is always the leader."""

    def is_leader(self) -> bool:
        return True

    def release(self) -> None:
        return None


def leader_lock_for(database_url: str) -> LeaderLock:
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return PostgresLeaderLock(database_url)
    if url.database and url.database != ":memory:":
        return FileLeaderLock(Path(url.database).with_suffix(".scheduler.lock"))
    return AlwaysLeader()
