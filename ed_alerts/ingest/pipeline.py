"""The ingest pipeline, in visible stages: store raw, parse, link the child, apply, evaluate, mark.

`ingest()` is the entry point for every transport (MLLP, HTTP, files). The raw message is committed
first, in its own transaction, so nothing is lost whatever happens next; processing then runs in a
second transaction that either commits every effect together or none (the message is then
quarantined with the reason). The caller acknowledges only after `ingest()` returns.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from ed_alerts import domain
from ed_alerts.attendances.models import Attendance
from ed_alerts.attendances.service import SiteContext, apply_event
from ed_alerts.db.base import utcnow
from ed_alerts.db.session import Database
from ed_alerts.errors import MessageRejected
from ed_alerts.ingest import parsers
from ed_alerts.ingest.inbound_insert import InboundInsert
from ed_alerts.ingest.models import ContentType, InboundMessage, MessageStatus
from ed_alerts.patients.models import Patient
from ed_alerts.patients.service import link_patient, merge_patients
from ed_alerts.sites.registry import SiteRegistry

log = logging.getLogger(__name__)

# Called for each attendance a message created or changed, inside the same transaction.
AttendanceHook = Callable[[Session, Attendance, Patient, domain.InboundEvent], None]

_MAX_ATTEMPTS = 3  # transient conflicts (two connections creating the same child at once) are retried


@dataclass
class IngestOutcome:
    message_id: int
    status: MessageStatus
    duplicate: bool = False
    ack_code: str = "AA"
    reason: str | None = None
    error_code: str | None = None
    error_location: str | None = None
    attendance_ids: list[int] = field(default_factory=list)
    registered_sender: bool = True
    sender: str | None = None  # MSH-4 or the FHIR source: a site code, never a patient identifier
    queued: bool = False  # stored and checked by accept(); the ingest worker applies it next
    # What accept() parsed, handed to the worker so it need not parse the message again.
    events: list[domain.InboundEvent] | None = field(default=None, repr=False, compare=False)

    @property
    def accepted(self) -> bool:
        return self.status is MessageStatus.PROCESSED


# Called with a message's parsed events before its transaction opens: work that needs no database
# (reading free text with the clinical NLP, whose results are cached) is then not done while the
# transaction holds SQLite's write lock. Only where that costs the acknowledgements nothing: in a
# worker process (ed_alerts/ingest/worker_process.py); in the service process it would hold the GIL.
EventPreparer = Callable[[domain.InboundEvent], None]

# Called after each ingest() has committed, with its outcome, the transport and the seconds it took
# (metrics, for instance). Observers see the answer; they can neither change it nor fail it.
IngestObserver = Callable[[IngestOutcome, str, float], None]


@dataclass
class IngestContext:
    db: Database
    sites: SiteRegistry
    hooks: list[AttendanceHook] = field(default_factory=list)
    observers: list[IngestObserver] = field(default_factory=list)
    preparers: list[EventPreparer] = field(default_factory=list)

    @cached_property
    def inbound_insert(self) -> InboundInsert:
        return InboundInsert(self.db.engine)


_INBOUND = cast(Table, InboundMessage.__table__)
# process() reads and marks the message row in Core, not through the ORM: the worker does this for
# every message, and loading the whole row (raw bytes, JSON) into the session and flushing it back
# cost more than applying most events. Built once, so neither is compiled again.
_CLAIM = (select(_INBOUND.c.status, _INBOUND.c.content_type, _INBOUND.c.sender, _INBOUND.c.registered_sender)
          .where(_INBOUND.c.id == bindparam("message_id")).with_for_update())
_CLAIM_WITH_RAW = _CLAIM.add_columns(_INBOUND.c.raw)
_MARK_PROCESSED = (
    update(_INBOUND).where(_INBOUND.c.id == bindparam("message_id"))
    .values(status=MessageStatus.PROCESSED.value, ack_code="AA", attempts=_INBOUND.c.attempts + 1,
            processed_at=bindparam("p_processed_at", type_=_INBOUND.c.processed_at.type),
            unmapped=bindparam("p_unmapped", type_=_INBOUND.c.unmapped.type),
            attendance_ids=bindparam("p_attendance_ids", type_=_INBOUND.c.attendance_ids.type),
            message_type=func.coalesce(_INBOUND.c.message_type,
                                       bindparam("p_message_type", type_=_INBOUND.c.message_type.type)))
)


def _outcome(msg: InboundMessage, *, duplicate: bool = False) -> IngestOutcome:
    return IngestOutcome(
        message_id=msg.id, status=MessageStatus(msg.status), duplicate=duplicate,
        ack_code=msg.ack_code or "AA", reason=msg.error_reason, error_code=msg.error_code,
        error_location=msg.error_location, attendance_ids=list(msg.attendance_ids or []),
        registered_sender=msg.registered_sender, sender=msg.sender,
    )


def _identity(raw: bytes, content_type: ContentType, peeked: parsers.Header | None = None) -> parsers.Header:
    header = peeked or parsers.peek(content_type, raw)
    # Unreadable messages are still stored; the hash keys them so a resend is seen as a duplicate.
    return parsers.Header(
        sender=(header.sender or "unknown")[:200],
        control_id=(header.control_id or "sha256:" + hashlib.sha256(raw).hexdigest())[:200],
        message_type=header.message_type,
    )


def store(ctx: IngestContext, raw: bytes, content_type: ContentType, transport: str,
          header: parsers.Header | None = None) -> tuple[int, bool]:
    """Stage 1: commit the raw message. Returns its id and whether it was a duplicate.

    One INSERT that does nothing on a (sender, control id) already stored, so the common case (a
    new message) costs one statement, run without the ORM (inbound_insert.py), on the path every
    acknowledgement waits for.
    """
    header = header or _identity(raw, content_type)
    values = dict(
        transport=transport, content_type=content_type.value, sender=header.sender,
        control_id=header.control_id, message_type=header.message_type, raw=raw, size=len(raw),
        status=MessageStatus.RECEIVED.value, registered_sender=ctx.sites.lookup(header.sender) is not None,
        unmapped=[], attendance_ids=[], received_at=utcnow(), attempts=0, duplicate_count=0,
    )
    with ctx.db.dbapi_cursor() as cursor:
        new_id = ctx.inbound_insert.execute(cursor, values)
    if new_id is not None:
        return new_id, False
    with ctx.db.session() as session:
        existing = session.scalar(
            update(InboundMessage)
            .where(InboundMessage.sender == header.sender, InboundMessage.control_id == header.control_id)
            .values(duplicate_count=InboundMessage.duplicate_count + 1, last_duplicate_at=utcnow())
            .returning(InboundMessage.id)
        )
    if existing is None:  # a stored message is never deleted; said plainly if it ever happens
        raise RuntimeError("a message conflicted on insert but could not be found")
    return existing, True


def _site_for(ctx: IngestContext, sender: str, hint: domain.SourceType | None) -> SiteContext:
    site = ctx.sites.lookup(sender)
    if site is None:
        return SiteContext(site_code=sender, trust=ctx.sites.default_trust,
                           source_type=hint or domain.SourceType.HOSPITAL_ED, registered=False)
    return SiteContext(site_code=site.code, trust=site.trust, source_type=site.source_type, registered=True)


def _apply(ctx: IngestContext, session: Session, event: domain.InboundEvent) -> list[Attendance]:
    """Stage 3 and 4: link the child, then apply the event to the attendance (or merge)."""
    patient = link_patient(session, event.patient)
    if event.kind is domain.EventKind.MERGE:
        merge_patients(session, patient, event.merged_identifiers)
        return []
    site = _site_for(ctx, event.sender, event.source_type_hint)
    if event.kind is domain.EventKind.UPDATE and not event.attendance.visit_number:
        return []  # a demographics-only update (A08 without PV1): the patient link above applied it
    attendance = apply_event(session, event, patient.id, site)
    for hook in ctx.hooks:
        hook(session, attendance, patient, event)
    return [attendance]


def process(ctx: IngestContext, message_id: int,
            parsed: list[domain.InboundEvent] | None = None) -> IngestOutcome:
    """Stages 2 to 5 for one stored message, in one transaction; quarantine on failure.

    `parsed`: the message's events if the caller already parsed its stored bytes (accept() does).
    """
    for event in parsed or ():
        _prepare(ctx, message_id, event)
    for attempt in range(_MAX_ATTEMPTS):
        try:
            with ctx.db.session() as session:
                claim = _CLAIM if parsed is not None else _CLAIM_WITH_RAW
                row = session.connection().execute(claim, {"message_id": message_id}).one_or_none()
                if row is None:
                    raise LookupError(f"inbound message {message_id} does not exist")
                if row.status != MessageStatus.RECEIVED:
                    return _outcome(session.get_one(InboundMessage, message_id))  # another worker finished it
                events = parsed if parsed is not None else parsers.parse(
                    ContentType(row.content_type), row.raw, site=ctx.sites.lookup(row.sender))
                attendances: list[Attendance] = []
                unmapped: list[str] = []
                for event in events:
                    attendances.extend(_apply(ctx, session, event))
                    unmapped.extend(s for s in event.unmapped_segments if s not in unmapped)
                outcome = IngestOutcome(message_id=message_id, status=MessageStatus.PROCESSED,
                                        attendance_ids=[a.id for a in attendances],
                                        registered_sender=row.registered_sender, sender=row.sender)
                session.connection().execute(_MARK_PROCESSED, {
                    "message_id": message_id, "p_processed_at": utcnow(), "p_unmapped": unmapped,
                    "p_attendance_ids": outcome.attendance_ids,
                    "p_message_type": events[0].message_type if events else None,
                })
            # Logged after the commit; ids and the site code only (the content holds identifiers).
            log.debug("message %s from %s processed: attendances %s", outcome.message_id, outcome.sender,
                      outcome.attendance_ids, extra={"message_id": outcome.message_id,
                                                     "attendance_ids": outcome.attendance_ids})
            return outcome
        except MessageRejected as exc:
            return quarantine(ctx, message_id, exc.reason, ack_code=exc.ack_code,
                              error_code=exc.hl7_error_code, location=exc.location)
        except (IntegrityError, OperationalError) as exc:
            if attempt < _MAX_ATTEMPTS - 1:
                log.info("retrying message %s after a database conflict (%s)", message_id,
                         type(exc).__name__)
                continue
            log.exception("message %s failed after %s attempts", message_id, _MAX_ATTEMPTS)
            return quarantine(ctx, message_id, f"database error: {type(exc).__name__}",
                              ack_code="AE", error_code="207")
        except Exception as exc:  # a message must never be lost to a bug: keep it
            log.exception("message %s could not be processed", message_id)
            return quarantine(ctx, message_id, f"internal error while processing: {type(exc).__name__}",
                              ack_code="AE", error_code="207")
    raise AssertionError("unreachable")


def _prepare(ctx: IngestContext, message_id: int, event: domain.InboundEvent) -> None:
    for prepare in ctx.preparers:
        try:
            prepare(event)
        except Exception:  # only a head start: the transaction does the work itself if this failed
            log.exception("preparing message %s failed", message_id)


def quarantine(ctx: IngestContext, message_id: int, reason: str, *, ack_code: str, error_code: str,
               location: str | None = None) -> IngestOutcome:
    with ctx.db.session() as session:
        msg = session.get_one(InboundMessage, message_id)
        msg.status = MessageStatus.QUARANTINED
        msg.error_reason = reason
        msg.ack_code = ack_code
        msg.error_code = error_code
        msg.error_location = location
        msg.processed_at = utcnow()
        msg.attempts += 1
        session.flush()
        # The reason names fields and codes, never their values (the adapters word it so).
        log.warning("message %s from %s quarantined: %s", message_id, msg.sender, reason,
                    extra={"message_id": message_id})
        return _outcome(msg)


def ingest(ctx: IngestContext, raw: bytes, content_type: ContentType, transport: str) -> IngestOutcome:
    """Store, then process. A duplicate is answered like the original and not processed twice,
    unless the original was stored but never processed (the process died): then it is processed now."""
    started = time.perf_counter()
    outcome = _store_and_process(ctx, raw, content_type, transport)
    notify(ctx, outcome, transport, time.perf_counter() - started)
    return outcome


def notify(ctx: IngestContext, outcome: IngestOutcome, transport: str, seconds: float) -> None:
    """Tell the observers of a message's outcome (also for a worker process's outcomes, in the parent)."""
    for observer in ctx.observers:
        try:
            observer(outcome, str(transport), seconds)
        except Exception:  # the message is committed; its ACK must not depend on a metric
            log.exception("ingest observer failed for message %s", outcome.message_id)


def _store_and_process(ctx: IngestContext, raw: bytes, content_type: ContentType,
                       transport: str) -> IngestOutcome:
    message_id, duplicate = store(ctx, raw, content_type, transport)
    if duplicate:
        with ctx.db.session() as session:
            msg = session.get_one(InboundMessage, message_id)
            if msg.status != MessageStatus.RECEIVED:
                return _outcome(msg, duplicate=True)
    outcome = process(ctx, message_id)
    outcome.duplicate = duplicate
    return outcome


def accept(ctx: IngestContext, raw: bytes, content_type: ContentType, transport: str,
           peeked: parsers.Header | None = None) -> IngestOutcome:
    """Store and check a message, and leave the rest to the ingest worker (ed_alerts/ingest/worker.py).

    For a sender that needs a fast acknowledgement: the raw message is committed, then parsed
    (a fraction of a millisecond), so a message that cannot be read or mapped is still quarantined
    and answered with its error now. A message that parses is answered AA with `queued` set: it is
    durable, and linking the child, applying the event and evaluating the rules follow within
    moments. A crash in between loses nothing: stored, unprocessed messages are processed at start.
    Observers hear of a queued message once, when the worker has processed it.
    `peeked`: the message's header, if the caller has already read it (`parsers.peek`).
    """
    started = time.perf_counter()
    header = _identity(raw, content_type, peeked)  # read once: store() keys by it, parse needs its site
    message_id, duplicate = store(ctx, raw, content_type, transport, header)
    return _check(ctx, raw, content_type, transport, header, message_id, duplicate, started)


def _check(ctx: IngestContext, raw: bytes, content_type: ContentType, transport: str, header: parsers.Header,
           message_id: int, duplicate: bool, started: float) -> IngestOutcome:
    """accept()'s second half, after the commit: parse the stored message and answer for it."""
    sender, site = header.sender, ctx.sites.lookup(header.sender)
    if duplicate:
        with ctx.db.session() as session:
            msg = session.get_one(InboundMessage, message_id)
            finished = _outcome(msg, duplicate=True) if msg.status != MessageStatus.RECEIVED else None
        if finished is not None:  # a resend of a message already processed or quarantined
            notify(ctx, finished, transport, time.perf_counter() - started)
            return finished
    try:
        events = parsers.parse(content_type, raw, site=site)
    except MessageRejected as exc:
        outcome = quarantine(ctx, message_id, exc.reason, ack_code=exc.ack_code,
                             error_code=exc.hl7_error_code, location=exc.location)
    except Exception as exc:  # kept in quarantine, as process() would
        log.exception("message %s could not be parsed", message_id)
        outcome = quarantine(ctx, message_id, f"internal error while parsing: {type(exc).__name__}",
                             ack_code="AE", error_code="207")
    else:
        return IngestOutcome(message_id=message_id, status=MessageStatus.RECEIVED, duplicate=duplicate,
                             sender=sender, queued=True, registered_sender=site is not None, events=events)
    outcome.duplicate = duplicate
    notify(ctx, outcome, transport, time.perf_counter() - started)
    return outcome


