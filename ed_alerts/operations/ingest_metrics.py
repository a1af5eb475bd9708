"""Counters and timings for inbound messages, fed by the ingest pipeline's observer hook.

The `feed` label is the registered site code, or "unregistered": the sender is whatever a message
says in MSH-4, and an unbounded label set from untrusted input would let any caller grow our memory.
/api/feeds names unregistered senders one by one.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from ed_alerts.ingest.pipeline import IngestOutcome
from ed_alerts.sites.registry import SiteRegistry

UNREGISTERED = "unregistered"
# Most messages finish in tens of milliseconds; clinical NLP on long notes and SQLite write waits
# take some to seconds.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry, sites: SiteRegistry) -> None:
        self._sites = sites
        labels = ("feed", "transport")
        self.received = Counter("ed_alerts_messages_received", "Messages received, duplicates included",
                                labels, registry=registry)
        self.processed = Counter("ed_alerts_messages_processed", "Messages processed and acknowledged AA",
                                 labels, registry=registry)
        self.duplicate = Counter("ed_alerts_messages_duplicate",
                                 "Messages already received (same sender and control id), answered as before",
                                 labels, registry=registry)
        self.quarantined = Counter("ed_alerts_messages_quarantined",
                                   "Messages that could not be processed, kept with the reason",
                                   labels, registry=registry)
        self.duration = Histogram("ed_alerts_ingest_duration_seconds",
                                  "Time from receipt to commit of one message (store, parse, link, rules)",
                                  ("transport",), buckets=DURATION_BUCKETS, registry=registry)

    def feed(self, sender: str | None) -> str:
        site = self._sites.lookup(sender) if sender else None
        return site.code if site else UNREGISTERED

    def observe(self, outcome: IngestOutcome, transport: str, seconds: float) -> None:
        """The pipeline's observer: called once per ingest() after it has committed."""
        labels = (self.feed(outcome.sender), transport)
        self.received.labels(*labels).inc()
        self.duration.labels(transport).observe(seconds)
        if outcome.duplicate:
            self.duplicate.labels(*labels).inc()
        elif outcome.accepted:
            self.processed.labels(*labels).inc()
        else:
            self.quarantined.labels(*labels).inc()
