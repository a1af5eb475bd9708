"""Appending to and verifying the audit log.

Each entry's hash covers its content and the previous entry's hash, so changing or removing any
entry breaks every hash after it. Appends are serialised (a transaction-scoped advisory lock on
PostgreSQL; SQLite serialises writers already) so that two transactions cannot both chain onto the
same predecessor.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ed_alerts.audit.models import AuditEntry
from ed_alerts.db.base import utcnow
from ed_alerts.db.session import transaction_state

GENESIS = "0" * 64
_APPEND_LOCK_KEY = 0x6564_6175  # "edau": the advisory lock id for appends
# Lock, then read the tail, as two statements of one simple query (no parameters): each statement
# takes its own snapshot (READ COMMITTED), so the SELECT sees every entry committed before the lock
# was granted, and it costs one round trip.
LOCK_THEN_TAIL = (f"SELECT pg_advisory_xact_lock({_APPEND_LOCK_KEY}); "
                  "SELECT hash FROM audit_entry ORDER BY id DESC LIMIT 1")


@dataclass(frozen=True)
class Actor:
    """Who did something: a named user with a role, or a system component."""

    name: str
    role: str

    @classmethod
    def system(cls, component: str) -> Actor:
        return cls(name=f"system:{component}", role="system")


def _content_hash(prev_hash: str, at: datetime, actor: str, role: str, action: str, entity_type: str,
                  entity_id: str, patient_id: int | None, reason: str | None, details: dict[str, Any]) -> str:
    canonical = json.dumps(
        [prev_hash, at.isoformat(timespec="microseconds"), actor, role, action, entity_type, entity_id,
         patient_id, reason, details],
        sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


_TAIL = "ed_alerts.audit.tail"  # transaction state: {"hash": the last entry this transaction appended}


def read_tail(cursor: Any) -> str:
    """The tail from a DB-API cursor that has just run LOCK_THEN_TAIL (positioned on its lock)."""
    cursor.nextset()
    row = cursor.fetchone()
    return str(row[0]) if row else GENESIS


def held_tail(session: Session) -> str | None:
    """The chain's tail if this transaction already appended (and so holds the append lock)."""
    # Once this transaction holds the append lock (the advisory lock on PostgreSQL; SQLite's write
    # lock, taken at BEGIN), no one else can append until it ends, so the entry it appended last is
    # the tail: later appends in the same transaction chain onto it without asking the database.
    # Keyed by the transaction object, so a commit or rollback (a new transaction) forgets it.
    return transaction_state(session, _TAIL, dict[str, str]).get("hash")


def _last_hash(session: Session) -> str:
    held = held_tail(session)
    if held is not None:
        return held
    if session.get_bind().dialect.name == "postgresql":
        cursor = session.connection().connection.cursor()
        try:
            cursor.execute(LOCK_THEN_TAIL)
            return read_tail(cursor)
        finally:
            cursor.close()
    last = session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    return last or GENESIS


@dataclass(frozen=True)
class Entry:
    """One entry to append with `record_many`."""

    actor: Actor
    action: str
    entity_type: str
    entity_id: object
    patient_id: int | None = None
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def chained_rows(session: Session, entries: Sequence[Entry], tail: str | None = None) -> list[dict[str, Any]]:
    """The rows for `entries`, each chained onto the one before and the first onto the tail.

    `tail` is for a caller that took the append lock and read the tail itself (see LOCK_THEN_TAIL);
    the caller must then insert the rows, in order, in this transaction.
    """
    prev = _last_hash(session) if tail is None else tail
    at = utcnow()
    rows = []
    for e in entries:
        details = json.loads(json.dumps(e.details, default=str))  # what is hashed is what is stored
        entity_id = str(e.entity_id)
        digest = _content_hash(prev, at, e.actor.name, e.actor.role, e.action, e.entity_type, entity_id,
                               e.patient_id, e.reason, details)
        rows.append(dict(at=at, actor=e.actor.name, role=e.actor.role, action=e.action,
                         entity_type=e.entity_type, entity_id=entity_id, patient_id=e.patient_id,
                         reason=e.reason, details=details, prev_hash=prev, hash=digest))
        prev = digest
    transaction_state(session, _TAIL, dict[str, str])["hash"] = prev
    return rows


def record(session: Session, actor: Actor, action: str, entity_type: str, entity_id: object, *,
           patient_id: int | None = None, reason: str | None = None,
           details: dict[str, Any] | None = None, flush: bool = True) -> AuditEntry:
    """Append an entry in the caller's transaction: it commits or rolls back with the change.

    `flush=False` leaves the insert to the caller's next flush (several entries then go in one
    round trip); the entry has no id until then.
    """
    (row,) = chained_rows(session, [Entry(actor, action, entity_type, entity_id, patient_id, reason,
                                      details or {})])
    entry = AuditEntry(**row)
    session.add(entry)
    if flush:
        session.flush()
    return entry


def record_many(session: Session, entries: Sequence[Entry]) -> None:
    """Append several entries in one INSERT, in the caller's transaction, without ORM objects.

    Cheaper than `record` on a hot path (rule evaluation of every attendance). Entries still
    waiting in the session are flushed first: ids must follow the order of the chain.
    """
    if not entries:
        return
    if any(isinstance(obj, AuditEntry) for obj in session.new):
        session.flush()
    session.execute(insert(AuditEntry), chained_rows(session, entries))


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_broken_id: int | None = None
    problem: str | None = None


def verify_chain(session: Session, *, batch: int = 5000) -> ChainReport:
    """Walk the chain in id order; report the first entry whose hash or link does not hold."""
    prev = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
        ).all()
        if not rows:
            return ChainReport(ok=True, checked=checked)
        for e in rows:
            if e.prev_hash != prev:
                return ChainReport(False, checked, e.id,
                                   "its link to the previous entry is broken (an entry was removed or changed)")
            expected = _content_hash(e.prev_hash, e.at, e.actor, e.role, e.action, e.entity_type,
                                     e.entity_id, e.patient_id, e.reason, e.details)
            if e.hash != expected:
                return ChainReport(False, checked, e.id, "its content does not match its hash (it was changed)")
            prev = e.hash
            checked += 1
            last_id = e.id
        session.expunge_all()  # keep memory flat on long chains
