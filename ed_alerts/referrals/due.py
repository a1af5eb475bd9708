"""Due times: when a decision and a referral must be done by, per severity.

A decision is due when its rule says (`decision_due` in the rule pack, written on the decision when
the flag is raised); a rule that says nothing falls back to the settings for its severity. A
referral must be sent within ED_ALERTS_REFERRAL_DUE_HOURS (per severity if configured) of the first
"refer" decision.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ed_alerts.settings import Settings

SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def most_severe(severities: list[str]) -> str:
    return min(severities, key=lambda s: SEVERITY_ORDER.get(s, 9)) if severities else "medium"


def decision_due(settings: Settings, severity: str, raised_at: datetime,
                 rule_due: datetime | None) -> datetime:
    if rule_due is not None:
        return rule_due
    hours = settings.decision_due_hours_by_severity.get(severity, settings.decision_due_hours)
    return raised_at + timedelta(hours=hours)


def referral_due(settings: Settings, severity: str, decided_at: datetime) -> datetime:
    hours = settings.referral_due_hours_by_severity.get(severity, settings.referral_due_hours)
    return decided_at + timedelta(hours=hours)
