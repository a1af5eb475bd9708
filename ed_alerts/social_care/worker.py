"""Draining the CP-IS lookup queue, outside any ingest transaction.

`drain_lookups(ctx)` claims due lookups with a lease (PostgreSQL `FOR UPDATE SKIP LOCKED`, so
several service processes can each run a worker), calls CP-IS with no database session open, and
records each attempt in its own transaction:

- answered (found or not found): the lookup is done, the answer stored, and the attendance is
  re-evaluated in the same transaction (idempotent: see ed_alerts/flags/evaluator.py), so a child on
  a plan gets a `known_to_social_care` flag with CP-IS evidence;
- no answer and retrying may help (timeouts, refused connections, 5xx, 429): the next attempt after
  ED_ALERTS_CPIS_RETRY_DELAY_S, doubled each time (never sooner than a Retry-After), until
  ED_ALERTS_CPIS_MAX_ATTEMPTS; then failed;
- an answer retrying cannot change (a refused NHS number, our credentials): failed at once.

Each attempt is audited as `cpis.lookup_attempt` (outcome, cause, HTTP status, TraceID; never the
NHS number). `CpisWorker` runs the drain on a daemon thread: woken after every ingest, and polling.
"""

from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import OperationalError

from ed_alerts.attendances.models import Attendance
from ed_alerts.audit.service import Actor, record
from ed_alerts.db.base import utcnow
from ed_alerts.patients.models import Patient, PatientIdentifier
from ed_alerts.scheduler.leader import node_id
from ed_alerts.social_care.context import CpisContext
from ed_alerts.social_care.models import CpisLookup, LookupStatus
from integrations.cpis.result import CpisResult

log = logging.getLogger(__name__)

CPIS = Actor.system("cpis")
_MAX_ROUNDS = 50  # per drain: enough for a backlog, bounded so one run cannot hold the worker forever
_BATCH = 20


@dataclass(frozen=True)
class Claim:
    lookup_id: int
    attendance_id: int
    lease_token: str
    attempt: int
    nhs_number: str = field(repr=False)  # never printed or logged


def _lease_s(ctx: CpisContext) -> float:
    # Longer than any one attempt can take, so a live worker is never overtaken by another.
    return 2 * ctx.settings.cpis_timeout_s + 30.0


def claim_due(ctx: CpisContext, now: datetime, *, limit: int = _BATCH) -> list[Claim]:
    try:
        with ctx.db.session() as session:
            stmt = (select(CpisLookup)
                    .where(CpisLookup.status == LookupStatus.PENDING, CpisLookup.next_attempt_at <= now,
                           or_(CpisLookup.leased_until.is_(None), CpisLookup.leased_until <= now))
                    .order_by(CpisLookup.id).limit(limit))
            if session.get_bind().dialect.name == "postgresql":
                # Another worker's rows are skipped, not waited for.
                stmt = stmt.with_for_update(skip_locked=True)
            token = str(uuid.uuid4())
            claims = []
            for row in session.scalars(stmt).all():
                identifier = session.get(PatientIdentifier, row.identifier_id)
                if identifier is None:  # cannot happen (identifiers are never deleted); never guess one
                    _finish(row, LookupStatus.FAILED, now, cause="no_nhs_number")
                    continue
                row.leased_until = now + timedelta(seconds=_lease_s(ctx))
                row.lease_token = token
                claims.append(Claim(row.id, row.attendance_id, token, row.attempts + 1, identifier.value))
            return claims
    except OperationalError as exc:
        # SQLite: another process's worker wrote first. Its claim stands; ours waits for the next round.
        log.info("CP-IS lookups not claimed this round (%s)", type(exc).__name__)
        return []


def attempt_lookup(ctx: CpisContext, claim: Claim) -> CpisResult:
    """One call to CP-IS; no database session is open while it runs."""
    try:
        return ctx.client.lookup(claim.nhs_number, correlation_id=f"ed-alerts-cpis-{claim.lookup_id}",
                                 unscheduled=True)
    except ValueError:
        return CpisResult.error("invalid_nhs_number", "the stored NHS number fails Modulus 11",
                                retryable=False)
    except Exception as exc:  # a bug in one lookup must not stop the worker: record it
        log.exception("CP-IS lookup %s raised", claim.lookup_id)
        return CpisResult.error("client_error", f"the lookup raised {type(exc).__name__}", retryable=True)


def _finish(row: CpisLookup, status: LookupStatus, now: datetime, *, cause: str | None = None) -> None:
    row.status = status
    row.finished_at = now
    row.leased_until = None
    row.lease_token = None
    if cause is not None:
        row.last_cause = cause


