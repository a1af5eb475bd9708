"""Appending to and verifying the audit log.

Each entry's hash covers its content and the previous entry's hash, so changing or removing any
entry breaks every hash after it. Appends are serialised (a transaction-scoped advisory lock on
PostgreSQL; SQLite serialises writers already) so that two transactions cannot both chain onto the
same predecessor.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ed_alerts.audit.models import AuditEntry
from ed_alerts.db.base import utcnow

GENESIS = "0" * 64
_APPEND_LOCK_KEY = 0x6564_6175  # "edau": the advisory lock id for appends


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


_TAIL = "ed_alerts.audit.tail"  # session.info key: (transaction, hash of the last entry it appended)


def _last_hash(session: Session) -> str:
    # Once this transaction holds the append lock (the advisory lock on PostgreSQL; SQLite's write
    # lock, taken at BEGIN), no one else can append until it ends, so the entry it appended last is
    # the tail: later appends in the same transaction chain onto it without asking the database.
    # Keyed by the transaction object, so a commit or rollback (a new transaction) forgets it.
    tail = session.info.get(_TAIL)
    if tail is not None and tail[0] is session.get_transaction():
        return str(tail[1])
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK_KEY})
    last = session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    return last or GENESIS


def record(session: Session, actor: Actor, action: str, entity_type: str, entity_id: object, *,
           patient_id: int | None = None, reason: str | None = None,
           details: dict[str, Any] | None = None, flush: bool = True) -> AuditEntry:
    """Append an entry in the caller's transaction: it commits or rolls back with the change.

    `flush=False` leaves the insert to the caller's next flush (several entries then go in one
    round trip); the entry has no id until then.
    """
    details = json.loads(json.dumps(details or {}, default=str))  # what is hashed is what is stored
    prev = _last_hash(session)
    at = utcnow()
    entry = AuditEntry(
        at=at, actor=actor.name, role=actor.role, action=action, entity_type=entity_type,
        entity_id=str(entity_id), patient_id=patient_id, reason=reason, details=details, prev_hash=prev,
        hash=_content_hash(prev, at, actor.name, actor.role, action, entity_type, str(entity_id),
                           patient_id, reason, details),
    )
    session.add(entry)
    if flush:
        session.flush()
    session.info[_TAIL] = (session.get_transaction(), entry.hash)
    return entry


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
