"""The ingest worker: processes messages that `accept()` stored and acknowledged, in arrival order.

One thread, fed message ids by the MLLP listener when it runs with `ED_ALERTS_MLLP_ACK=stored`:
in the service process, or in a worker process of its own (worker_process.py). Only ids are queued
(a backlog of 100,000 costs a few megabytes), the message itself is read back from the inbound
store. When the queue is idle the worker also sweeps
the store for messages still `received` (left by a crash, or by another process that stopped), so
nothing stored is ever left behind; `process()` locks each message, so two workers never apply one
message twice.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Protocol

from ed_alerts import domain
from ed_alerts.ingest.pipeline import IngestContext, process_pending, process_queued

log = logging.getLogger(__name__)

_STOP = -1
_SWEEP_LIMIT = 500
# Up to this many queued messages keep the events accept() parsed (a few KB each), so the worker
# need not parse them again; beyond it (a flood, a backlog) only ids are kept and the worker
# parses the stored message itself.
KEEP_PARSED_UP_TO = 1000


class Submits(Protocol):
    """What the MLLP listener hands accepted messages to: IngestWorker, or WorkerProcess."""

    def submit(self, message_id: int, transport: str, parsed: list[domain.InboundEvent] | None = None,
               *, raw: bytes | None = None) -> None: ...


class IngestWorker:
    def __init__(self, ctx: IngestContext, *, sweep_every_s: float = 5.0,
                 sweep_at_start: bool = False) -> None:
        """`sweep_at_start`: process every message already stored as `received` before the first one
        submitted (a worker process started again after a crash: what its predecessor was sent)."""
        self._ctx = ctx
        self._queue: queue.Queue[tuple[int, str, float, list[domain.InboundEvent] | None]] = queue.Queue()
        self._sweep_every_s = sweep_every_s
        self._sweep_at_start = sweep_at_start
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.processed = 0

    @property
    def depth(self) -> int:
        """Messages acknowledged and waiting to be processed (an estimate, as with any queue)."""
        return self._queue.qsize()

    def submit(self, message_id: int, transport: str, parsed: list[domain.InboundEvent] | None = None,
               *, raw: bytes | None = None, received: float | None = None) -> None:
        """`raw` is not needed here (the message is read back from the store, or `parsed` used).
        `received`: when the message arrived (`time.perf_counter()`, the system's monotonic clock
        on Linux, so it holds across processes); now if not given."""
        keep = parsed if parsed is not None and self._queue.qsize() < KEEP_PARSED_UP_TO else None
        self._queue.put((message_id, transport, time.perf_counter() if received is None else received, keep))

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("ingest worker already started")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="ingest-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Finish the message in hand and stop; what is still queued stays stored as `received`
        and is processed at the next start."""
        if self._thread is None:
            return
        self._stopping.set()
        self._queue.put((_STOP, "", 0.0, None))
        self._thread.join(timeout_s)
        self._thread = None

    def _run(self) -> None:
        while self._sweep_at_start and not self._stopping.is_set() and self._sweep() == _SWEEP_LIMIT:
            pass
        while not self._stopping.is_set():
            try:
                message_id, transport, received, parsed = self._queue.get(timeout=self._sweep_every_s)
            except queue.Empty:
                self._sweep()
                continue
            if message_id == _STOP:
                break
            self._ctx.db.yield_to_acknowledgements()  # on SQLite: ACKs first (ed_alerts/db/session.py)
            try:
                process_queued(self._ctx, message_id, transport, received, parsed)
                self.processed += 1
            except Exception:  # the message stays `received`; the sweep retries it
                log.exception("ingest worker could not process message %s", message_id)

    def _sweep(self) -> int:
        try:
            done = process_pending(self._ctx, limit=_SWEEP_LIMIT)
        except Exception:  # a database outage: try again at the next idle moment
            log.exception("ingest worker sweep failed")
            return 0
        if done:
            log.info("ingest worker processed %s stored messages found by its sweep", done)
        return done
