"""MLLP server on asyncio: accept connections, decode frames, hand each message to a handler, send its ACK.

It knows nothing of HL7: the handler turns a payload into ACK bytes, and `on_oversize` builds the
answer to a frame that is too large. Logs carry peer addresses, sizes and counts, never content.

Behaviour worth knowing:
- One message in flight per connection: the next frame is not handed over until the previous ACK
  has been written, because the ACK must follow the handler's commit and arrive in order.
- A handler exception (or a handler returning something other than bytes) closes the connection
  without an ACK, so the sender resends; other connections carry on.
- An oversize frame is answered at once with `on_oversize(size)` and the rest of that frame is
  read and dropped; the connection then carries on with the next frame. The frame end (FS) never
  occurs inside HL7 content, so resynchronising there is reliable, and closing instead would reset
  a sender still writing the frame, which would then never read the error ACK and would resend the
  same message forever. Without `on_oversize` the connection is closed.
- `stop()` stops accepting, closes idle connections, lets handler calls in flight finish and write
  their ACKs, then closes those connections too. Frames already received behind an in-flight one
  are not processed; they were never acknowledged, so the sender resends them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import logging
import ssl
import traceback
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from integrations.mllp.framing import DEFAULT_MAX_MESSAGE_BYTES, FrameDecoder, FrameTooLarge, frame

logger = logging.getLogger(__name__)

_READ_SIZE = 65_536
_CLOSE_TIMEOUT_S = 1.0

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class PeerInfo:
    """Who sent a message: enough to attribute and audit it, without trusting anything it says."""

    host: str
    port: int
    connection_id: int
    tls: bool = False
    peercert: dict[str, Any] | None = None  # the verified client certificate under mutual TLS

    def __str__(self) -> str:
        return f"{self.host}:{self.port}#{self.connection_id}"


Handler = Callable[[bytes, PeerInfo], Awaitable[bytes]]
OversizeResponder = Callable[[int], bytes]


@dataclass(eq=False)
class _Connection:
    peer: PeerInfo
    task: asyncio.Task[Any]
    busy: bool = False  # a handler call or its ACK write is in progress: stop() must wait for it
    messages: int = 0
    bytes_in: int = 0
    closed_reason: str = "peer closed"


class MLLPServer:
    """An asyncio MLLP listener. `start()`, then `port` is the bound port (port 0 picks a free one)."""

    def __init__(
        self,
        handler: Handler,
        *,
        host: str,
        port: int,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        idle_timeout_s: float | None = 300,
        allowed_peers: set[str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        on_oversize: OversizeResponder | None = None,
    ) -> None:
        """`allowed_peers` holds IP addresses or networks ("10.1.2.3", "10.1.2.0/24"); None allows all."""
        self._handler = handler
        self.host = host
        self._requested_port = port
        self.max_message_bytes = max_message_bytes
        self.idle_timeout_s = idle_timeout_s
        self._allowed = _parse_peers(allowed_peers) if allowed_peers is not None else None
        self._ssl_context = ssl_context
        self._on_oversize = on_oversize
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._ids = itertools.count(1)
        self._stopping = False

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("MLLP server already started")
        self._stopping = False
        self._server = await asyncio.start_server(
            self._on_connect, self.host, self._requested_port, ssl=self._ssl_context
        )
        logger.info("MLLP listening on %s:%d (tls=%s)", self.host, self.port, self._ssl_context is not None)

    async def stop(self, grace_s: float | None = None) -> None:
        """Stop gracefully; after `grace_s` seconds (None: no limit) in-flight handlers are cancelled."""
        server = self._server
        if server is None:
            return
        self._stopping = True
        server.close()  # stop accepting first, so no new work arrives while we drain
        for conn in list(self._connections):
            if not conn.busy:
                conn.closed_reason = "server stopping"
                conn.task.cancel()  # parked in read(): nothing in flight to lose
        tasks = [conn.task for conn in self._connections]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace_s)
            if pending:
                logger.warning("MLLP stop: cancelling %d handler call(s) still running", len(pending))
                for conn in list(self._connections):
                    if conn.task in pending:
                        conn.closed_reason = "cancelled at stop"
                        conn.task.cancel()
                await asyncio.wait(pending)
        await server.wait_closed()
        self._server = None
        logger.info("MLLP server on %s stopped", self.host)

    async def __aenter__(self) -> MLLPServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The bound port. With several sockets (e.g. IPv4 and IPv6 for "localhost") the first one's."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("MLLP server not started")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    @property
    def serving(self) -> bool:
        """Whether the listener is accepting connections (for readiness probes)."""
        return self._server is not None and not self._stopping and self._server.is_serving()

    # --- connections ----------------------------------------------------------------------------

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peername = writer.get_extra_info("peername")
        host, port = (str(peername[0]), int(peername[1])) if peername else ("unknown", 0)
        if self._stopping:
            await _close(writer)
            return
        if self._allowed is not None and not _peer_allowed(host, self._allowed):
            logger.warning("MLLP connection from %s:%d refused: peer not allowed", host, port)
            await _close(writer)
            return

        task = asyncio.current_task()
        assert task is not None  # start_server runs each connection callback in its own task
        peer = PeerInfo(
            host=host,
            port=port,
            connection_id=next(self._ids),
            tls=writer.get_extra_info("sslcontext") is not None,
            peercert=writer.get_extra_info("peercert"),
        )
        conn = _Connection(peer=peer, task=task)
        self._connections.add(conn)
        logger.info("MLLP connection %s opened", peer)
        try:
            await self._serve(conn, reader, writer)
        except asyncio.CancelledError:
            pass  # only stop() cancels us, and it has recorded why
        except Exception as exc:  # never let one connection's failure reach the event loop
            logger.error("MLLP connection %s failed: %s", peer, type(exc).__name__)
            conn.closed_reason = f"error {type(exc).__name__}"
        finally:
            self._connections.discard(conn)
            await _close(writer)
            logger.info(
                "MLLP connection %s closed (%s) after %d message(s), %d byte(s) in",
                peer,
                conn.closed_reason,
                conn.messages,
                conn.bytes_in,
            )

    async def _serve(
        self, conn: _Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        decoder = FrameDecoder(self.max_message_bytes)
        while not self._stopping:
            conn.busy = False
            try:
                # asyncio.timeout, not wait_for: no task is created for every read.
                async with asyncio.timeout(self.idle_timeout_s):
                    data = await reader.read(_READ_SIZE)
            except TimeoutError:
                conn.closed_reason = f"idle for {self.idle_timeout_s}s"
                return
            except ConnectionError as exc:
                conn.closed_reason = f"read failed: {type(exc).__name__}"
                return
            if not data:
                if decoder.in_frame:
                    conn.closed_reason = f"peer closed mid-frame, {decoder.buffered} byte(s) dropped"
                return
            # No await between the read returning and this flag: stop() sees either idle or busy.
            conn.busy = True
            conn.bytes_in += len(data)
            if not await self._process(conn, decoder, data, writer):
                return
        conn.closed_reason = "server stopping"

    async def _process(
        self, conn: _Connection, decoder: FrameDecoder, data: bytes, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer every frame completed by `data`, in order. False when the connection must close."""
        junk_before = decoder.junk_bytes
        while True:
            oversize: FrameTooLarge | None = None
            try:
                frames = decoder.feed(data)
            except FrameTooLarge as exc:
                frames, oversize = exc.frames, exc
            data = b""  # anything left after an oversize error stays in the decoder
            for payload in frames:
                if not await self._dispatch(conn, payload, writer):
                    return False
                if self._stopping:
                    conn.closed_reason = "server stopping"
                    return False
            if oversize is None:
                break
            if not await self._answer_oversize(conn, oversize, writer):
                return False
        if decoder.junk_bytes > junk_before:
            logger.warning(
                "MLLP connection %s: skipped %d byte(s) outside frames",
                conn.peer,
                decoder.junk_bytes - junk_before,
            )
        return True

    async def _dispatch(self, conn: _Connection, payload: bytes, writer: asyncio.StreamWriter) -> bool:
        conn.messages += 1
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            ack = await self._handler(payload, conn.peer)
        except Exception as exc:
            # The exception text may quote the message, so log its type and where it came from only.
            logger.error(
                "MLLP handler raised %s for message %d (%d bytes) on %s; closing without ACK\n%s",
                type(exc).__name__,
                conn.messages,
                len(payload),
                conn.peer,
                "".join(traceback.format_tb(exc.__traceback__)).rstrip(),
            )
            conn.closed_reason = "handler error"
            return False
        if not isinstance(ack, bytes | bytearray):
            logger.error(
                "MLLP handler returned %s, not bytes, on %s; closing without ACK",
                type(ack).__name__,
                conn.peer,
            )
            conn.closed_reason = "handler error"
            return False
        logger.debug(
            "MLLP message %d on %s: %d bytes in, %d bytes ACK, %.1f ms",
            conn.messages,
            conn.peer,
            len(payload),
            len(ack),
            (loop.time() - started) * 1000,
        )
        return await self._write(conn, bytes(ack), writer)

    async def _answer_oversize(
        self, conn: _Connection, exc: FrameTooLarge, writer: asyncio.StreamWriter
    ) -> bool:
        logger.warning(
            "MLLP connection %s: frame of at least %d bytes exceeds the %d byte limit",
            conn.peer,
            exc.size,
            exc.limit,
        )
        if self._on_oversize is None:
            conn.closed_reason = "oversize frame"
            return False
        try:
            answer = self._on_oversize(exc.size)
        except Exception as cb_exc:
            logger.error("MLLP on_oversize raised %s on %s", type(cb_exc).__name__, conn.peer)
            conn.closed_reason = "oversize frame"
            return False
        return await self._write(conn, answer, writer)

    async def _write(self, conn: _Connection, ack: bytes, writer: asyncio.StreamWriter) -> bool:
        try:
            writer.write(frame(ack))
            # A peer that never reads would otherwise hold this connection open forever. An ACK the
            # socket took at once leaves nothing to drain, the common case: no timer for it.
            if writer.transport.get_write_buffer_size():
                async with asyncio.timeout(self.idle_timeout_s):
                    await writer.drain()
        except (ConnectionError, TimeoutError) as exc:
            # The handler has committed; the lost ACK makes the sender resend, so dedupe downstream.
            conn.closed_reason = f"ACK write failed: {type(exc).__name__}"
            return False
        return True


def _parse_peers(peers: Iterable[str]) -> list[IPNetwork]:
    return [ipaddress.ip_network(p.strip(), strict=False) for p in peers]


def _peer_allowed(host: str, allowed: list[IPNetwork]) -> bool:
    try:
        address: IPAddress = ipaddress.ip_address(host.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # a dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d
    return any(address in network for network in allowed)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    try:
        # close() waits to flush; a peer that stopped reading must not keep us waiting.
        await asyncio.wait_for(writer.wait_closed(), _CLOSE_TIMEOUT_S)
    except TimeoutError:
        writer.transport.abort()
    except (ConnectionError, ssl.SSLError):
        pass  # already gone
