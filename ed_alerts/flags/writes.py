"""Writing an attendance's new flags, with their audit entries and pending decisions, in bulk.

Rule evaluation runs for every attendance inside the ingest transaction. Everywhere: one INSERT of
the flags, one of the audit entries, one of the decisions. On PostgreSQL each statement is also a
network round trip plus the driver's and SQLAlchemy's work around it, so there the flags INSERT,
the audit lock and the tail read go as one simple query (values quoted by psycopg, no parameters,
so the statements run in order with a snapshot each), and the decisions and audit entries as one
statement over arrays, whose text never changes (so the server keeps it prepared): two round trips
instead of four.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from psycopg import sql
from sqlalchemy import insert
from sqlalchemy.orm import Session

from ed_alerts.audit.service import LOCK_THEN_TAIL, Entry, chained_rows, held_tail, read_tail, record_many
from ed_alerts.flags.models import Decision, Flag

FLAG_COLUMNS = ("attendance_id", "patient_id", "rule_id", "rule_version", "title", "severity", "status",
                "uncertain", "reason", "evidence", "requires_decision", "raised_at", "updated_at")
_JSON = frozenset({"evidence"})

_DECISIONS_AND_AUDIT = """
WITH decisions AS (
    INSERT INTO decision (flag_id, attendance_id, status, due_at, created_at)
    SELECT * FROM unnest(%(d_flag)s::integer[], %(d_attendance)s::integer[], %(d_status)s::text[],
                         %(d_due)s::timestamptz[], %(d_created)s::timestamptz[])
)
INSERT INTO audit_entry (at, actor, role, action, entity_type, entity_id, patient_id, reason, details,
                         prev_hash, hash)
SELECT at, actor, role, action, entity_type, entity_id, patient_id, reason, details::json, prev_hash, hash
FROM unnest(%(at)s::timestamptz[], %(actor)s::text[], %(role)s::text[], %(action)s::text[],
            %(entity_type)s::text[], %(entity_id)s::text[], %(patient_id)s::integer[], %(reason)s::text[],
            %(details)s::text[], %(prev_hash)s::text[], %(hash)s::text[])
     WITH ORDINALITY AS a(at, actor, role, action, entity_type, entity_id, patient_id, reason, details,
                          prev_hash, hash, n)
ORDER BY n
"""
_AUDIT_COLUMNS = ("at", "actor", "role", "action", "entity_type", "entity_id", "patient_id", "reason",
                  "details", "prev_hash", "hash")


def _literal(column: str, value: object) -> sql.Composable:
    if column in _JSON:
        return sql.SQL("{}::json").format(sql.Literal(json.dumps(value)))
    if isinstance(value, str):
        value = str(value)  # a StrEnum as its value (psycopg would quote an Enum's name)
    return sql.Literal(value)


AuditFor = Callable[[dict[str, int]], list[Entry]]
DecisionsFor = Callable[[dict[str, int]], list[dict[str, Any]]]


def write_new_flags(session: Session, flags: Sequence[dict[str, Any]], audit: AuditFor,
                    decisions: DecisionsFor) -> dict[str, int]:
    """Insert `flags` (rows with FLAG_COLUMNS, none of them stored yet); returns rule id -> flag id.

    `audit` and `decisions` are given those ids and return the entries to append and the decision
    rows (flag_id, attendance_id, status, due_at, created_at) to insert.
    """
    if not flags:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        return _write_postgresql(session, flags, audit, decisions)
    ids = {str(rule_id): int(flag_id)
           for flag_id, rule_id in session.execute(insert(Flag).returning(Flag.id, Flag.rule_id), flags)}
    record_many(session, audit(ids))
    due = decisions(ids)
    if due:
        session.execute(insert(Decision), due)
    return ids


def _write_postgresql(session: Session, flags: Sequence[dict[str, Any]], audit: AuditFor,
                      decisions: DecisionsFor) -> dict[str, int]:
    session.flush()  # what the ORM holds must be in the database before statements it cannot see
    values = sql.SQL(", ").join(
        sql.SQL("({})").format(sql.SQL(", ").join(_literal(c, row[c]) for c in FLAG_COLUMNS)) for row in flags)
    statements = [sql.SQL("INSERT INTO flag ({}) VALUES {} RETURNING id, rule_id").format(
        sql.SQL(", ").join(map(sql.Identifier, FLAG_COLUMNS)), values)]
    tail = held_tail(session)
    if tail is None:
        statements.append(sql.SQL(LOCK_THEN_TAIL))  # type: ignore[arg-type]  # a constant of ours
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(sql.SQL("; ").join(statements))
        ids = {str(rule_id): int(flag_id) for flag_id, rule_id in cursor.fetchall()}
        if tail is None:
            cursor.nextset()  # from the INSERT's rows to the lock's
            tail = read_tail(cursor)
        rows = chained_rows(session, audit(ids), tail)
        due = decisions(ids)
        params: dict[str, list[Any]] = {c: [r[c] for r in rows] for c in _AUDIT_COLUMNS}
        params["details"] = [json.dumps(d) for d in params["details"]]
        params.update(d_flag=[d["flag_id"] for d in due], d_attendance=[d["attendance_id"] for d in due],
                      d_status=[str(d["status"]) for d in due], d_due=[d["due_at"] for d in due],
                      d_created=[d["created_at"] for d in due])
        cursor.execute(_DECISIONS_AND_AUDIT, params)
    finally:
        cursor.close()
    return ids
