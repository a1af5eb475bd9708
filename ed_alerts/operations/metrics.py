"""One Prometheus registry per service (not the process-wide default: tests build many apps in one
process, and each app's figures must be its own), and the text it is scraped as."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Gauge,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)

from ed_alerts.db.session import Database
from ed_alerts.evaluation import RulePack
from ed_alerts.operations.db_gauges import DatabaseGauges
from ed_alerts.operations.ingest_metrics import IngestMetrics
from ed_alerts.sites.registry import SiteRegistry

CONTENT_TYPE = CONTENT_TYPE_LATEST


@dataclass
class Metrics:
    registry: CollectorRegistry
    ingest: IngestMetrics

    @classmethod
    def build(cls, db: Database, sites: SiteRegistry, pack: RulePack) -> Metrics:
        registry = CollectorRegistry()
        process_collector.ProcessCollector(registry=registry)
        platform_collector.PlatformCollector(registry=registry)
        gc_collector.GCCollector(registry=registry)
        ingest = IngestMetrics(registry, sites)
        registry.register(DatabaseGauges(db, sites))
        # Which rule pack is answering: its digest changes with any rule or code list edit.
        loaded = Gauge("ed_alerts_rule_pack_rules", "Rules in the loaded rule pack, by pack digest",
                       ("digest",), registry=registry)
        loaded.labels(pack.digest[:12]).set(len(pack.rules))
        return cls(registry=registry, ingest=ingest)

    def render(self) -> bytes:
        return generate_latest(self.registry)
