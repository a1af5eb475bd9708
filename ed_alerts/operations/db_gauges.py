"""Figures read from the database at scrape time: flags by rule and status, decisions pending and
overdue, messages in quarantine by feed, referral deliveries waiting in the outbox.

Read at scrape time rather than counted, so they are right after a restart and the same on every
replica (aggregate them with max, not sum). Each is one query on an indexed column; the flags count
groups the whole flag table, cheap at county scale (a few hundred thousand attendances a year).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from ed_alerts.db.base import utcnow
from ed_alerts.db.session import Database
from ed_alerts.flags.models import Decision, DecisionStatus, Flag
from ed_alerts.ingest.models import InboundMessage, MessageStatus
from ed_alerts.referrals.models import OutboxStatus, ReferralOutbox
from ed_alerts.sites.registry import SiteRegistry

log = logging.getLogger(__name__)
UNREGISTERED = "unregistered"


def _families() -> dict[str, GaugeMetricFamily]:
    return {
        "flags": GaugeMetricFamily("ed_alerts_flags", "Flags by rule and status (active, withdrawn)",
                                   labels=("rule", "status")),
        "pending": GaugeMetricFamily("ed_alerts_decisions_pending", "Referral decisions not yet made"),
        "overdue": GaugeMetricFamily("ed_alerts_decisions_overdue",
                                     "Referral decisions not yet made and past their due time"),
        "quarantine": GaugeMetricFamily("ed_alerts_messages_in_quarantine",
                                        "Messages quarantined now (not yet replayed), by feed",
                                        labels=("feed",)),
        # Rises while a local authority's endpoint is down (rows stay pending, retried with backoff),
        # falls as they are delivered or given up; a depth that only grows is the alert.
        "outbox": GaugeMetricFamily("ed_alerts_referral_outbox_depth",
                                    "Referral deliveries waiting in the outbox: sent, not yet accepted, "
                                    "rejected or given up"),
        # With ACK after storage: acknowledged, waiting for the ingest worker. Near zero in steady
        # state; it rises during a burst or a catch-up and must fall again.
        "waiting": GaugeMetricFamily("ed_alerts_messages_waiting",
                                     "Messages stored and acknowledged but not yet processed"),
        "ok": GaugeMetricFamily("ed_alerts_database_scrape_ok",
                                "1 if the figures above could be read from the database, else 0"),
    }


class DatabaseGauges(Collector):
    def __init__(self, db: Database, sites: SiteRegistry) -> None:
        self._db = db
        self._sites = sites

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Names only: registering the collector must not query the database.
        yield from _families().values()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = _families()
        try:
            self._read(families)
            families["ok"].add_metric([], 1)
        except Exception:  # the counters must still be scraped when the database is down
            log.exception("metrics: could not read figures from the database")
            families = {"ok": _families()["ok"]}
            families["ok"].add_metric([], 0)
        yield from families.values()

    def _feed(self, sender: str) -> str:
        site = self._sites.lookup(sender)
        return site.code if site else UNREGISTERED

    def _read(self, families: dict[str, GaugeMetricFamily]) -> None:
        with self._db.session() as session:
            for rule, status, count in session.execute(
                select(Flag.rule_id, Flag.status, func.count()).group_by(Flag.rule_id, Flag.status)
            ):
                families["flags"].add_metric([rule, status], count)
            pending = DecisionStatus.PENDING
            families["pending"].add_metric([], session.scalar(
                select(func.count()).select_from(Decision).where(Decision.status == pending)) or 0)
            families["overdue"].add_metric([], session.scalar(
                select(func.count()).select_from(Decision)
                .where(Decision.status == pending, Decision.due_at < utcnow())) or 0)
            by_feed: dict[str, int] = {}
            for sender, count in session.execute(
                select(InboundMessage.sender, func.count())
                .where(InboundMessage.status == MessageStatus.QUARANTINED).group_by(InboundMessage.sender)
            ):
                feed = self._feed(sender)
                by_feed[feed] = by_feed.get(feed, 0) + count
            for feed, count in sorted(by_feed.items()):
                families["quarantine"].add_metric([feed], count)
            families["waiting"].add_metric([], session.scalar(
                select(func.count()).select_from(InboundMessage)
                .where(InboundMessage.status == MessageStatus.RECEIVED)) or 0)
            families["outbox"].add_metric([], session.scalar(
                select(func.count()).select_from(ReferralOutbox)
                .where(ReferralOutbox.status == OutboxStatus.PENDING)) or 0)
