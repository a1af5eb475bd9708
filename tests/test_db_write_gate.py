"""The SQLite write gate: one transaction at a time in a process, foreground before background."""

from __future__ import annotations

import threading
import time

from ed_alerts.db.session import BACKGROUND, Database, WriteGate


def _wait_for(condition, timeout_s: float = 5) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.005)


def test_a_waiting_foreground_transaction_goes_before_a_waiting_background_one() -> None:
    gate = WriteGate()
    order: list[str] = []
    release_first = threading.Event()

    def hold(name: str, background: bool, until: threading.Event | None = None) -> None:
        with gate.held(background):
            order.append(name)
            if until is not None:
                until.wait(5)

    first = threading.Thread(target=hold, args=("first", False, release_first))
    first.start()
    _wait_for(lambda: order == ["first"])
    background = threading.Thread(target=hold, args=("background", True))
    background.start()
    time.sleep(0.05)  # the background thread is now waiting
    foreground = threading.Thread(target=hold, args=("foreground", False))
    foreground.start()
    _wait_for(lambda: gate._foreground_waiting == 1)
    release_first.set()
    for t in (first, background, foreground):
        t.join(5)
    assert order == ["first", "foreground", "background"]


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
    token = BACKGROUND.set(True)
    try:
        with sqlite.session() as session:  # a background session works as any other
            assert session.execute(text("select 1")).scalar() == 1
            assert sqlite._gate._owner == threading.get_ident()
    finally:
        BACKGROUND.reset(token)
    assert sqlite._gate._owner is None
    postgres = Database(create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    assert postgres._gate is None
