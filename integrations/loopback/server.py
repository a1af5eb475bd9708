"""A fake external service as a real HTTP server on loopback, for development and tests.

`LoopbackFake` is the lifecycle every fake shares: uvicorn on a background thread, on a socket
bound here (a free port by default), start/stop and a context manager, and going down (the socket
really closed, so connections are refused) and coming back up on the same port, by itself after
N seconds if asked. Optionally it also serves an always-up control app on a second port, the only
way over HTTP to bring back a fake that was told to go down for good.

A fake subclasses it with its own app (which includes `status_router`), state and steering. Its
state holds the mode (a StrEnum with an "ok" and a "down" member at least) in `settings.mode`,
changed only through `configure`.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar

import uvicorn
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp

START_TIMEOUT_S = 10.0

ModeT = TypeVar("ModeT", bound=StrEnum)
ModeT_co = TypeVar("ModeT_co", bound=StrEnum, covariant=True)
FakeT = TypeVar("FakeT", bound="LoopbackFake[Any]")


class _Settings(Protocol[ModeT_co]):
    @property
    def mode(self) -> ModeT_co: ...


class FakeState(Protocol[ModeT_co]):
    """What the lifecycle needs of a fake's state: read the mode, change it, start afresh."""

    @property
    def settings(self) -> _Settings[ModeT_co]: ...

    def configure(self, **changes: Any) -> object: ...

    def reset(self, *, settings: bool = False) -> None: ...

    def snapshot(self) -> dict[str, Any]: ...


def status_router(state: FakeState[Any]) -> APIRouter:
    """The control routes every fake serves alike: /_health (what a FakeControlClient's wait_ready
    polls) and /_reset (forget what was received). Each fake adds its own /_control and reports."""
    router = APIRouter()

    @router.post("/_reset")
    def reset() -> JSONResponse:
        state.reset()
        return JSONResponse(state.snapshot())

    @router.get("/_health")
    def health() -> JSONResponse:
        return JSONResponse({"status": "ok", "mode": state.settings.mode.value})

    return router


class ServerThread:
    """One uvicorn server on one already-bound socket, on a daemon thread."""

    def __init__(self, app: ASGIApp, sock: socket.socket, name: str, *, force_exit: bool = False) -> None:
        # Access logs off: a request line can carry what a fake must not log (an NHS number searched).
        config = uvicorn.Config(app, lifespan="off", log_config=None, access_log=False,
                                timeout_graceful_shutdown=1, timeout_keep_alive=5)
        self.server = uvicorn.Server(config)
        self.force_exit = force_exit
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, name=name,
                                       daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.thread.name} did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        if self.force_exit:
            self.server.force_exit = True  # an answer stalled in flight must not hold the fake up
        # A thread cannot join itself: stop may be reached from within the server's own thread.
        if threading.current_thread() is not self.thread:
            self.thread.join(START_TIMEOUT_S)


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port (0: a free port), not yet listening: uvicorn listens on it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # Going down and up again reuses the port while old connections sit in TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def http_url(host: str, port: int) -> str:
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}"


class LoopbackFake(Generic[ModeT]):
    """A fake listening on loopback that can go down and come back up; a context manager.

    `up` and `down` are the members of the fake's mode enum for "answering normally" and "not
    listening". `force_exit` stops the server without waiting for answers in flight (a fake whose
    slow mode stalls longer than uvicorn's graceful shutdown). `control_app` and `control_port`
    (0: a free port) add the always-up control server.
    """

    def __init__(self, host: str, port: int, *, state: FakeState[ModeT], app: ASGIApp, up: ModeT, down: ModeT,
                 thread_name: str, force_exit: bool = False, control_app: ASGIApp | None = None,
                 control_port: int | None = None) -> None:
        if (control_app is None) != (control_port is None):
            raise ValueError("a control port needs a control app, and the other way round")
        self.host = host
        self.port = port
        self.state = state
        self.has_control_port = control_port is not None
        self._app = app
        self._up = up
        self._down = down
        self._thread_name = thread_name
        self._force_exit = force_exit
        self._control_app = control_app
        self._control_port = control_port
        self._server: ServerThread | None = None
        self._control: ServerThread | None = None
        self._lock = threading.RLock()  # re-entrant: set_mode and reset call go_down/come_up
        self._timer: threading.Timer | None = None
        self._closed = False

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Self:
        with self._lock:
            if self._control_app is not None and self._control_port is not None and self._control is None:
                sock = bind(self.host, self._control_port)
                self._control_port = sock.getsockname()[1]
                self._control = ServerThread(self._control_app, sock, f"{self._thread_name}-control",
                                             force_exit=self._force_exit)
                self._control.start()
            if self.state.settings.mode is not self._down:
                self._listen()
            elif not self.port:
                raise ValueError("a fake that starts down needs a fixed port to come up on")
        return self

    def stop(self) -> None:
        with self._lock:
            self._closed = True  # a pending come-back timer, or a late come_up, must not reopen it
            self._cancel_timer()
            for server in (self._server, self._control):
                if server is not None:
                    server.stop()
            self._server = self._control = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _listen(self) -> None:
        sock = bind(self.host, self.port)
        self.port = sock.getsockname()[1]  # fixed from now on, so coming back up keeps the URL
        self._server = ServerThread(self._app, sock, f"{self._thread_name}-{self.port}",
                                    force_exit=self._force_exit)
        self._server.start()

    # --- down and up ---------------------------------------------------------------------------

    def go_down(self, for_s: float | None = None) -> None:
        """Stop listening (connections are refused); come back by itself after `for_s` if given."""
        with self._lock:
            self._cancel_timer()
            self.state.configure(mode=self._down)
            if self._server is not None:
                self._server.stop()
                self._server = None
            if for_s is not None and not self._closed:
                self._timer = threading.Timer(for_s, self.come_up)
                self._timer.daemon = True
                self._timer.start()

    def come_up(self) -> None:
        """Listen again on the same port; a fake that was down answers ok until told otherwise."""
        with self._lock:
            self._cancel_timer()
            if self._closed:
                return
            if self.state.settings.mode is self._down:
                self.state.configure(mode=self._up)
            if self._server is None:
                self._listen()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # --- steering ------------------------------------------------------------------------------

    def set_mode(self, mode: ModeT | str, **settings: Any) -> None:
        """Any mode of the fake; settings as its state's `configure` takes them."""
        chosen = type(self._down)(mode)
        if settings:
            self.state.configure(**settings)
        if chosen is self._down:
            self.go_down()
        else:
            self.state.configure(mode=chosen)
            self.come_up()

    def reset(self, *, settings: bool = False) -> None:
        """Forget what was received; with `settings`, also the mode and options it started with."""
        if settings and self.state.settings.mode is self._down:
            self.come_up()
        self.state.reset(settings=settings)

    # --- introspection -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return http_url(self.host, self.port)

    @property
    def control_url(self) -> str:
        """Where the control routes always answer: the control port if any, else the main port."""
        if self._control_port is None:
            return self.base_url
        return http_url(self.host, self._control_port)

    @property
    def mode(self) -> ModeT:
        return self.state.settings.mode


def run_until_stopped(fake: FakeT, ready: Callable[[FakeT], None] | None = None) -> None:
    """Run a fake in the foreground until Ctrl+C or SIGTERM (how `ed-alerts fake-*` serve)."""
    stop = threading.Event()
    # signal.signal raises off the main thread; there, SIGTERM is left to whoever owns the process.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with fake:
        if ready is not None:
            ready(fake)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
