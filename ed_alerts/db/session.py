"""The one way to get a database session: `Database.session()`, a unit of work that commits at the end.

Services flush, never commit: the boundary that opened the session (a request, the MLLP handler,
a scheduler job, a CLI command) owns the transaction.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ed_alerts.db.engine import make_engine
from ed_alerts.db.process_lock import ProcessWriteLock
from ed_alerts.settings import Settings

T = TypeVar("T")


class WriteGate:
    """One SQLite transaction at a time in this process: acknowledgements first, then in turn.

    Every SQLite session begins IMMEDIATE, i.e. takes the database's write lock. Left to SQLite,
    waiters poll with sleeps of up to 100 ms (its busy handler), and a thread that commits and
    begins again at once wins nearly every time: under a busy ingest worker an ACK could wait for
    hundreds of milliseconds. Here waiters queue instead, and the thread that releases the gate
    hands it to the next: an acknowledgement's store (`urgent`) before anything else waiting, every
    other transaction (pages, the ingest worker, jobs) in the order it came, so none of them can
    starve another. (Pages used to go before the worker too: a stream of audited reads then kept
    the worker waiting, flags came later, and the readers waiting for them read all the more.)
    Re-entrant per thread, like the lock it stands in front of (a nested session then meets SQLite's
    own busy timeout, as before). With `across` (a database file), the thread that holds the gate
    also takes the lock that orders the processes writing to that file (process_lock.py): the
    service and its ingest worker process.
    """

    def __init__(self, across: ProcessWriteLock | None = None) -> None:
        self._across = across
        self._lock = threading.Lock()
        self._quiet = threading.Condition(self._lock)  # wait_for_quiet's: told when an ACK's ends
        self._owner: int | None = None
        self._owner_urgent = False
        self._depth = 0
        self._urgent_left = 0.0  # monotonic time the last acknowledgement's transaction ended
        # Waiters, oldest first, each with a lock of its own that the releasing thread opens after
        # making it the owner: one thread woken per hand-over, not every waiter racing for the GIL.
        self._urgent: deque[tuple[int, threading.Lock]] = deque()
        self._others: deque[tuple[int, threading.Lock]] = deque()

    @property
    def idle(self) -> bool:
        """No transaction of this process holds the gate or waits for it. Read without the lock:
        a hint, which another thread may falsify a moment later."""
        return self._owner is None and not self._urgent and not self._others

    def wait_for_quiet(self, quiet_s: float, at_most_s: float) -> None:
        """For background work about to start a transaction: wait until no acknowledgement has
        been stored or waited for `quiet_s` (a sender's next message follows its ACK within moments),
        but never longer than `at_most_s` (so a sender that never pauses slows the background down
        without stopping it). This process's acknowledgements are waited for on a condition; other
        processes' (with `across`) in what is left of the time."""
        deadline = time.monotonic() + at_most_s
        with self._quiet:
            while True:
                now = time.monotonic()
                busy = bool(self._urgent) or (self._owner is not None and self._owner_urgent)
                quiet_for = now - self._urgent_left
                if (not busy and quiet_for >= quiet_s) or now >= deadline:
                    break
                self._quiet.wait(min(deadline - now, quiet_s if not busy else at_most_s))
        if self._across is not None:
            self._across.quiet(quiet_s, deadline)

    def close(self) -> None:
        if self._across is not None:
            self._across.close()

    @contextmanager
    def held(self, urgent: bool) -> Iterator[None]:
        me = threading.get_ident()
        turn: threading.Lock | None = None
        with self._lock:
            nested = self._owner == me
            if nested:
                self._depth += 1
            elif self.idle:
                self._owner, self._owner_urgent, self._depth = me, urgent, 1
            else:
                turn = threading.Lock()
                turn.acquire()
                (self._urgent if urgent else self._others).append((me, turn))
        if turn is not None:
            try:
                turn.acquire()  # opened by _hand_over, once it has made this thread the owner
            except BaseException:  # interrupted while queued (Ctrl-C in the main thread)
                with self._lock:
                    queue = self._urgent if urgent else self._others
                    if (me, turn) in queue:
                        queue.remove((me, turn))
                    elif self._owner == me:  # handed over meanwhile: pass it on
                        self._depth = 0
                        self._hand_over()
                raise
        try:
            if not nested and self._across is not None:
                self._across.acquire(background=not urgent)  # may wait for another process
            yield
        finally:
            if not nested and self._across is not None:
                self._across.release(background=not urgent)
            with self._lock:
                self._depth -= 1
                if self._depth == 0:
                    self._hand_over()

    def _hand_over(self) -> None:
        """With the lock held and the gate free: the next owner, acknowledgements first."""
        if self._owner_urgent:
            self._urgent_left = time.monotonic()
            self._quiet.notify_all()
        queue = self._urgent if self._urgent else self._others
        if not queue:
            self._owner = None
            return
        owner, turn = queue.popleft()
        self._owner, self._owner_urgent, self._depth = owner, queue is self._urgent, 1
        turn.release()


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

    def yield_to_acknowledgements(self, quiet_s: float = 0.002, at_most_s: float = 0.05) -> None:
        """Background work calls this between units of work: on SQLite it lets a stream of
        acknowledgements run back to back (see WriteGate.wait_for_quiet); elsewhere it returns."""
        if self._gate is not None:
            self._gate.wait_for_quiet(quiet_s, at_most_s)

    def writes_at_once(self) -> bool:
        """Whether a short write transaction begun now would queue behind no other: on SQLite, when no
        transaction of this process holds or waits for the write gate (a hint: another may take it
        meanwhile, and then this waits for that one transaction). False on PostgreSQL, where a commit
        waits for the server. Whether a SQLite commit waits for the disk is the caller's to weigh
        (ED_ALERTS_SQLITE_SYNCHRONOUS)."""
        return self._gate is not None and self._gate.idle

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
        with self._gate.held(urgent=False), self._transaction() as session:
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
        where SQLAlchemy's per-statement cost is most of the work. Same pool and connection settings
        as `session()`, and the write gate, where it goes before every other waiting transaction;
        services use `session()`.
        """
        gate = self._gate.held(urgent=True) if self._gate is not None else nullcontext()
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
