"""Where the MLLP listener stores and checks a message (ACK after storage): on its event loop when
nothing can keep the loop waiting, in a thread otherwise. Handing every message to a thread cost
more than the work itself; but a loop that waits for the write gate would stop every connection
and the HTTP API with it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select

from ed_alerts.ingest import mllp_listener
from ed_alerts.ingest.models import InboundMessage
from ed_alerts.services import Services
from ed_alerts.settings import Settings
from integrations.mllp import AsyncMLLPClient
from tests.auth.helpers import adt_for


class _Queue:
    """Stands in for the ingest worker: the listener only hands it the ids of accepted messages."""

    def __init__(self) -> None:
        self.ids: list[int] = []

    def submit(self, message_id: int, transport: str, parsed: Any = None, *, raw: bytes | None = None) -> None:
        self.ids.append(message_id)


def _send(port: int, message: bytes) -> bytes:
    async def go() -> bytes:
        client = AsyncMLLPClient("127.0.0.1", port)
        try:
            return await client.send(message)
        finally:
            await client.close()

    return asyncio.run(asyncio.wait_for(go(), 20))


def _run(settings: Settings, services: Services, monkeypatch: pytest.MonkeyPatch,
         body: Callable[[int, int, list[int]], Awaitable[None]], *, queue: _Queue | None = None) -> None:
    """Start the real listener on a free port and run `body(port, loop thread, accept threads)`."""
    accepted_on: list[int] = []
    real_accept = mllp_listener.accept

    def recording_accept(*args: Any, **kwargs: Any) -> Any:
        accepted_on.append(threading.get_ident())
        return real_accept(*args, **kwargs)

    monkeypatch.setattr(mllp_listener, "accept", recording_accept)

    async def main() -> None:
        server = mllp_listener.build_mllp_server(settings.model_copy(update={"mllp_port": 0}), services.ingest,
                                                 queue or _Queue())
        await server.start()
        try:
            await body(server.port, threading.get_ident(), accepted_on)
        finally:
            await server.stop()

    asyncio.run(main())


def test_an_ordinary_message_is_stored_on_the_loop_when_the_gate_is_idle(
        settings: Settings, services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    sqlite = services.db.engine.dialect.name == "sqlite"
    queue = _Queue()

    async def body(port: int, loop_thread: int, accepted_on: list[int]) -> None:
        ack = await asyncio.to_thread(_send, port, adt_for("RGT01", "L-1"))
        assert b"MSA|AA|L-1" in ack
        # On PostgreSQL a commit waits for the server and its disk: always in a thread.
        assert (accepted_on == [loop_thread]) is sqlite

        monkeypatch.setattr(mllp_listener, "ACCEPT_ON_LOOP_UP_TO", 100)  # as if the message were huge
        ack = await asyncio.to_thread(_send, port, adt_for("RGT01", "L-2", seed=8))
        assert b"MSA|AA|L-2" in ack
        assert accepted_on[1] != loop_thread

    _run(settings, services, monkeypatch, body, queue=queue)
    with services.db.session() as s:
        stored = s.scalars(select(InboundMessage.id).order_by(InboundMessage.id)).all()
    assert stored == queue.ids and len(stored) == 2


def test_with_a_disk_write_per_commit_every_message_goes_to_a_thread(
        settings: Settings, services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    full = settings.model_copy(update={"sqlite_synchronous": "FULL"})

    async def body(port: int, loop_thread: int, accepted_on: list[int]) -> None:
        ack = await asyncio.to_thread(_send, port, adt_for("RGT01", "F-1"))
        assert b"MSA|AA|F-1" in ack
        assert accepted_on and loop_thread not in accepted_on

    _run(full, services, monkeypatch, body)


def test_while_another_transaction_holds_the_gate_the_loop_keeps_serving(
        settings: Settings, services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    if services.db.engine.dialect.name != "sqlite":
        pytest.skip("the write gate is SQLite's")
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with services.db.session():  # takes the gate, as the ingest worker's transaction would
            held.set()
            release.wait(5)

    async def body(port: int, loop_thread: int, accepted_on: list[int]) -> None:
        holder = threading.Thread(target=hold)
        holder.start()
        held.wait(5)
        sending = asyncio.ensure_future(asyncio.to_thread(_send, port, adt_for("RGT01", "G-1")))
        # Had the listener waited for the gate on the loop, the loop would stand still until the
        # holder gave up (5 s), and these ticks would not happen.
        ticks, started = 0, time.monotonic()
        while time.monotonic() - started < 0.3:
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks >= 10
        assert not sending.done()  # the message waits for the gate, in a thread
        release.set()
        ack = await sending
        await asyncio.to_thread(holder.join, 5)
        assert b"MSA|AA|G-1" in ack
        assert accepted_on and loop_thread not in accepted_on

    _run(settings, services, monkeypatch, body)
