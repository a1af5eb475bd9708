"""The referral workflow's scheduled jobs: drain the outbox, escalate what is overdue, post escalations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ed_alerts.db.base import utcnow
from ed_alerts.referrals.escalations import escalate_overdue, notify_escalations
from ed_alerts.referrals.outbox import DrainReport, drain_outbox
from ed_alerts.scheduler.runner import Job

if TYPE_CHECKING:
    from ed_alerts.services import Services
    from ed_alerts.settings import Settings


def drain_job(services: Services) -> DrainReport:
    return drain_outbox(services, utcnow())


def escalation_job(services: Services) -> int:
    now = utcnow()
    escalate_overdue(services.referrals, now)
    return notify_escalations(services.referrals, now)


def referral_jobs(settings: Settings) -> list[Job]:
    return [
        Job("referrals.drain_outbox", drain_job, settings.outbox_drain_interval_s),
        Job("referrals.escalate", escalation_job, settings.escalation_interval_s),
    ]
