"""Ingest must cost the same with a thousand or ten million stored rows: every statement the
pipeline issues for a message is answered from an index, never by scanning a table (SQLite's
plan, the embedded default; PostgreSQL plans by cost, so on a small test table it may scan)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from ed_alerts.ingest import queries
from ed_alerts.ingest.models import ContentType, MessageStatus, Transport
from ed_alerts.ingest.pipeline import accept, process_queued
from ed_alerts.services import Services
from ed_alerts.synthetic import Generator, adt


def _scans(services: Services, statements: list[tuple[str, Any]]) -> list[str]:
    path = services.db.engine.url.database
    assert path
    conn = sqlite3.connect(path)
    try:
        found = []
        for sql, params in statements:
            for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params):
                detail = str(row[-1])
                # A scan that stops at once (the newest rows by primary key, unfiltered) costs nothing;
                # with a WHERE it reads on until enough rows match, maybe the whole table.
                newest_first = "ORDER BY" in sql and "DESC" in sql and "LIMIT" in sql and "WHERE" not in sql
                if detail.startswith("SCAN ") and "CONSTANT ROW" not in detail and not newest_first:
                    found.append(f"{detail}  <-  {sql[:160]}")
        return found
    finally:
        conn.close()


def test_processing_a_message_scans_no_table(services: Services) -> None:
    if services.db.engine.dialect.name != "sqlite":
        pytest.skip("the plans checked are SQLite's")
    ctx = services.ingest
    now = datetime.now(UTC)
    gen = Generator(seed=44, now=now)
    child = gen.child(age=13)
    earlier = gen.visit(child, "RGT02", kind="plain", arrival=now - timedelta(days=20))
    visit = gen.visit(child, "RGT01", kind="disclosure", arrival=now - timedelta(hours=1))
    messages = [adt(earlier, "A04", control_id="P-1"), adt(visit, "A04", control_id="P-2"),
                adt(visit, "A08", control_id="P-3"), adt(visit, "A03", control_id="P-4")]
    statements: list[tuple[str, Any]] = []

    @event.listens_for(services.db.engine, "before_cursor_execute")
    def _capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "INSERT")) and not executemany:
            statements.append((statement, parameters))

    for raw in messages:
        outcome = accept(ctx, raw, ContentType.HL7V2, Transport.MLLP)
        assert outcome.queued
        process_queued(ctx, outcome.message_id, Transport.MLLP, 0.0, outcome.events)
    event.remove(services.db.engine, "before_cursor_execute", _capture)
    assert len(statements) > 20
    assert _scans(services, statements) == []


def test_following_a_message_by_its_control_id_scans_no_table(services: Services) -> None:
    """GET /api/messages?control_id= (a sending engine, or the benchmark, following one message
    after its ACK) ran on every poll; it read the whole inbound store, 31 ms at 100,000 messages."""
    if services.db.engine.dialect.name != "sqlite":
        pytest.skip("the plans checked are SQLite's")
    gen = Generator(seed=45)
    child = gen.child(age=12)
    visit = gen.visit(child, "RGT01", kind="plain")
    accept(services.ingest, adt(visit, "A04", control_id="Q-1"), ContentType.HL7V2, Transport.MLLP)
    statements: list[tuple[str, Any]] = []

    @event.listens_for(services.db.engine, "before_cursor_execute")
    def _capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    with services.db.session() as session:
        found = queries.list_messages(session, status=None, limit=100, control_id="Q-1")
        by_sender = queries.list_messages(session, status=None, limit=100, control_id="Q-1", senders=["RGT01"])
        queries.list_messages(session, status=MessageStatus.PROCESSED, limit=100, control_id="Q-1")
    event.remove(services.db.engine, "before_cursor_execute", _capture)
    assert [m.control_id for m in found] == ["Q-1"] and len(by_sender) == 1
    assert len(statements) == 3
    assert _scans(services, statements) == []
