"""The referral as the API shows it: its fields, what is still missing, its flags, decisions and
delivery attempts (from the audit log: outcome and cause only, never content)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ed_alerts.audit.models import AuditEntry
from ed_alerts.flags.models import Decision
from ed_alerts.referrals.context import ReferralContext
from ed_alerts.referrals.models import Referral
from ed_alerts.referrals.payload import referral_flags
from ed_alerts.referrals.schemas import DecisionView, DeliveryAttempt, FlagRef, ReferralView
from ed_alerts.referrals.service import EDITABLE, missing_for
from ed_alerts.referrals.transitions import TRANSITIONS, ReferralState


def referral_view(session: Session, ctx: ReferralContext, referral: Referral, now: datetime) -> ReferralView:
    view = ReferralView.model_validate(referral, from_attributes=True)
    state = ReferralState(referral.state)
    view.missing = missing_for(session, ctx, referral) if state in EDITABLE else []
    view.allowed_transitions = sorted(to.value for (frm, to) in TRANSITIONS if frm == state)
    view.overdue = (state in (ReferralState.REQUIRED, ReferralState.DRAFTED) and referral.due_at is not None
                    and referral.due_at <= now)
    view.flags = [FlagRef(id=f.id, rule_id=f.rule_id, rule_version=f.rule_version, title=f.title,
                          severity=f.severity, reason=f.reason) for f in referral_flags(session, referral.id)]
    view.decisions = [DecisionView.model_validate(d) for d in session.scalars(
        select(Decision).where(Decision.referral_id == referral.id).order_by(Decision.id))]
    view.attempts = [
        DeliveryAttempt(at=e.at, attempt=e.details.get("attempt"), outcome=e.details.get("outcome"),
                        cause=e.details.get("cause"), http_status=e.details.get("http_status"))
        for e in session.scalars(select(AuditEntry).where(
            AuditEntry.entity_type == "referral", AuditEntry.entity_id == str(referral.id),
            AuditEntry.action == "referral.delivery_attempt").order_by(AuditEntry.id))
    ]
    return view