def retry_delay_s(ctx: CpisContext, attempts: int, result: CpisResult) -> float:
    """After failed attempt n: base · 2^(n-1), at least the service's Retry-After, at most an hour."""
    base = ctx.settings.cpis_retry_delay_s * 2 ** max(0, attempts - 1)
    return min(max(base, result.retry_after_s or 0.0), 3600.0)


def record_attempt(ctx: CpisContext, claim: Claim, result: CpisResult) -> str:
    """Persist one attempt; returns what became of the lookup: found, not_found, retrying, failed, stale."""
    now = utcnow()
    with ctx.db.session() as session:
        row = session.get_one(CpisLookup, claim.lookup_id, with_for_update=True)
        if row.status != LookupStatus.PENDING or row.lease_token != claim.lease_token:
            return "stale"  # another worker took it over after our lease ran out
        att = session.get_one(Attendance, row.attendance_id)
        row.attempts += 1
        row.last_attempt_at = now
        row.last_cause = result.cause[:60]
        row.last_http_status = result.http_status
        row.last_reason = result.reason
        row.trace_id = result.trace_id
        details = {"attendance_id": att.id, "attempt": claim.attempt, "outcome": result.outcome.value,
                   "cause": result.cause, "http_status": result.http_status, "plans": len(result.plans),
                   "trace_id": result.trace_id, "access_event": row.access_event, "node": node_id()}
        record(session, CPIS, "cpis.lookup_attempt", "cpis_lookup", row.id, patient_id=att.patient_id,
               details=details)
        if result.answered:
            row.outcome = result.outcome.value
            row.plans = [plan.model_dump(mode="json") for plan in result.plans]
            row.answered_at = now
            _finish(row, LookupStatus.DONE, now)
            session.flush()
            # The answer is in: evaluate the attendance again, with it, in this transaction.
            ctx.flags(session, att, session.get_one(Patient, att.patient_id))
            return result.outcome.value
        if not result.retryable or row.attempts >= ctx.settings.cpis_max_attempts:
            row.outcome = result.outcome.value
            _finish(row, LookupStatus.FAILED, now)
            log.warning("CP-IS lookup %s for attendance %s failed after %s attempts (%s)", row.id, att.id,
                        row.attempts, result.cause)
            return "failed"
        row.next_attempt_at = now + timedelta(seconds=retry_delay_s(ctx, row.attempts, result))
        row.leased_until = None
        row.lease_token = None
        return "retrying"


@dataclass
class DrainReport:
    claimed: int = 0
    found: int = 0
    not_found: int = 0
    retrying: int = 0
    failed: int = 0
    stale: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


def drain_lookups(ctx: CpisContext, now: datetime | None = None) -> DrainReport:
    """Look up everything due at `now` (default: now), a few at a time, until nothing is claimable."""
    report = DrainReport()
    workers = ctx.settings.cpis_concurrency
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cpis-lookup") as pool:
        for _ in range(_MAX_ROUNDS):
            claims = claim_due(ctx, now or utcnow())
            if not claims:
                break
            report.claimed += len(claims)
            for outcome in pool.map(lambda c: record_attempt(ctx, c, attempt_lookup(ctx, c)), claims):
                report.add(outcome)
    if report.claimed:
        log.info("CP-IS lookups drained: %s", report)
    return report


class CpisWorker:
    """Runs `drain_lookups` on a daemon thread: at once when woken (after each ingest), else every
    ED_ALERTS_CPIS_POLL_INTERVAL_S (retries fall due, messages ingested by another process)."""

    def __init__(self, ctx: CpisContext) -> None:
        self._ctx = ctx
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="cpis-worker", daemon=True)
        self._thread.start()
        log.info("CP-IS lookup worker started (poll every %gs)", self._ctx.settings.cpis_poll_interval_s)

    def _run(self) -> None:
        wakeup = self._ctx.wakeup
        wakeup.set()  # a first drain at start: lookups left pending by an earlier run
        while not self._stop.is_set():
            wakeup.wait(self._ctx.settings.cpis_poll_interval_s)
            wakeup.clear()
            if self._stop.is_set():
                break
            try:
                drain_lookups(self._ctx)
            except Exception:  # the database may be briefly away; try again next round
                log.exception("CP-IS lookup drain failed")

    def stop(self) -> None:
        """Lets a lookup in flight finish (it is bounded by the timeout) so its result is recorded."""
        self._stop.set()
        self._ctx.wakeup.set()
        if self._thread is not None:
            self._thread.join(self._ctx.settings.cpis_timeout_s * 2 + 10)
            self._thread = None
