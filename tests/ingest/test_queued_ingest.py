"""ACK after storage (ED_ALERTS_MLLP_ACK=stored): accept() stores and checks, the worker applies."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from ed_alerts.attendances.models import Attendance
from ed_alerts.flags.models import Flag
from ed_alerts.ingest import pipeline
from ed_alerts.ingest.acks import hl7_ack
from ed_alerts.ingest.models import ContentType, InboundMessage, MessageStatus, Transport
from ed_alerts.ingest.pipeline import IngestContext, accept
from ed_alerts.ingest.worker import IngestWorker
from ed_alerts.services import Services
from ed_alerts.synthetic import Generator, adt
from integrations import hl7v2


def _assault(seed: int = 5, cid: str = "Q-1") -> bytes:
    gen = Generator(seed=seed, now=datetime.now(UTC))
    return adt(gen.visit(gen.child(), "RGT01", kind="assault"), "A04", control_id=cid)


def _status(ctx: IngestContext, message_id: int) -> MessageStatus:
    with ctx.db.session() as session:
        return MessageStatus(session.get_one(InboundMessage, message_id).status)


def _count(ctx: IngestContext, model: type) -> int:
    with ctx.db.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _wait_processed(ctx: IngestContext, message_id: int, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while _status(ctx, message_id) == MessageStatus.RECEIVED:
        assert time.monotonic() < deadline, "the worker did not process the message"
        time.sleep(0.05)


def test_accept_stores_and_answers_before_anything_is_applied(ctx: IngestContext) -> None:
    raw = _assault()
    outcome = accept(ctx, raw, ContentType.HL7V2, Transport.MLLP)
    assert outcome.queued and outcome.ack_code == "AA"
    assert b"MSA|AA|Q-1" in hl7_ack(hl7v2.peek_header(raw), outcome)
    assert _status(ctx, outcome.message_id) == MessageStatus.RECEIVED
    assert _count(ctx, Attendance) == 0  # nothing applied until the worker runs


def test_the_worker_applies_and_flags_what_was_accepted(ctx: IngestContext) -> None:
    seen: list[tuple[str, str]] = []
    ctx.observers.append(lambda outcome, transport, _s: seen.append((outcome.status, transport)))
    worker = IngestWorker(ctx)
    worker.start()
    try:
        outcome = accept(ctx, _assault(), ContentType.HL7V2, Transport.MLLP)
        assert seen == []  # observers hear of a queued message once, when it is processed
        worker.submit(outcome.message_id, Transport.MLLP)
        _wait_processed(ctx, outcome.message_id)
    finally:
        worker.stop()
    assert _status(ctx, outcome.message_id) == MessageStatus.PROCESSED
    with ctx.db.session() as session:
        assert session.scalars(select(Flag.rule_id)).all() == ["assault"]
    assert seen == [(MessageStatus.PROCESSED, Transport.MLLP)]


def test_the_worker_applies_what_accept_parsed_without_parsing_again(
        ctx: IngestContext, monkeypatch: pytest.MonkeyPatch) -> None:
    parses: list[bytes] = []
    real_parse = pipeline.parsers.parse
    monkeypatch.setattr(pipeline.parsers, "parse", lambda *a, **k: parses.append(a[1]) or real_parse(*a, **k))
    worker = IngestWorker(ctx)
    worker.start()
    try:
        outcome = accept(ctx, _assault(cid="Q-P"), ContentType.HL7V2, Transport.MLLP)
        assert outcome.events
        worker.submit(outcome.message_id, Transport.MLLP, outcome.events)
        _wait_processed(ctx, outcome.message_id)
    finally:
        worker.stop()
    assert len(parses) == 1  # by accept(); the worker used its events
    with ctx.db.session() as session:
        assert session.scalars(select(Flag.rule_id)).all() == ["assault"]


def test_a_message_that_cannot_be_read_is_refused_at_once_and_kept(ctx: IngestContext) -> None:
    raw = _assault().replace(b"ADT^A04", b"ADT^Z99")
    outcome = accept(ctx, raw, ContentType.HL7V2, Transport.MLLP)
    assert not outcome.queued
    assert outcome.ack_code in {"AE", "AR"}
    assert outcome.reason
    assert b"MSA|" + outcome.ack_code.encode() in hl7_ack(hl7v2.peek_header(raw), outcome)
    assert _status(ctx, outcome.message_id) == MessageStatus.QUARANTINED


def test_a_resend_is_answered_like_the_original(ctx: IngestContext) -> None:
    raw = _assault()
    first = accept(ctx, raw, ContentType.HL7V2, Transport.MLLP)
    again = accept(ctx, raw, ContentType.HL7V2, Transport.MLLP)  # before the worker ran: still queued
    assert again.queued and again.duplicate and again.message_id == first.message_id
    worker = IngestWorker(ctx)
    worker.start()
    try:
        worker.submit(first.message_id, Transport.MLLP)
        worker.submit(again.message_id, Transport.MLLP)  # submitted twice: applied once
        _wait_processed(ctx, first.message_id)
    finally:
        worker.stop()
    late = accept(ctx, raw, ContentType.HL7V2, Transport.MLLP)
    assert late.duplicate and not late.queued and late.accepted
    assert _count(ctx, InboundMessage) == 1
    assert _count(ctx, Attendance) == 1
    assert _count(ctx, Flag) == 1


def test_the_sweep_finds_messages_nobody_submitted(ctx: IngestContext) -> None:
    """A process that died between ACK and processing: its messages are stored as `received`."""
    ids = [accept(ctx, _assault(seed, f"Q-{seed}"), ContentType.HL7V2, Transport.MLLP).message_id
           for seed in (1, 2, 3)]
    worker = IngestWorker(ctx, sweep_every_s=0.1)
    worker.start()
    try:
        for message_id in ids:
            _wait_processed(ctx, message_id)
    finally:
        worker.stop()
    assert _count(ctx, Attendance) == 3
    assert _count(ctx, Flag) == 3


def test_the_waiting_gauge_rises_on_accept_and_falls_when_processed(services: Services) -> None:
    ctx = services.ingest

    def waiting() -> float | None:
        return services.metrics.registry.get_sample_value("ed_alerts_messages_waiting")

    assert waiting() == 0
    ids = [accept(ctx, _assault(seed, f"W-{seed}"), ContentType.HL7V2, Transport.MLLP).message_id
           for seed in (1, 2)]
    assert waiting() == 2
    worker = IngestWorker(ctx)
    worker.start()
    try:
        for message_id in ids:
            worker.submit(message_id, Transport.MLLP)
        for message_id in ids:
            _wait_processed(ctx, message_id)
    finally:
        worker.stop()
    assert waiting() == 0
    received = services.metrics.registry.get_sample_value(
        "ed_alerts_messages_processed_total", {"feed": "RGT01", "transport": "mllp"})
    assert received == 2  # counted once each, when processed
