"""Connects the MLLP transport to the ingest pipeline: each frame is ingested, then acknowledged.

Connections come only from allowed peers, and each message only from a peer allowed for its sender
(ed_alerts/ingest/mllp_peers.py); a message refused for its peer is answered AR and not stored.
"""

from __future__ import annotations

import asyncio
import logging

from ed_alerts.errors import MessageTooLarge
from ed_alerts.ingest import parsers
from ed_alerts.ingest.acks import hl7_ack
from ed_alerts.ingest.mllp_peers import PeerPolicy, build_ssl_context
from ed_alerts.ingest.models import ContentType, Transport
from ed_alerts.ingest.pipeline import IngestContext, accept, ingest
from ed_alerts.ingest.worker import Submits
from ed_alerts.settings import Settings
from integrations import hl7v2
from integrations.mllp import MLLPServer, PeerInfo

log = logging.getLogger(__name__)

# accept() (store, commit, parse: about 0.3 ms) runs on the event loop itself when it cannot keep
# the loop waiting: on SQLite with the write gate idle (Database.writes_at_once), commits that do not
# wait for the disk (synchronous below FULL), no ingest worker process taking the database's lock
# between our transactions, and a message of ordinary size (a very large one takes long to parse).
# Handing every message to a thread and back cost more than the work: in the benchmark's flood (two
# interleaved runs each) 0.89-0.94 ms of CPU a message, 0.73-0.80 with this; 1,134-1,195 messages a
# second, 1,266-1,364 with this.
ACCEPT_ON_LOOP_UP_TO = 64 * 1024


def build_mllp_server(settings: Settings, ctx: IngestContext, worker: Submits | None = None) -> MLLPServer:
    """With a `worker`, messages are acknowledged once stored and checked (accept()), and the worker
    processes them; without one, once fully processed (ingest())."""
    peers = PeerPolicy.from_settings(settings, ctx.sites)
    may_accept_on_loop = settings.sqlite_synchronous != "FULL" and not settings.ingest_worker_process

    def accept_on_loop(raw: bytes) -> bool:
        return may_accept_on_loop and len(raw) <= ACCEPT_ON_LOOP_UP_TO and ctx.db.writes_at_once()

    async def handle(raw: bytes, peer: PeerInfo) -> bytes:
        header = hl7v2.peek_header(raw)
        refused = peers.refusal(peer.host, header.sender if header else None)
        if refused is not None:
            log.warning("MLLP message refused from %s: %s", peer, refused)
            return hl7v2.build_ack(header, "AR", text=refused, error_code="207")
        # The database work is synchronous; a thread keeps the event loop (and HTTP) responsive,
        # except where storing and checking cannot keep the loop waiting (`accept_on_loop`).
        # The ACK is built only after ingest() or accept() returned, i.e. after the commit.
        if worker is None:
            outcome = await asyncio.to_thread(ingest, ctx, raw, ContentType.HL7V2, Transport.MLLP)
            return hl7_ack(header, outcome)
        args = (ctx, raw, ContentType.HL7V2, Transport.MLLP, parsers.hl7v2_header(header))
        outcome = accept(*args) if accept_on_loop(raw) else await asyncio.to_thread(accept, *args)
        if outcome.queued:
            worker.submit(outcome.message_id, Transport.MLLP, outcome.events, raw=raw)
        return hl7_ack(header, outcome)

    def on_oversize(size: int) -> bytes:
        err = MessageTooLarge(size, settings.max_message_bytes)
        log.warning("MLLP frame of %s bytes refused (limit %s)", size, settings.max_message_bytes)
        return hl7v2.build_ack(None, "AR", text=err.reason, error_code=err.hl7_error_code)

    return MLLPServer(handle, host=settings.mllp_host, port=settings.mllp_port,
                      max_message_bytes=settings.max_message_bytes,
                      idle_timeout_s=settings.mllp_idle_timeout_s, on_oversize=on_oversize,
                      allowed_peers=peers.connection_allowlist(), ssl_context=build_ssl_context(settings))
