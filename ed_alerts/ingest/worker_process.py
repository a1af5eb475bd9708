"""The ingest worker in a process of its own (`ED_ALERTS_INGEST_WORKER=process`; `auto` on PostgreSQL).

In one process the worker's Python work (parsing, linking the child, the clinical NLP, the ORM)
shares the GIL with the MLLP listener, so every acknowledgement queues behind it and a busy feed
slows both. In a process of its own the worker has its own interpreter and, on a machine with two
cores or more, its own core: the listener only stores, checks and acknowledges. (On SQLite the two
still take turns to write the one database file, ed_alerts/db/process_lock.py.)

The parent sends message ids down a pipe (from a thread, so a full pipe never blocks the event
loop); the child builds its own services from the same settings, runs an `IngestWorker` on them
and sends each outcome back, so the parent's observers (the ingest metrics) hear of every message
as they did. The pipe carries no guarantee: a message is committed before its id is sent, and a
worker started again after a crash first processes everything still stored as `received`, so ids
lost with a dead child (or a killed parent) are found in the store. A child whose parent died sees
the pipe close, finishes the message in hand and exits.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import signal
import threading
import time
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from ed_alerts import domain
from ed_alerts.ingest import parsers
from ed_alerts.ingest.models import ContentType
from ed_alerts.ingest.pipeline import IngestContext, IngestOutcome, notify
from ed_alerts.settings import Settings

log = logging.getLogger(__name__)

_RESTART_AFTER_S = (1.0, 2.0, 5.0, 10.0, 30.0)  # a child that keeps dying is restarted ever more slowly
_STOP_TIMEOUT_S = 30.0

# message id, transport, perf_counter at receipt, the HL7 v2 message (the child parses it before
# its transaction; without it, it reads the message back from the store)
Job = tuple[int, str, float, bytes | None]
_READY = "ready"  # the child's first word on the results pipe, once its services are built


class WorkerProcess:
    """Same `submit` as IngestWorker; `start()` spawns the child, `stop()` lets it finish and exit."""

    def __init__(self, settings: Settings, ctx: IngestContext, *, sweep_every_s: float = 5.0) -> None:
        self._settings = settings
        self._ctx = ctx  # the parent's: its observers hear of each processed message
        self._sweep_every_s = sweep_every_s
        self._mp = multiprocessing.get_context("spawn")  # never fork a process holding threads
        self._pending: queue.Queue[Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._process: BaseProcess | None = None
        self._jobs: Connection | None = None  # the parent's sending end
        self._results: Connection | None = None  # the parent's receiving end
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._connected = threading.Condition(self._lock)
        self._ready = False
        self.processed = 0
        self.restarts = 0

    @property
    def depth(self) -> int:
        """Ids not yet handed to the child (the child's own queue is not counted)."""
        return self._pending.qsize()

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None else None

    @property
    def ready(self) -> bool:
        """The child is running and has built its services (rules, clinical NLP): for /readyz."""
        process = self._process
        return self._ready and process is not None and process.is_alive()

    def submit(self, message_id: int, transport: str, parsed: list[domain.InboundEvent] | None = None,
               *, raw: bytes | None = None) -> None:
        # `parsed` is not sent: pickling it would cost the listener more than parsing costs the child.
        self._pending.put((message_id, str(transport), time.perf_counter(), raw))

    def start(self) -> None:
        if self._threads:
            raise RuntimeError("ingest worker process already started")
        self._stopping.clear()
        self._spawn(sweep_at_start=False)  # the parent has just processed what was left (app.py)
        self._threads = [
            threading.Thread(target=self._send_loop, name="ingest-worker-send", daemon=True),
            threading.Thread(target=self._watch_loop, name="ingest-worker-watch", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout_s: float = _STOP_TIMEOUT_S) -> None:
        """Ask the child to finish the message in hand and exit. Ids still queued stay stored as
        `received` and are processed at the next start."""
        if not self._threads:
            return
        self._stopping.set()
        self._pending.put(None)
        for thread in self._threads:
            thread.join(timeout_s)
        self._threads = []
        process = self._process
        if process is not None and process.is_alive():
            log.warning("ingest worker process %s did not stop in %.0f s; terminating it",
                        process.pid, timeout_s)
            process.terminate()
            process.join(5)
        self._close_pipes()

    # --- parent threads ---------------------------------------------------------------------------

    def _send_loop(self) -> None:
        while True:
            job = self._pending.get()
            with self._lock:
                while self._jobs is None and not self._stopping.is_set():
                    self._connected.wait(1.0)
                jobs = self._jobs
            if jobs is None:
                return
            try:
                jobs.send(job)  # None asks the child to stop
            except (BrokenPipeError, EOFError, OSError):
                # The child died; the watcher restarts it, and the new one sweeps the store first,
                # so this id (and any it never read) is processed all the same.
                pass
            if job is None:
                return

    def _watch_loop(self) -> None:
        failures = 0
        while True:
            with self._lock:
                process, results = self._process, self._results
            if process is None or results is None:
                return
            for ready in wait([results, process.sentinel]):
                if ready is results and self._receive(results):
                    failures = 0
            if process.is_alive():
                continue
            process.join()
            while results.poll() and self._receive(results):
                pass  # outcomes the child sent before it exited
            if self._stopping.is_set():
                return
            delay = _RESTART_AFTER_S[min(failures, len(_RESTART_AFTER_S) - 1)]
            failures += 1
            self.restarts += 1
            log.error("ingest worker process %s exited with code %s; starting another in %.0f s",
                      process.pid, process.exitcode, delay)
            if self._stopping.wait(delay):
                return
            self._spawn(sweep_at_start=True)

    def _receive(self, results: Connection) -> bool:
        try:
            message = results.recv()
        except (EOFError, OSError):  # the child is exiting: give it a moment to be reaped
            with self._lock:
                process = self._process
            if process is not None:
                process.join(5)
            return False
        if message == _READY:
            self._ready = True
            log.info("ingest worker process %s ready", self.pid)
            return True
        outcome, transport, seconds = message
        self.processed += 1
        notify(self._ctx, outcome, transport, seconds)
        return True

    def _spawn(self, *, sweep_at_start: bool) -> None:
        jobs_child, jobs_parent = self._mp.Pipe(duplex=False)
        results_parent, results_child = self._mp.Pipe(duplex=False)
        process = self._mp.Process(
            target=run_child, name="ed-alerts-ingest-worker", daemon=True,
            args=(self._settings, jobs_child, results_child, self._sweep_every_s, sweep_at_start),
        )
        process.start()
        # Only the child holds its ends now: its death closes the results pipe, ours closes the jobs one.
        jobs_child.close()
        results_child.close()
        with self._lock:
            self._close_pipes()
            self._ready = False
            self._process, self._jobs, self._results = process, jobs_parent, results_parent
            self._connected.notify_all()
        log.info("ingest worker process %s started", process.pid)

    def _close_pipes(self) -> None:
        for end in (self._jobs, self._results):
            if end is not None:
                end.close()
        self._jobs = self._results = None


# --- the child ------------------------------------------------------------------------------------


def _parse(ctx: IngestContext, raw: bytes | None) -> list[domain.InboundEvent] | None:
    """The events of an HL7 v2 message the listener accepted, or None (the worker then reads it
    back from the store and parses it inside its transaction, quarantining it if that fails)."""
    if raw is None:
        return None
    try:
        header = parsers.peek(ContentType.HL7V2, raw)
        return parsers.parse(ContentType.HL7V2, raw, site=ctx.sites.lookup(header.sender or ""))
    except Exception:  # noqa: BLE001 - accept() parsed it already; process() will say what is wrong
        return None


def run_child(settings: Settings, jobs: Connection, results: Connection, sweep_every_s: float,
              sweep_at_start: bool) -> None:
    """The child's main: build the services, run the worker, feed it ids until told to stop."""
    from ed_alerts.ingest.worker import KEEP_PARSED_UP_TO, IngestWorker
    from ed_alerts.logs import configure_logging
    from ed_alerts.services import Services

    # Ctrl-C in a terminal reaches the whole process group: the service stops this process itself,
    # after its listener, so it must not die first with a half-read pipe and a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    configure_logging(settings.log_level, json_format=settings.log_json)
    services = Services.build(settings)
    send_lock = threading.Lock()

    def report(outcome: IngestOutcome, transport: str, seconds: float) -> None:
        outcome.events = None  # the parent needs the answer, not the parsed message
        with send_lock:
            try:
                results.send((outcome, transport, seconds))
            except (BrokenPipeError, OSError):
                pass  # the parent is gone; the work is committed all the same

    services.ingest.observers[:] = [report]  # the parent's metrics count, not the child's
    # Here the clinical NLP can read a message's notes before its transaction takes the write lock.
    services.ingest.preparers.append(services.flags.read_texts)
    worker = IngestWorker(services.ingest, sweep_every_s=sweep_every_s, sweep_at_start=sweep_at_start)
    worker.start()
    with send_lock:
        results.send(_READY)
    try:
        while True:
            try:
                job = jobs.recv()
            except (EOFError, OSError):
                log.warning("ingest worker process: the service has gone; finishing and exiting")
                break
            if job is None:
                break
            message_id, transport, received, raw = job
            # Beyond KEEP_PARSED_UP_TO queued the worker would drop the events: do not parse then.
            parsed = _parse(services.ingest, raw) if worker.depth < KEEP_PARSED_UP_TO else None
            worker.submit(message_id, transport, parsed, received=received)
    finally:
        worker.stop()
        services.close()