def process_queued(ctx: IngestContext, message_id: int, transport: str, received: float,
                   parsed: list[domain.InboundEvent] | None = None) -> IngestOutcome:
    """The worker's half of accept(): process (with what accept() parsed, if the worker kept it),
    then tell the observers (time counted from receipt)."""
    outcome = process(ctx, message_id, parsed)
    notify(ctx, outcome, transport, time.perf_counter() - received)
    return outcome


def process_pending(ctx: IngestContext, limit: int = 1000) -> int:
    """Recovery: process messages stored but never processed (a crash between the two stages)."""
    with ctx.db.session() as session:
        ids = list(session.scalars(
            select(InboundMessage.id).where(InboundMessage.status == MessageStatus.RECEIVED)
            .order_by(InboundMessage.id).limit(limit)
        ))
    for message_id in ids:
        process(ctx, message_id)
    return len(ids)


def replay(ctx: IngestContext, message_ids: list[int]) -> list[IngestOutcome]:
    """Process quarantined messages again, after a fix to a parser, a mapping or the site registry."""
    outcomes = []
    for message_id in message_ids:
        with ctx.db.session() as session:
            msg = session.get(InboundMessage, message_id)
            if msg is None or msg.status == MessageStatus.PROCESSED:
                continue
            msg.status = MessageStatus.RECEIVED
            msg.error_reason = msg.error_code = msg.error_location = None
            msg.ack_code = None
        outcomes.append(process(ctx, message_id))
    return outcomes
