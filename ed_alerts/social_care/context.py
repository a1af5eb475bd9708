"""What the CP-IS lookups need from the service container, built once from settings (or not at all)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from ed_alerts.db.session import Database
from ed_alerts.flags.evaluator import FlagEvaluator
from ed_alerts.ingest.pipeline import IngestContext, IngestOutcome
from ed_alerts.settings import Settings
from integrations.cpis import ChildProtectionLookup


@dataclass
class CpisContext:
    db: Database
    settings: Settings
    client: ChildProtectionLookup
    flags: FlagEvaluator
    # Set after an ingest commits a message: the worker wakes at once instead of at its next poll.
    wakeup: threading.Event = field(default_factory=threading.Event)

    def wake(self, outcome: IngestOutcome, _transport: str, _seconds: float) -> None:
        """An IngestObserver: called after each ingest has committed."""
        if outcome.accepted and outcome.attendance_ids:
            self.wakeup.set()

    def close(self) -> None:
        close = getattr(self.client, "close", None)
        if close is not None:  # a test's stand-in client may have nothing to close
            close()


def attach_cpis(settings: Settings, db: Database, flags: FlagEvaluator, ingest: IngestContext,
                client: ChildProtectionLookup | None = None) -> CpisContext | None:
    """When ED_ALERTS_CPIS_ENABLED: the lookup context, with its trigger hooked into ingest and its
    answers fed to the flag evaluator. None (and nothing hooked: no request is ever made) when off."""
    if not settings.cpis_enabled:
        return None
    from ed_alerts.social_care.service import CpisObservations, CpisTrigger
    from integrations.cpis import CpisClient, CpisEndpoint

    if client is None:
        assert settings.cpis_url is not None  # Settings refuses enabled without a URL
        client = CpisClient(CpisEndpoint(base_url=settings.cpis_url, token=settings.cpis_token,
                                         asid=settings.cpis_asid, ods_code=settings.cpis_ods_code,
                                         timeout_s=settings.cpis_timeout_s))
    ctx = CpisContext(db=db, settings=settings, client=client, flags=flags)
    flags.observation_sources.append(CpisObservations(settings))
    # After the flag hook: the first evaluation of a registration already sees a recent answer.
    ingest.hooks.append(CpisTrigger(settings))
    ingest.observers.append(ctx.wake)
    return ctx
