"""End to end through a real TCP socket to the real service process: concurrency, duplicates, bad
messages, and a SIGKILL in the middle of a stream."""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest
from sqlalchemy import func, select

from ed_alerts.attendances.models import Attendance
from ed_alerts.flags.models import Flag
from ed_alerts.ingest.models import InboundMessage, MessageStatus
from ed_alerts.services import Services
from ed_alerts.synthetic import Generator, adt
from integrations.mllp import MLLPClient, frame
from tests.conftest import DATA
from tests.e2e.service_process import ServiceProcess

pytestmark = pytest.mark.e2e


def _msa(ack: bytes) -> tuple[str, str]:
    for seg in ack.replace(b"\n", b"\r").split(b"\r"):
        if seg.startswith(b"MSA|"):
            fields = seg.decode().split("|")
            return fields[1], fields[2]
    raise AssertionError(f"no MSA in {ack!r}")


def _stream(seed: int, site: str, n: int) -> list[tuple[bytes, str, str]]:
    """(message, expected MSA-1, control id): good registrations, a bad one every 10th."""
    gen = Generator(seed=seed, now=datetime.now(UTC))
    out = []
    for i in range(n):
        cid = f"S{seed}-{i}"
        raw = adt(gen.visit(gen.child(), site), "A04", control_id=cid)
        if i % 10 == 9:
            raw = raw.replace(b"ADT^A04", b"ADT^Z99")  # unknown event: refused, kept in quarantine
            out.append((raw, "AR", cid))
        else:
            out.append((raw, "AA", cid))
    return out


def test_concurrent_connections_with_duplicates_and_bad_messages(service: ServiceProcess,
                                                                 services: Services) -> None:
    streams = [_stream(seed, "RGT01" if seed % 2 else "RGT02", 40) for seed in range(1, 7)]
    failures: list[str] = []

    def run(stream: list[tuple[bytes, str, str]]) -> None:
        client = MLLPClient("127.0.0.1", service.mllp_port, timeout=30)
        try:
            for i, (raw, expected, cid) in enumerate(stream):
                sends = 2 if i % 7 == 0 else 1  # every 7th message is sent twice
                for _ in range(sends):
                    code, control = _msa(client.send(raw))
                    if (code, control) != (expected, cid):
                        failures.append(f"{cid}: got {code} for {control}, expected {expected}")
        finally:
            client.close()

    threads = [threading.Thread(target=run, args=(s,)) for s in streams]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures[:5]

    good = sum(1 for s in streams for _, exp, _ in s if exp == "AA")
    bad = sum(1 for s in streams for _, exp, _ in s if exp != "AA")
    wait_until_processed(services)  # ACK after storage (the default): the worker applies them next
    with services.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Attendance)) == good
        by_status = dict(session.execute(
            select(InboundMessage.status, func.count()).group_by(InboundMessage.status)).all())
        duplicates = session.scalar(select(func.sum(InboundMessage.duplicate_count)))
    assert by_status == {MessageStatus.PROCESSED: good, MessageStatus.QUARANTINED: bad}
    assert duplicates == sum(1 for s in streams for i in range(len(s)) if i % 7 == 0)


def wait_until_processed(services: Services, timeout_s: float = 60) -> None:
    """Until no stored message is waiting for the ingest worker (or the timeout: the asserts then say
    what is missing)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with services.db.session() as session:
            waiting = session.scalar(select(func.count()).select_from(InboundMessage)
                                     .where(InboundMessage.status == MessageStatus.RECEIVED))
        if not waiting:
            return
        time.sleep(0.1)


EXPECTED_RULE = {"assault": "assault", "group_assault": "group_violence", "disclosure": "does_not_feel_safe",
                 "weapon": "weapon"}


def _flagged_stream(seed: int, n: int) -> list[tuple[bytes, str, str, str]]:
    """(message, control id, visit number, kind): children's registrations, most of them flagged."""
    gen = Generator(seed=seed, now=datetime.now(UTC))
    kinds = ["assault", "plain", "disclosure", "group_assault", "weapon"]
    out = []
    for i in range(n):
        visit = gen.visit(gen.child(), "RGT01", kind=kinds[i % len(kinds)])
        cid = f"K{seed}-{i}"
        out.append((adt(visit, "A04", control_id=cid), cid, visit.visit_number, kinds[i % len(kinds)]))
    return out


