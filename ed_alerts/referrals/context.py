"""What the referral workflow needs from the service container, built once from settings."""

from __future__ import annotations

from dataclasses import dataclass

from ed_alerts.db.session import Database
from ed_alerts.referrals.authorities import LocalAuthorityRegistry
from ed_alerts.settings import Settings
from ed_alerts.sites.registry import SiteRegistry
from integrations.local_authority import ReferralDelivery


@dataclass
class ReferralContext:
    db: Database
    settings: Settings
    authorities: LocalAuthorityRegistry
    sites: SiteRegistry
    sender: ReferralDelivery
