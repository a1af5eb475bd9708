"""The audit log: entries chain by hash, the table refuses changes, and verify names a tampered row."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from ed_alerts.audit import triggers
from ed_alerts.audit.models import AuditEntry
from ed_alerts.audit.service import GENESIS, Actor, record, verify_chain
from ed_alerts.cli import app
from ed_alerts.db.session import Database

NURSE = Actor("Nurse Example", "ed_nurse")


def _append(db: Database, n: int) -> list[int]:
    ids = []
    with db.session() as s:
        for i in range(n):
            ids.append(record(s, NURSE, "record.viewed", "attendance", i, patient_id=1,
                              reason="triage", details={"i": i}).id)
    return ids


def _tamper(db: Database, sql: str) -> None:
    """What someone with the database owner's rights could do: step around the triggers."""
    dialect = db.engine.dialect.name
    with db.engine.begin() as conn:
        for statement in triggers.drop_statements(dialect):
            conn.execute(text(statement))
        conn.execute(text(sql))
        for statement in triggers.create_statements(dialect):
            conn.execute(text(statement))


def test_entries_chain_from_genesis(db: Database) -> None:
    _append(db, 5)
    with db.session() as s:
        rows = s.query(AuditEntry).order_by(AuditEntry.id).all()
        assert rows[0].prev_hash == GENESIS
        assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
        report = verify_chain(s)
    assert report.ok and report.checked == 5


def test_the_table_refuses_update_and_delete(db: Database) -> None:
    (entry_id,) = _append(db, 1)
    for sql in (f"UPDATE audit_entry SET actor = 'someone else' WHERE id = {entry_id}",
                f"DELETE FROM audit_entry WHERE id = {entry_id}"):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text(sql))


def test_verify_names_an_edited_row(db: Database, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _append(db, 6)
    _tamper(db, f"UPDATE audit_entry SET reason = 'nothing to see' WHERE id = {ids[3]}")
    with db.session() as s:
        report = verify_chain(s)
    assert not report.ok and report.first_broken_id == ids[3] and report.checked == 3
    monkeypatch.setenv("ED_ALERTS_DATABASE_URL", db_url)
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"entry {ids[3]}" in result.output


def test_verify_names_the_row_after_a_removed_one(db: Database) -> None:
    ids = _append(db, 4)
    _tamper(db, f"DELETE FROM audit_entry WHERE id = {ids[1]}")
    with db.session() as s:
        report = verify_chain(s)
    assert not report.ok and report.first_broken_id == ids[2]


def test_cli_verify_ok(db: Database, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _append(db, 3)
    monkeypatch.setenv("ED_ALERTS_DATABASE_URL", db_url)
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 0 and "3 entries" in result.output and "intact" in result.output


def test_an_append_waiting_for_the_lock_chains_onto_what_committed_meanwhile(db: Database) -> None:
    """PostgreSQL takes the append lock and reads the tail in one round trip; the read must still
    see an entry another transaction committed while this one waited for the lock."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers at BEGIN: there is no lock to wait for")
    import threading

    _append(db, 1)
    holder = db.session()
    first = holder.__enter__()
    record(first, NURSE, "record.viewed", "attendance", "held", patient_id=1)  # holds the lock
    done = threading.Event()

    def second() -> None:
        with db.session() as s:
            record(s, NURSE, "record.viewed", "attendance", "waiting", patient_id=2)
        done.set()

    waiter = threading.Thread(target=second)
    try:
        waiter.start()
        assert not done.wait(0.5), "the second append should wait for the first transaction's lock"
    finally:
        holder.__exit__(None, None, None)  # commits
        waiter.join(10)
    assert done.is_set()
    with db.session() as s:
        report = verify_chain(s)
        assert report.ok, report
        assert report.checked == 3
