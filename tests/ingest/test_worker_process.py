"""The ingest worker in a process of its own: applies what accept() stored, reports back, survives a kill."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import func, select

from ed_alerts.flags.models import Flag
from ed_alerts.ingest.models import ContentType, InboundMessage, MessageStatus, Transport
from ed_alerts.ingest.pipeline import IngestContext, IngestOutcome, accept
from ed_alerts.ingest.worker_process import WorkerProcess
from ed_alerts.operations.readiness import check_worker
from ed_alerts.settings import Settings
from ed_alerts.synthetic import Generator, adt

STARTUP_S = 180  # a spawned interpreter loads spaCy and the rule pack: slow on a busy CI machine


def _assault(seed: int, cid: str) -> bytes:
    gen = Generator(seed=seed, now=datetime.now(UTC))
    return adt(gen.visit(gen.child(), "RGT01", kind="assault"), "A04", control_id=cid)


def _until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _statuses(ctx: IngestContext) -> dict[str, str]:
    with ctx.db.session() as session:
        return dict(session.execute(select(InboundMessage.control_id, InboundMessage.status)).all())


def _flags(ctx: IngestContext) -> int:
    with ctx.db.session() as session:
        return session.scalar(select(func.count()).select_from(Flag)) or 0


def _accept_and_submit(ctx: IngestContext, worker: WorkerProcess, seeds: range, prefix: str) -> None:
    for seed in seeds:
        raw = _assault(seed, f"{prefix}-{seed}")
        outcome = accept(ctx, raw, ContentType.HL7V2, Transport.MLLP)
        assert outcome.queued
        worker.submit(outcome.message_id, Transport.MLLP, outcome.events, raw=raw)


def test_a_worker_process_applies_messages_and_a_killed_one_is_replaced(settings: Settings,
                                                                         ctx: IngestContext) -> None:
    heard: list[tuple[IngestOutcome, str]] = []
    ctx.observers.append(lambda outcome, transport, _s: heard.append((outcome, transport)))
    worker = WorkerProcess(settings.model_copy(update={"ingest_worker": "process"}), ctx, sweep_every_s=1.0)
    worker.start()
    try:
        check = check_worker(worker)
        assert check is not None and not check.ok  # loading its rules: /readyz says so
        # Submitted before the child is up: the ids wait in the pipe, nothing is lost.
        _accept_and_submit(ctx, worker, range(1, 4), "WP")
        _until(lambda: worker.ready, STARTUP_S, "the worker process did not start")
        _until(lambda: len(heard) == 3, 60, "the parent did not hear of every message")
        assert {o.status for o, _ in heard} == {MessageStatus.PROCESSED}
        assert {t for _, t in heard} == {"mllp"}
        assert set(_statuses(ctx).values()) == {MessageStatus.PROCESSED}
        assert _flags(ctx) == 3  # one assault flag each, raised in the child's transactions
        first_pid = worker.pid
        assert first_pid is not None and first_pid != os.getpid()

        os.kill(first_pid, signal.SIGKILL)
        # Ids sent while there is no child are found in the store by its successor's first sweep.
        _accept_and_submit(ctx, worker, range(4, 7), "WP")
        _until(lambda: worker.restarts == 1 and worker.ready, STARTUP_S,
               "the worker process was not replaced")
        assert worker.pid != first_pid
        _until(lambda: set(_statuses(ctx).values()) == {MessageStatus.PROCESSED}, 60,
               "messages submitted around the kill were not processed")
        assert len(_statuses(ctx)) == 6
        assert _flags(ctx) == 6
        last_pid = worker.pid
    finally:
        worker.stop()
    assert last_pid is not None
    _until(lambda: not _alive(last_pid), 10, "the worker process did not exit when stopped")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
