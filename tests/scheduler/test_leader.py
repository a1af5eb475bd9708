"""Scheduler leadership: one holder at a time; released on shutdown or when the holder goes away."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from ed_alerts.scheduler.leader import FileLeaderLock, PostgresLeaderLock, leader_lock_for
from ed_alerts.services import Services


def test_one_leader_at_a_time_on_the_test_database(services: Services, db_url: str) -> None:
    first, second = leader_lock_for(db_url), leader_lock_for(db_url)
    try:
        assert first.is_leader()
        assert first.is_leader(), "the leader keeps it on every tick"
        assert not second.is_leader()
        first.release()
        assert second.is_leader()
        assert not first.is_leader()
    finally:
        first.release()
        second.release()


def test_postgres_leadership_moves_when_the_leaders_connection_dies(services: Services, db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        return
    first, second = PostgresLeaderLock(db_url), PostgresLeaderLock(db_url)
    try:
        assert first.is_leader() and not second.is_leader()
        assert first._conn is not None
        pid = first._conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with services.db.engine.connect() as admin:  # the leader's connection dies (crash, network)
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert second.is_leader()
        assert not first.is_leader(), "a broken connection gives leadership up, and the lock is taken"
    finally:
        first.release()
        second.release()


def test_file_lock_for_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "db.scheduler.lock"
    a, b = FileLeaderLock(path), FileLeaderLock(path)
    assert a.is_leader() and not b.is_leader()
    a.release()
    assert b.is_leader()
    b.release()
