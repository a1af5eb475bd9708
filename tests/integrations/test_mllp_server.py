"""MLLP server and clients over real TCP sockets on 127.0.0.1 (port 0)."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest

from integrations.mllp import (
    AsyncMLLPClient,
    FrameDecoder,
    Handler,
    MLLPClient,
    MLLPConnectionClosed,
    MLLPServer,
    PeerInfo,
    frame,
)
from integrations.mllp.server import _peer_allowed, _parse_peers

T = TypeVar("T")
SECRET = b"PID|1||9434765919^^^NHS||DOE^JANE"  # stands in for patient content: must never be logged


def msg(n: int | str) -> bytes:
    return b"MSH|^~\\&|EDIS|RX1|EDALERTS|HUB|20240501||ADT^A04|C%s|P|2.4\r" % str(n).encode() + SECRET + b"\r"


def ack_for(payload: bytes) -> bytes:
    control_id = payload.split(b"\r")[0].split(b"|")[9]
    return b"MSH|^~\\&|EDALERTS\rMSA|AA|" + control_id + b"\r"


async def echo_ack(payload: bytes, peer: PeerInfo) -> bytes:
    return ack_for(payload)


def run(coro: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(asyncio.wait_for(coro(), 10))  # a hung test fails instead of hanging the run


def server(handler: Handler = echo_ack, **kwargs: Any) -> MLLPServer:
    return MLLPServer(handler, host="127.0.0.1", port=0, **kwargs)


def assert_no_content_logged(caplog: pytest.LogCaptureFixture) -> None:
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "DOE" not in text and "9434765919" not in text


# --- ordering and concurrency -------------------------------------------------------------------


def test_many_messages_on_one_connection_answered_in_order() -> None:
    async def main() -> None:
        async with server() as srv, AsyncMLLPClient("127.0.0.1", srv.port, timeout=2) as client:
            for i in range(50):
                assert await client.send(msg(i)) == ack_for(msg(i))

    run(main)


def test_pipelined_frames_are_handled_one_at_a_time_in_order() -> None:
    in_flight, most_in_flight = 0, 0
    seen: list[bytes] = []

    async def slow_handler(payload: bytes, peer: PeerInfo) -> bytes:
        nonlocal in_flight, most_in_flight
        in_flight += 1
        most_in_flight = max(most_in_flight, in_flight)
        await asyncio.sleep(random.random() / 200)
        seen.append(payload)
        in_flight -= 1
        return ack_for(payload)

    async def main() -> None:
        async with server(slow_handler) as srv:
            reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
            writer.write(b"".join(frame(msg(i)) for i in range(10)))  # all in one write
            decoder, acks = FrameDecoder(), []
            while len(acks) < 10 and (data := await reader.read(4096)):
                acks += decoder.feed(data)
            writer.close()
        assert most_in_flight == 1  # one in flight per connection: each ACK follows its commit
        assert seen == [msg(i) for i in range(10)]
        assert acks == [ack_for(msg(i)) for i in range(10)]

    run(main)


def test_20_concurrent_connections_of_20_messages() -> None:
    peers: set[int] = set()

    async def handler(payload: bytes, peer: PeerInfo) -> bytes:
        peers.add(peer.connection_id)
        await asyncio.sleep(0)  # let the connections interleave
        return ack_for(payload)

    async def one_client(port: int, c: int) -> None:
        async with AsyncMLLPClient("127.0.0.1", port, timeout=5) as client:
            for i in range(20):
                assert await client.send(msg(f"{c}-{i}")) == ack_for(msg(f"{c}-{i}"))

    async def main() -> None:
        async with server(handler) as srv:
            await asyncio.gather(*(one_client(srv.port, c) for c in range(20)))

    run(main)
    assert len(peers) == 20


# --- timeouts, peers, failures -------------------------------------------------------------------


def test_idle_connection_is_closed() -> None:
    async def main() -> None:
        async with server(idle_timeout_s=0.1) as srv:
            reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
            started = time.monotonic()
            assert await asyncio.wait_for(reader.read(100), 2) == b""
            assert time.monotonic() - started < 1
            writer.close()

    run(main)


def test_activity_keeps_connection_open_past_idle_timeout() -> None:
    async def main() -> None:
        async with server(idle_timeout_s=0.15) as srv, AsyncMLLPClient("127.0.0.1", srv.port) as client:
            for i in range(4):
                await asyncio.sleep(0.08)
                assert await client.send(msg(i)) == ack_for(msg(i))

    run(main)


def test_disallowed_peer_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[bytes] = []

    async def handler(payload: bytes, peer: PeerInfo) -> bytes:
        calls.append(payload)
        return ack_for(payload)

    async def main() -> None:
        async with server(handler, allowed_peers={"10.9.9.9"}) as srv:
            with pytest.raises(ConnectionError):
                async with AsyncMLLPClient("127.0.0.1", srv.port, timeout=2) as client:
                    await client.send(msg(1))

    with caplog.at_level(logging.INFO, logger="integrations.mllp"):
        run(main)
    assert calls == []
    assert any("refused" in r.getMessage() and "127.0.0.1" in r.getMessage() for r in caplog.records)
    assert_no_content_logged(caplog)


def test_allowed_peer_by_network() -> None:
    async def main() -> None:
        async with server(allowed_peers={"10.0.0.0/8", "127.0.0.0/8"}) as srv:
            async with AsyncMLLPClient("127.0.0.1", srv.port, timeout=2) as client:
                assert await client.send(msg(1)) == ack_for(msg(1))

    run(main)


def test_peer_matching_handles_ipv4_mapped_and_garbage() -> None:
    allowed = _parse_peers({"192.0.2.10", "2001:db8::/32"})
    assert _peer_allowed("::ffff:192.0.2.10", allowed)
    assert _peer_allowed("2001:db8::5", allowed)
    assert not _peer_allowed("192.0.2.11", allowed)
    assert not _peer_allowed("not-an-ip", allowed)


def test_handler_exception_closes_that_connection_without_ack(caplog: pytest.LogCaptureFixture) -> None:
    async def handler(payload: bytes, peer: PeerInfo) -> bytes:
        if b"|CBOOM|" in payload:
            raise ValueError(f"cannot parse {payload!r}")  # exception text quoting content
        return ack_for(payload)

    async def main() -> None:
        async with server(handler) as srv:
            async with AsyncMLLPClient("127.0.0.1", srv.port, timeout=2) as bystander:
                assert await bystander.send(msg(1)) == ack_for(msg(1))
                failing = AsyncMLLPClient("127.0.0.1", srv.port, timeout=2)
                with pytest.raises(MLLPConnectionClosed):
                    await failing.send(msg("BOOM"))
                assert not failing.connected
                # the other connection, and new ones, carry on
                assert await bystander.send(msg(2)) == ack_for(msg(2))
                assert await failing.send(msg(3)) == ack_for(msg(3))  # reconnects on the next send
                await failing.close()

    with caplog.at_level(logging.DEBUG, logger="integrations.mllp"):
        run(main)
    assert any("ValueError" in r.getMessage() for r in caplog.records)
    assert_no_content_logged(caplog)


def test_handler_returning_non_bytes_closes_connection() -> None:
    async def handler(payload: bytes, peer: PeerInfo) -> bytes:
        return None  # type: ignore[return-value]

    async def main() -> None:
        async with server(handler) as srv, AsyncMLLPClient("127.0.0.1", srv.port, timeout=2) as client:
            with pytest.raises(MLLPConnectionClosed):
                await client.send(msg(1))

    run(main)


def test_oversize_frame_answered_then_connection_carries_on(caplog: pytest.LogCaptureFixture) -> None:
    sizes: list[int] = []

    def on_oversize(size: int) -> bytes:
        sizes.append(size)
        return b"MSA|AR|too large"

    async def main() -> None:
        async with server(max_message_bytes=1000, on_oversize=on_oversize) as srv:
            async with AsyncMLLPClient("127.0.0.1", srv.port, timeout=2) as client:
                assert await client.send(msg(1) + b"X" * 100_000) == b"MSA|AR|too large"
                assert await client.send(msg(2)) == ack_for(msg(2))

    with caplog.at_level(logging.DEBUG, logger="integrations.mllp"):
        run(main)
    assert len(sizes) == 1 and sizes[0] > 1000
    assert_no_content_logged(caplog)


def test_oversize_frame_without_responder_closes_connection() -> None:
    async def main() -> None:
        async with server(max_message_bytes=1000) as srv:
            client = AsyncMLLPClient("127.0.0.1", srv.port, timeout=2)
            with pytest.raises(ConnectionError):
                await client.send(b"X" * 5000)
            assert await client.send(msg(1)) == ack_for(msg(1))
            await client.close()

    run(main)


# --- stop ----------------------------------------------------------------------------------------


def test_stop_lets_in_flight_handler_finish() -> None:
    finished: list[bytes] = []

    async def main() -> None:
        entered, release = asyncio.Event(), asyncio.Event()

        async def handler(payload: bytes, peer: PeerInfo) -> bytes:
            entered.set()
            await release.wait()
            finished.append(payload)
            return ack_for(payload)

        srv = server(handler)
        await srv.start()
        port = srv.port
        busy = AsyncMLLPClient("127.0.0.1", port, timeout=2)
        idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", port)
        send = asyncio.create_task(busy.send(msg(1)))
        await entered.wait()

        stopping = asyncio.create_task(srv.stop())
        assert await asyncio.wait_for(idle_reader.read(10), 1) == b""  # idle connection closed at once
        assert not stopping.done()  # still waiting on the handler
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", port)  # no longer accepting

        release.set()
        assert await send == ack_for(msg(1))  # the in-flight message still gets its ACK
        await asyncio.wait_for(stopping, 1)
        assert finished == [msg(1)]
        assert srv.connection_count == 0
        await busy.close()
        idle_writer.close()

    run(main)


def test_stop_grace_cancels_stuck_handler() -> None:
    async def stuck(payload: bytes, peer: PeerInfo) -> bytes:
        await asyncio.sleep(60)
        return b""

    async def main() -> None:
        srv = server(stuck)
        await srv.start()
        client = AsyncMLLPClient("127.0.0.1", srv.port, timeout=2)
        send = asyncio.create_task(client.send(msg(1)))
        await asyncio.sleep(0.05)
        await asyncio.wait_for(srv.stop(grace_s=0.05), 1)
        with pytest.raises(MLLPConnectionClosed):
            await send

    run(main)


# --- the blocking client against a server on a background event loop ----------------------------


@contextmanager
def server_in_thread(handler: Handler = echo_ack) -> Iterator[MLLPServer]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    srv = server(handler)
    try:
        asyncio.run_coroutine_threadsafe(srv.start(), loop).result(5)
        yield srv
    finally:
        asyncio.run_coroutine_threadsafe(srv.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def test_blocking_client_sends_and_reconnects() -> None:
    with server_in_thread() as srv, MLLPClient("127.0.0.1", srv.port, timeout=2) as client:
        assert client.send(msg(1)) == ack_for(msg(1))
        client.reconnect()
        assert client.send(msg(2)) == ack_for(msg(2))


def test_blocking_clients_in_threads() -> None:
    errors: list[BaseException] = []

    def worker(c: int, port: int) -> None:
        try:
            with MLLPClient("127.0.0.1", port, timeout=5) as client:
                for i in range(10):
                    assert client.send(msg(f"{c}-{i}")) == ack_for(msg(f"{c}-{i}"))
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assert below
            errors.append(exc)

    with server_in_thread() as srv:
        threads = [threading.Thread(target=worker, args=(c, srv.port)) for c in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
    assert errors == []


def test_blocking_client_times_out_and_closes() -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    try:
        client = MLLPClient("127.0.0.1", listener.getsockname()[1], timeout=0.1)
        with pytest.raises(TimeoutError):
            client.send(msg(1))
        assert not client.connected  # a late ACK must not be read as the next message's answer
    finally:
        listener.close()


def test_blocking_client_sees_close_without_ack() -> None:
    async def boom(payload: bytes, peer: PeerInfo) -> bytes:
        raise RuntimeError("boom")

    with server_in_thread(boom) as srv:
        client = MLLPClient("127.0.0.1", srv.port, timeout=2)
        with pytest.raises(MLLPConnectionClosed):
            client.send(msg(1))
        assert not client.connected
