"""MLLP clients, blocking and asyncio: send a message, wait for the ACK. Used by tests, load and demo feeds.

Both connect on first `send()` and stay connected. Any failure during a send (timeout, reset, the
peer closing without an ACK) closes the connection, because the stream's state is then unknown: a
late ACK would be taken as the answer to the next message. `send()` after a failure connects
afresh; `reconnect()` does so explicitly. Neither retries by itself: whether to resend is the
caller's decision.
"""

from __future__ import annotations

import asyncio
import collections
import socket
import ssl
import time

from integrations.mllp.framing import DEFAULT_MAX_MESSAGE_BYTES, FrameDecoder, frame

_READ_SIZE = 65_536


class MLLPConnectionClosed(ConnectionError):
    """The peer closed the connection before answering the message."""


class MLLPClient:
    """Blocking MLLP client. `timeout` bounds connecting and each whole `send()`."""

    def __init__(
        self,
        host: str,
        port: int,
        timeout: float = 10.0,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._ssl_context = ssl_context
        self._max_message_bytes = max_message_bytes
        self._sock: socket.socket | None = None
        self._decoder = FrameDecoder(max_message_bytes)
        self._ready: collections.deque[bytes] = collections.deque()

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def connect(self) -> None:
        if self._sock is not None:
            return
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        if self._ssl_context is not None:
            sock = self._ssl_context.wrap_socket(sock, server_hostname=self.host)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # small frames, answered one by one
        self._sock = sock
        self._decoder = FrameDecoder(self._max_message_bytes)
        self._ready.clear()

    def reconnect(self) -> None:
        self.close()
        self.connect()

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def send(self, message: bytes) -> bytes:
        """Send one message and return the payload of the frame that answers it."""
        self.connect()
        assert self._sock is not None
        deadline = time.monotonic() + self.timeout
        try:
            self._sock.settimeout(self.timeout)
            self._sock.sendall(frame(message))
            while not self._ready:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no MLLP ACK within {self.timeout}s")
                self._sock.settimeout(remaining)
                data = self._sock.recv(_READ_SIZE)
                if not data:
                    raise MLLPConnectionClosed("MLLP peer closed the connection without an ACK")
                self._ready.extend(self._decoder.feed(data))
            return self._ready.popleft()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> MLLPClient:
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncMLLPClient:
    """The asyncio twin of `MLLPClient`, same methods as coroutines."""

    def __init__(
        self,
        host: str,
        port: int,
        timeout: float = 10.0,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._ssl_context = ssl_context
        self._max_message_bytes = max_message_bytes
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._decoder = FrameDecoder(max_message_bytes)
        self._ready: collections.deque[bytes] = collections.deque()

    @property
    def connected(self) -> bool:
        return self._writer is not None

    async def connect(self) -> None:
        if self._writer is not None:
            return
        async with asyncio.timeout(self.timeout):
            self._reader, self._writer = await asyncio.open_connection(
                self.host, self.port, ssl=self._ssl_context
            )
        self._decoder = FrameDecoder(self._max_message_bytes)
        self._ready.clear()

    async def reconnect(self) -> None:
        await self.close()
        await self.connect()

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), self.timeout)
            except (OSError, TimeoutError):
                writer.transport.abort()

    def _drop(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.transport.abort()

    async def send(self, message: bytes) -> bytes:
        """Send one message and return the payload of the frame that answers it."""
        await self.connect()
        assert self._reader is not None and self._writer is not None
        try:
            async with asyncio.timeout(self.timeout):
                self._writer.write(frame(message))
                await self._writer.drain()
                while not self._ready:
                    data = await self._reader.read(_READ_SIZE)
                    if not data:
                        raise MLLPConnectionClosed("MLLP peer closed the connection without an ACK")
                    self._ready.extend(self._decoder.feed(data))
            return self._ready.popleft()
        except BaseException:
            self._drop()  # not awaited: this path also runs on cancellation
            raise

    async def __aenter__(self) -> AsyncMLLPClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
