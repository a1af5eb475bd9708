"""The one way to get a database session: `Database.session()`, a unit of work that commits at the end.

Services flush, never commit: the boundary that opened the session (a request, the MLLP handler,
a scheduler job, a CLI command) owns the transaction.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ed_alerts.db.engine import make_engine
from ed_alerts.db.process_lock import ProcessWriteLock
from ed_alerts.settings import Settings

# Set in a thread that does background work (the ingest worker): on SQLite its transactions wait
# while a foreground one (an MLLP ACK, a web request) is waiting, so background load never holds up
# an acknowledgement or a page for more than one of its own transactions.
BACKGROUND: ContextVar[bool] = ContextVar("ed_alerts_db_background", default=False)


T = TypeVar("T")


class WriteGate:
    """One SQLite transaction at a time in this process, foreground first.

    Every SQLite session begins IMMEDIATE, i.e. takes the database's write lock. Left to SQLite,
    waiters poll with sleeps of up to 100 ms (its busy handler), and a thread that commits and
    begins again at once wins nearly every time: under a busy ingest worker an ACK could wait for
    hundreds of milliseconds. Here waiters queue on a condition instead and are woken on release,
    background ones only when no foreground one waits. Re-entrant per thread, like the lock it
    stands in front of (a nested session then meets SQLite's own busy timeout, as before). With
    `across` (a database file), the thread that holds the gate also takes the lock that orders the
    processes writing to that file (process_lock.py): the service and its ingest worker process.
    """

    def __init__(self, across: ProcessWriteLock | None = None) -> None:
        self._across = across
        self._cond = threading.Condition()
        self._owner: int | None = None
        self._owner_background = False
        self._depth = 0
        self._foreground_waiting = 0
        self._foreground_left = 0.0  # monotonic time the last foreground transaction ended

    def wait_for_quiet(self, quiet_s: float, at_most_s: float) -> None:
        """For background work about to start a transaction: wait until no foreground transaction
        has run or waited for `quiet_s`, but never longer than `at_most_s` (so a sender that never
        pauses slows the background down without stopping it). This process's foreground is
        waited for on the condition; other processes' (with `across`) in what is left of the time."""
        deadline = time.monotonic() + at_most_s
        with self._cond:
            while True:
                now = time.monotonic()
                busy = self._foreground_waiting or (self._owner is not None and not self._owner_background)
                quiet_for = now - self._foreground_left
                if (not busy and quiet_for >= quiet_s) or now >= deadline:
                    break
                self._cond.wait(min(deadline - now, quiet_s if not busy else at_most_s))
        if self._across is not None:
            self._across.quiet(quiet_s, deadline)

    def close(self) -> None:
        if self._across is not None:
            self._across.close()

    @contextmanager
    def held(self, background: bool) -> Iterator[None]:
        me = threading.get_ident()
        with self._cond:
            if self._owner != me:
                if not background:
                    self._foreground_waiting += 1
                try:
                    while self._owner is not None or (background and self._foreground_waiting):
                        self._cond.wait()
                finally:
                    if not background:
                        self._foreground_waiting -= 1
                self._owner = me
                self._owner_background = background
            self._depth += 1
            first = self._depth == 1
        try:
            if first and self._across is not None:
                self._across.acquire(background)  # outside the condition: it may wait for another process
            yield
        finally:
            if first and self._across is not None:
                self._across.release(background)
            with self._cond:
                self._depth -= 1
                if self._depth == 0:
                    if not self._owner_background:
                        self._foreground_left = time.monotonic()
                    self._owner = None
                    self._cond.notify_all()


def transaction_state(session: Session, key: str, factory: Callable[[], T]) -> T:
    """State kept in `session.info` for as long as the session's current transaction: a commit or
    rollback (a new transaction) starts it afresh. Outside a transaction: a throwaway value."""
    transaction = session.get_transaction()
    if transaction is None:
        return factory()
    held = session.info.get(key)
    if held is None or held[0] is not transaction:
        held = session.info[key] = (transaction, factory())
    return held[1]  # type: ignore[no-any-return]


class Database:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._factory = sessionmaker(engine, expire_on_commit=False)
        self._gate = (WriteGate(ProcessWriteLock.for_database(engine.url.database))
                      if engine.dialect.name == "sqlite" else None)

    def yield_to_foreground(self, quiet_s: float = 0.002, at_most_s: float = 0.05) -> None:
        """Background work calls this between units of work: on SQLite it lets a stream of
        acknowledgements run back to back (see WriteGate.wait_for_quiet); elsewhere it returns."""
        if self._gate is not None:
            self._gate.wait_for_quiet(quiet_s, at_most_s)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(make_engine(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous))

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends normally, rolled back on an exception."""
        if self._gate is None:
            with self._transaction() as session:
                yield session
            return
        with self._gate.held(BACKGROUND.get()), self._transaction() as session:
            yield session

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with self._factory() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def dbapi_cursor(self) -> Iterator[Any]:
        """A DB-API cursor in a transaction of its own, committed when the block ends normally.

        Only for the statement on the MLLP acknowledgement path (ed_alerts/ingest/inbound_insert.py),
        where SQLAlchemy's per-statement cost is most of the work. Same pool, connection settings and
        write gate as `session()`; services use `session()`.
        """
        gate = self._gate.held(BACKGROUND.get()) if self._gate is not None else nullcontext()
        with gate:
            connection = self.engine.raw_connection()
            try:
                cursor = connection.cursor()
                if self._gate is not None:  # SQLite is in autocommit mode (engine.py): begin here
                    cursor.execute("BEGIN IMMEDIATE")
                try:
                    yield cursor
                    connection.commit()
                except BaseException:
                    connection.rollback()
                    raise
                finally:
                    cursor.close()
            finally:
                connection.close()  # back to the pool

    def dispose(self) -> None:
        self.engine.dispose()
        if self._gate is not None:
            self._gate.close()
