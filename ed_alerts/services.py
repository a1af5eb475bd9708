"""The service container: everything built once from settings (database, registry, rules, pipeline)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ed_alerts.db.session import Database
from ed_alerts.evaluation import RulePack, TextFindingLike, check_text_concepts, load_pack
from ed_alerts.evaluation.text import DisclosureDetector
from ed_alerts.flags.evaluator import FlagEvaluator
from ed_alerts.ingest.pipeline import IngestContext
from ed_alerts.operations.metrics import Metrics
from ed_alerts.referrals.authorities import LocalAuthorityRegistry
from ed_alerts.referrals.context import ReferralContext
from ed_alerts.settings import Settings
from ed_alerts.sites.registry import SiteRegistry
from ed_alerts.social_care.context import CpisContext, attach_cpis
from integrations import hl7v2
from integrations.local_authority import ReferralSender

log = logging.getLogger(__name__)


class SerialisedDetector:
    """medspaCy's PyRuSH sentence splitter is not thread-safe (it fails with IndexError when two
    MLLP connections evaluate at once), so calls into one pipeline are serialised."""

    def __init__(self, detector: DisclosureDetector) -> None:
        self._detector = detector
        self._lock = threading.Lock()
        self.concepts = detector.concepts

    def detect(self, text: str) -> Sequence[TextFindingLike]:
        with self._lock:
            return self._detector.detect(text)


@cache
def shared_detector(folder: Path) -> SerialisedDetector:
    """The clinical NLP pipeline is costly to build (about a second); one per process and folder."""
    return SerialisedDetector(DisclosureDetector.from_folder(folder))


def load_rules(rules_dir: Path) -> tuple[RulePack, SerialisedDetector]:
    """The rule pack and its text detector, checked against each other. Raises RulePackError."""
    pack = load_pack(rules_dir)
    detector = shared_detector(rules_dir / "nlp")
    check_text_concepts(pack, detector.concepts)
    return pack, detector


@dataclass
class Services:
    settings: Settings
    db: Database
    sites: SiteRegistry
    pack: RulePack
    flags: FlagEvaluator
    ingest: IngestContext
    referrals: ReferralContext
    metrics: Metrics
    cpis: CpisContext | None = None  # CP-IS lookups, when ED_ALERTS_CPIS_ENABLED

    @classmethod
    def build(cls, settings: Settings) -> Services:
        hl7v2.warm_up()  # hl7apy's structure tables load once here, not on the first message
        pack, detector = load_rules(settings.rules_dir)
        log.info("rule pack %s loaded: %s rules, digest %s", settings.rules_dir, len(pack.rules),
                 pack.digest[:12])
        db = Database.from_settings(settings)
        sites = SiteRegistry.load(settings.sites_file, settings.default_trust)
        flags = FlagEvaluator(pack=pack, detector=detector, sites=sites)
        metrics = Metrics.build(db, sites, pack)  # one registry per service: tests build many
        ingest = IngestContext(db=db, sites=sites, hooks=[flags], observers=[metrics.ingest.observe])
        authorities = LocalAuthorityRegistry.load(settings.local_authorities_file,
                                                  production=settings.environment == "production")
        referrals = ReferralContext(db=db, settings=settings, authorities=authorities, sites=sites,
                                    sender=ReferralSender())
        cpis = attach_cpis(settings, db, flags, ingest)  # None, and nothing hooked, when disabled
        return cls(settings=settings, db=db, sites=sites, pack=pack, flags=flags, ingest=ingest,
                   referrals=referrals, metrics=metrics, cpis=cpis)

    def close(self) -> None:
        close_sender = getattr(self.referrals.sender, "close", None)
        if close_sender is not None:  # a test's stand-in sender may have nothing to close
            close_sender()
        if self.cpis is not None:
            self.cpis.close()
        self.db.dispose()
