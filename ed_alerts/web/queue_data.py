"""The safeguarding queue for one safeguarding nurse: the referral service's queue, narrowed (in its
query) to the attendances within the nurse's scope, with the labels the page needs.

Queue items carry no identity (site, rules, severity, times, states); a row links to the attendance
page and the child's timeline, which are audited views.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from ed_alerts.auth.principal import Principal
from ed_alerts.auth.scopes import trust_area, visible_attendances
from ed_alerts.referrals.queue import AWAITING_REVIEW, QueueFilter, safeguarding_queue
from ed_alerts.referrals.schemas import EscalationView, QueueItem
from ed_alerts.referrals.transitions import ReferralState
from ed_alerts.settings import Settings
from ed_alerts.sites.registry import SiteRegistry

STATE_LABELS = {
    "pending": "Decision pending",
    AWAITING_REVIEW: "Not referred: awaiting review",
    "not_refer": "Not referred (reviewed)",
    "refer": "Referred",
    ReferralState.REQUIRED.value: "Referral required",
    ReferralState.DRAFTED.value: "Referral drafted",
    ReferralState.SENT.value: "Referral sent",
    ReferralState.AUDITED.value: "Referral audited",
    ReferralState.NOT_REQUIRED.value: "Referral not required",
    ReferralState.FAILED.value: "Referral delivery failed",
}
STATE_FILTERS = ["pending", AWAITING_REVIEW, "not_refer", "refer", *(s.value for s in ReferralState)]


@dataclass(frozen=True)
class Filters:
    site: str | None = None
    state: str | None = None
    rule: str | None = None
    since: date | None = None
    until: date | None = None  # inclusive, as a person means it

    def query(self, zone: ZoneInfo, visible: ColumnElement[bool] | None = None) -> QueueFilter:
        def start(d: date | None) -> datetime | None:
            return datetime.combine(d, time.min, zone) if d else None

        return QueueFilter(site=self.site, state=self.state, rule=self.rule, since=start(self.since),
                           until=start(self.until + timedelta(days=1)) if self.until else None, visible=visible)

    @property
    def active(self) -> bool:
        return any((self.site, self.state, self.rule, self.since, self.until))


@dataclass
class QueuePage:
    items: list[QueueItem]
    counts: dict[str, dict[str, int]]
    escalations: list[EscalationView]
    sites: list[tuple[str, str]]
    generated_at: datetime


def scope_sites(principal: Principal, sites: SiteRegistry) -> list[tuple[str, str]]:
    """The sites whose attendances a safeguarding nurse sees: the trust's own, then ambulance services."""
    own = [(s.code, s.name) for s in sites.sites if principal.trust and s.trust.upper() == principal.trust.upper()]
    ambulance = [(s.code, s.name) for s in sites.sites if s.source_type.value == "ambulance"
                 and (s.code, s.name) not in own and trust_area(sites, principal.trust or "")]
    return own + ambulance


def queue_page(session: Session, principal: Principal, sites: SiteRegistry, settings: Settings,
               filters: Filters, now: datetime) -> QueuePage:
    scope = visible_attendances(principal, sites)  # in the query, before its limit
    view = safeguarding_queue(session, settings, filters.query(ZoneInfo(settings.display_timezone), scope), now)
    return QueuePage(items=view.items, counts=view.counts, escalations=view.escalations,
                     sites=scope_sites(principal, sites), generated_at=now)
