"""The referral outbox: written when a referral is sent, drained by the scheduler.

`drain_outbox(services, now)` claims due rows, calls the sender once per attempt *outside* any
database transaction (a slow authority never holds a lock that ingest needs), and records each
attempt in its own transaction:

- claim: rows pending, due, not leased, and with no older referral of the same child still pending
  (per-child order); PostgreSQL takes them with `FOR UPDATE SKIP LOCKED`, SQLite serialises writers.
  A claim is a lease (`leased_until`, `lease_token`): if the worker dies, the row is claimable again
  when the lease runs out, and the authority recognises the resend by its idempotency key.
- accepted: the row and the referral are delivered, with the authority's reference.
- retryable: the next attempt is scheduled with `next_attempt_delay` (exponential backoff with full
  jitter), never sooner than the authority's Retry-After, until ED_ALERTS_DELIVERY_MAX_ATTEMPTS.
- rejected, or attempts exhausted: the referral becomes `failed` and a `delivery_failed` escalation
  is recorded, in the same transaction.

Each attempt is audited as `referral.delivery_attempt` with its outcome, cause and HTTP status only.
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from ed_alerts.audit.service import record
from ed_alerts.db.session import Database
from ed_alerts.referrals.context import ReferralContext
from ed_alerts.referrals.escalations import SCHEDULER, record_escalation
from ed_alerts.referrals.models import (
    DeliveryStatus,
    EscalationKind,
    OutboxStatus,
    Referral,
    ReferralOutbox,
)
from ed_alerts.referrals.transitions import ReferralState, transition
from ed_alerts.scheduler.leader import node_id
from integrations.local_authority import DeliveryResult, ReferralPayload, next_attempt_delay

if TYPE_CHECKING:
    from ed_alerts.services import Services

log = logging.getLogger(__name__)

_MAX_ROUNDS = 50  # per drain: enough for a backlog, bounded so one run cannot hold the job forever


def enqueue(session: Session, referral: Referral, payload: ReferralPayload, now: datetime) -> ReferralOutbox:
    """The outbox row for a referral being sent, in the caller's transaction."""
    pending = session.scalar(select(ReferralOutbox.id).where(
        ReferralOutbox.referral_id == referral.id, ReferralOutbox.status == OutboxStatus.PENDING))
    if pending is not None:  # the state machine already prevents this; the outbox must never double up
        raise AssertionError(f"referral {referral.id} already has a pending delivery ({pending})")
    row = ReferralOutbox(
        referral_id=referral.id, patient_id=referral.patient_id,
        local_authority_code=referral.local_authority_code or "", idempotency_key=referral.idempotency_key,
        payload=payload.model_dump(mode="json"), status=OutboxStatus.PENDING.value, attempts=0,
        next_attempt_at=now, created_at=now,
    )
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class Claim:
    outbox_id: int
    referral_id: int
    lease_token: str
    attempt: int
    local_authority_code: str
    payload: dict[str, Any] = field(repr=False)


