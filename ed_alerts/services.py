"""The service container: everything built once from settings (database, registry, pipeline)."""

from __future__ import annotations

from dataclasses import dataclass

from ed_alerts.db.session import Database
from ed_alerts.ingest.pipeline import IngestContext
from ed_alerts.settings import Settings
from ed_alerts.sites.registry import SiteRegistry
from integrations import hl7v2


@dataclass
class Services:
    settings: Settings
    db: Database
    sites: SiteRegistry
    ingest: IngestContext

    @classmethod
    def build(cls, settings: Settings) -> Services:
        hl7v2.warm_up()  # hl7apy's structure tables load once here, not on the first message
        db = Database.from_settings(settings)
        sites = SiteRegistry.load(settings.sites_file, settings.default_trust)
        return cls(settings=settings, db=db, sites=sites, ingest=IngestContext(db=db, sites=sites))

    def close(self) -> None:
        self.db.dispose()
