"""The SQLite write gate: one transaction at a time in a process, acknowledgements first, the rest in turn."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from ed_alerts.db.engine import make_engine
from ed_alerts.db.process_lock import ProcessWriteLock
from ed_alerts.db.session import Database, WriteGate


def _wait_for(condition, timeout_s: float = 5) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.005)


def _holder_thread(gate: WriteGate, order: list[str], name: str, urgent: bool,
                   until: threading.Event | None = None) -> threading.Thread:
    def hold() -> None:
        with gate.held(urgent):
            order.append(name)
            if until is not None:
                until.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    return thread


def test_a_waiting_acknowledgement_goes_first_and_the_rest_in_the_order_they_came() -> None:
    gate = WriteGate()
    order: list[str] = []
    release_first = threading.Event()
    threads = [_holder_thread(gate, order, "first", False, release_first)]
    _wait_for(lambda: order == ["first"])
    for waiting, name in enumerate(("worker", "page", "job"), 1):  # each queued before the next comes
        threads.append(_holder_thread(gate, order, name, False))
        _wait_for(lambda w=waiting: len(gate._others) == w)  # type: ignore[misc]
    threads.append(_holder_thread(gate, order, "ack", True))
    _wait_for(lambda: len(gate._urgent) == 1)
    release_first.set()
    for t in threads:
        t.join(5)
    assert order == ["first", "ack", "worker", "page", "job"]


def test_transactions_that_queue_take_turns_so_none_is_starved() -> None:
    """The ingest worker and a stream of pages (audited reads) each get their turn. Before, pages
    went before the worker, and a thread that committed and began again at once could win every
    time: under a stream of reads the worker waited on, its flags came late, and the readers
    waiting for them read all the more."""
    gate = WriteGate()
    stop = threading.Event()
    turns = dict.fromkeys(("worker", "page 1", "page 2", "page 3"), 0)

    def run(name: str) -> None:
        while not stop.is_set():
            with gate.held(False):
                turns[name] += 1
                time.sleep(0.002)

    threads = [threading.Thread(target=run, args=(name,)) for name in turns]
    for t in threads:
        t.start()
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join(5)
    # In turn, each of the four holds the gate about a quarter of the time: ~1 s / (4 x 2 ms) = 125.
    assert min(turns.values()) >= 0.5 * max(turns.values()), turns


def test_the_gate_is_reentrant_in_one_thread_and_exclusive_across_threads() -> None:
    gate = WriteGate()
    inside = threading.Event()
    other_got_it = threading.Event()

    def other() -> None:
        with gate.held(False):
            other_got_it.set()

    with gate.held(False):
        with gate.held(False):  # nested: no deadlock
            inside.set()
        t = threading.Thread(target=other)
        t.start()
        assert not other_got_it.wait(0.1)  # still held by the outer block
    assert other_got_it.wait(5)
    t.join(5)


def test_sqlite_sessions_use_the_gate_and_postgresql_ones_do_not(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine, text

    sqlite = Database(create_engine(f"sqlite:///{tmp_path / 'g.db'}"))
    assert sqlite._gate is not None
    with sqlite.session() as session:
        assert session.execute(text("select 1")).scalar() == 1
        assert sqlite._gate._owner == threading.get_ident()
    assert sqlite._gate._owner is None
    postgres = Database(create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    assert postgres._gate is None


# --- across processes (ed_alerts/db/process_lock.py) ----------------------------------------------

_HOLDER = """
import sys, time
from pathlib import Path
from ed_alerts.db.process_lock import ProcessWriteLock
lock = ProcessWriteLock(Path(sys.argv[1]))
lock.acquire(background=False)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
released = time.monotonic()
lock.release(background=False)
print(f"released {released!r}", flush=True)
time.sleep(30)
"""


def _holder(tmp_path: Path, hold_s: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path / "db.sqlite"), str(hold_s)],
                            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_background_work_in_another_process_waits_for_a_foreground_transaction(tmp_path: Path) -> None:
    lock = ProcessWriteLock(tmp_path / "db.sqlite")
    holder = _holder(tmp_path, 0.5)
    try:
        lock.acquire(background=True)
        acquired = time.monotonic()
        lock.release(background=True)
        assert holder.stdout is not None
        released = float(holder.stdout.readline().split()[1])
        assert acquired >= released  # CLOCK_MONOTONIC: one clock for every process on Linux
    finally:
        holder.kill()
        holder.wait()
        lock.close()


def test_a_killed_process_never_leaves_the_database_locked(tmp_path: Path) -> None:
    lock = ProcessWriteLock(tmp_path / "db.sqlite")
    holder = _holder(tmp_path, 600)  # holds the lock until killed
    try:
        assert lock._foreground_active()
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        done = threading.Event()
        taker = threading.Thread(target=lambda: (lock.acquire(background=False), done.set()))
        taker.start()
        assert done.wait(10), "the lock of a killed process was not released"
        lock.release(background=False)
        assert not lock._foreground_active()
    finally:
        holder.kill()
        holder.wait()
        lock.close()


def test_a_file_database_orders_its_processes_and_an_in_memory_one_needs_nothing(tmp_path: Path) -> None:
    file_db = Database(make_engine(f"sqlite:///{tmp_path / 'x.db'}"))
    with file_db.session():
        assert (tmp_path / "x.db-gate").exists() and (tmp_path / "x.db-intent").exists()
    file_db.dispose()
    assert ProcessWriteLock.for_database(":memory:") is None
    assert ProcessWriteLock.for_database(None) is None