@pytest.mark.parametrize(("ack_mode", "worker"), [("processed", "thread"), ("stored", "thread"),
                                                  ("stored", "process")])
def test_sigkill_mid_stream_loses_nothing_and_stores_once(services: Services, db_url: str, tmp_path: Path,
                                                           ack_mode: str, worker: str) -> None:
    """A client that resends what was not acknowledged, while the service is killed twice: every
    acknowledged message is stored once, processed once, and raises each of its flags once. With
    ACK after storage, messages acknowledged but not yet processed at a kill are processed at the
    next start (or by the worker's sweep). A worker process outlives a killed service only to
    finish the message in hand."""
    service = ServiceProcess(db_url, DATA / "sites.yaml", tmp_path / "service.log",
                             ED_ALERTS_MLLP_ACK=ack_mode, ED_ALERTS_INGEST_WORKER=worker)
    service.start()
    try:
        stream = _flagged_stream(99, 150)
        acked = _send_through_kills(service, [(raw, cid) for raw, cid, _, _ in stream], kills_at={40, 90})
        assert acked == {cid for _, cid, _, _ in stream}
        wait_until_processed(services)
    finally:
        service.stop()
    assert len(service.children_seen) == (3 if worker == "process" else 0)  # one per start
    for child in service.children_seen:  # the orphans of the two kills, and the last one's
        _wait_gone(child)

    with services.db.session() as session:
        rows = session.execute(select(InboundMessage.control_id, InboundMessage.status)).all()
        visits = dict(session.execute(select(Attendance.visit_number, Attendance.id)).all())
        flags = session.execute(select(Flag.attendance_id, Flag.rule_id)).all()
    assert sorted(r[0] for r in rows) == sorted(acked)  # each acknowledged message stored exactly once
    assert {r[1] for r in rows} == {MessageStatus.PROCESSED}  # nothing half-processed
    assert len(visits) == len(stream)
    assert len(flags) == len(set(flags))  # no flag twice
    flagged = {(a, r) for a, r in flags}
    for _, _, visit_number, kind in stream:
        if kind in EXPECTED_RULE:
            assert (visits[visit_number], EXPECTED_RULE[kind]) in flagged, (visit_number, kind)
        else:
            assert not any(a == visits[visit_number] for a, _ in flagged), (visit_number, kind)


def _wait_gone(process: psutil.Process, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, f"worker process {process.pid} outlived its service"
        time.sleep(0.1)


def _send_through_kills(service: ServiceProcess, stream: list[tuple[bytes, str]], kills_at: set[int]) -> set[str]:
    acked: set[str] = set()
    kills_at = set(kills_at)
    pending = list(stream)
    sent = 0
    client = MLLPClient("127.0.0.1", service.mllp_port, timeout=10)
    while pending:
        raw, cid = pending[0]
        if sent in kills_at:
            kills_at.discard(sent)
            # Kill while a message is in flight: send without waiting, then kill.
            with socket.create_connection(("127.0.0.1", service.mllp_port)) as raw_sock:
                raw_sock.sendall(frame(raw))
                service.kill()
            client.close()
            service.start()
            client = MLLPClient("127.0.0.1", service.mllp_port, timeout=10)
            continue  # the message was not acknowledged: resend it
        try:
            code, control = _msa(client.send(raw))
        except (ConnectionError, OSError, TimeoutError):
            client.close()
            client = MLLPClient("127.0.0.1", service.mllp_port, timeout=10)
            continue
        assert (code, control) == ("AA", cid)
        acked.add(cid)
        pending.pop(0)
        sent += 1
    client.close()
    return acked