def claim_due(db: Database, now: datetime, *, limit: int, lease_s: float) -> list[Claim]:
    with db.session() as session:
        older = aliased(ReferralOutbox)
        older_pending = (
            select(older.id).where(older.patient_id == ReferralOutbox.patient_id,
                                   older.status == OutboxStatus.PENDING,
                                   older.referral_id < ReferralOutbox.referral_id).exists()
        )
        stmt = (
            select(ReferralOutbox)
            .where(ReferralOutbox.status == OutboxStatus.PENDING, ReferralOutbox.next_attempt_at <= now,
                   or_(ReferralOutbox.leased_until.is_(None), ReferralOutbox.leased_until <= now),
                   ~older_pending)
            .order_by(ReferralOutbox.referral_id).limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            # Another worker's claimed rows are skipped, not waited for.
            stmt = stmt.with_for_update(skip_locked=True, of=ReferralOutbox)
        rows = session.scalars(stmt).all()
        token = str(uuid.uuid4())
        claims = []
        for row in rows:
            row.leased_until = now + timedelta(seconds=lease_s)
            row.lease_token = token
            claims.append(Claim(row.id, row.referral_id, token, row.attempts + 1, row.local_authority_code,
                                row.payload))
        return claims


def attempt_delivery(ctx: ReferralContext, claim: Claim) -> DeliveryResult:
    """One call to the authority; no database session is open while it runs."""
    endpoint = ctx.authorities.endpoint(claim.local_authority_code)
    if endpoint is None:
        # Configuration can be fixed while the referral waits; past the attempt limit it escalates.
        why = f"no endpoint configured for local authority {claim.local_authority_code}"
        return DeliveryResult.retryable(why, cause="not_configured")
    payload = ReferralPayload.model_validate(claim.payload)
    return ctx.sender.send(payload, endpoint, attempt=claim.attempt)


def record_attempt(ctx: ReferralContext, claim: Claim, result: DeliveryResult, now: datetime) -> str:
    """Persist one attempt's result; returns what became of the row (delivered/retrying/failed/stale)."""
    settings = ctx.settings
    with ctx.db.session() as session:
        row = session.get_one(ReferralOutbox, claim.outbox_id, with_for_update=True)
        referral = session.get_one(Referral, row.referral_id, with_for_update=True)
        ours = row.status == OutboxStatus.PENDING and row.lease_token == claim.lease_token
        row.attempts += 1
        row.last_attempt_at = now
        row.last_cause = result.cause[:60]
        row.last_http_status = result.http_status
        referral.delivery_attempts += 1
        record(session, SCHEDULER, "referral.delivery_attempt", "referral", referral.id,
               patient_id=referral.patient_id, details={
                   "outbox_id": row.id, "attempt": claim.attempt, "outcome": result.status.value,
                   "cause": result.cause, "http_status": result.http_status,
                   "local_authority": row.local_authority_code, "node": node_id()})
        if result.is_accepted:
            if row.status != OutboxStatus.DELIVERED:
                _delivered(session, row, referral, result, now)
            return "delivered"
        if not ours:
            return "stale"  # another worker took the row over after our lease ran out
        referral.last_delivery_error = result.reason
        if result.is_rejected or row.attempts >= settings.delivery_max_attempts:
            _failed(session, row, referral, result, now)
            return "failed"
        delay = next_attempt_delay(row.attempts, base_s=settings.delivery_base_delay_s,
                                   max_s=settings.delivery_max_delay_s)
        delay = max(delay, min(result.retry_after_s or 0.0, settings.delivery_max_delay_s))
        row.next_attempt_at = now + timedelta(seconds=delay)
        row.leased_until = None
        row.lease_token = None
        return "retrying"


def _delivered(session: Session, row: ReferralOutbox, referral: Referral, result: DeliveryResult,
               now: datetime) -> None:
    row.status = OutboxStatus.DELIVERED.value
    row.reference = result.reference
    row.finished_at = now
    row.leased_until = None
    referral.delivery_status = DeliveryStatus.DELIVERED.value
    referral.delivery_reference = result.reference
    referral.delivered_at = now
    referral.last_delivery_error = None
    session.flush()
    record(session, SCHEDULER, "referral.delivered", "referral", referral.id, patient_id=referral.patient_id,
           details={"outbox_id": row.id, "reference": result.reference, "attempts": row.attempts,
                    "local_authority": row.local_authority_code})


def _failed(session: Session, row: ReferralOutbox, referral: Referral, result: DeliveryResult,
            now: datetime) -> None:
    row.status = OutboxStatus.FAILED.value
    row.finished_at = now
    row.leased_until = None
    referral.delivery_status = DeliveryStatus.FAILED.value
    why = ("rejected by the local authority" if result.is_rejected
           else f"not acknowledged after {row.attempts} attempts")
    transition(session, referral, ReferralState.FAILED, SCHEDULER, reason=why, details={
        "outbox_id": row.id, "cause": result.cause, "http_status": result.http_status,
        "attempts": row.attempts})
    record_escalation(
        session, EscalationKind.DELIVERY_FAILED, entity_type="referral_outbox", entity_id=row.id,
        referral_id=referral.id, attendance_id=referral.attendance_id, patient_id=referral.patient_id,
        site_code=referral.site_code, severity=referral.severity, due_at=referral.due_at, now=now,
        detail=f"referral delivery failed: {why} ({result.cause})")


@dataclass
class DrainReport:
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    stale: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


def drain_outbox(services: Services, now: datetime) -> DrainReport:
    """Deliver everything due at `now`, a few at a time, until nothing more is claimable."""
    ctx = services.referrals
    settings = ctx.settings
    report = DrainReport()
    with ThreadPoolExecutor(max_workers=settings.delivery_concurrency,
                            thread_name_prefix="referral-delivery") as pool:
        for _ in range(_MAX_ROUNDS):
            claims = claim_due(ctx.db, now, limit=settings.delivery_batch_size,
                               lease_s=settings.delivery_lease_s)
            if not claims:
                break
            report.claimed += len(claims)
            # One row per child per round (the claim query), so concurrency never reorders a child's
            # referrals; different authorities and children are delivered side by side.
            for outcome in pool.map(lambda c: record_attempt(ctx, c, attempt_delivery(ctx, c), now), claims):
                report.add(outcome)
    if report.claimed:
        log.info("outbox drained: %s", report)
    return report
