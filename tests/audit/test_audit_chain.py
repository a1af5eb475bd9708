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
