"""The referral lifecycle: its states and the one table of allowed transitions.

Every state change goes through `transition()`, which refuses any pair not in `TRANSITIONS` and
writes the audit entry in the caller's transaction, so a state never changes without its record.
Guards that depend on the referral's content (complete before sending, delivered before audit,
a rationale for not_required) are checked by the service before it asks for the transition.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from ed_alerts.audit.models import AuditEntry
from ed_alerts.audit.service import Actor, record
from ed_alerts.errors import Conflict
from ed_alerts.referrals.models import Referral


class ReferralState(StrEnum):
    REQUIRED = "required"  # a "refer" decision was recorded; nothing drafted yet
    DRAFTED = "drafted"  # someone is completing it
    SENT = "sent"  # complete, sent by a named user, its outbox row committed (see DeliveryStatus)
    AUDITED = "audited"  # delivered, and a named safeguarding nurse confirmed it
    NOT_REQUIRED = "not_required"  # closed with a rationale; reviewed by the safeguarding nurse
    FAILED = "failed"  # the authority rejected it or retries ran out; can be re-sent or redrafted


S = ReferralState

# (from, to) -> the audit action. Nothing else is allowed.
TRANSITIONS: dict[tuple[ReferralState, ReferralState], str] = {
    (S.REQUIRED, S.DRAFTED): "referral.drafted",
    (S.REQUIRED, S.NOT_REQUIRED): "referral.not_required",
    (S.DRAFTED, S.NOT_REQUIRED): "referral.not_required",
    (S.DRAFTED, S.SENT): "referral.sent",
    (S.SENT, S.FAILED): "referral.failed",
    (S.SENT, S.AUDITED): "referral.audited",
    (S.FAILED, S.SENT): "referral.resent",
    # After a rejection the content may need correcting before it is sent again.
    (S.FAILED, S.DRAFTED): "referral.redrafted",
    # A later "refer" decision on the same attendance reopens a referral closed as not required.
    (S.NOT_REQUIRED, S.REQUIRED): "referral.reopened",
}


class IllegalTransition(Conflict):
    def __init__(self, referral_id: int, current: str, wanted: str) -> None:
        allowed = sorted(to.value for (frm, to) in TRANSITIONS if frm == current)
        super().__init__(
            f"referral {referral_id} is {current}; it cannot become {wanted} "
            f"(from {current} it can become: {', '.join(allowed) or 'nothing, it is final'})")
        self.current = current
        self.wanted = wanted
        self.allowed = allowed

    def body(self) -> dict[str, Any]:
        return {**super().body(), "state": self.current, "requested": self.wanted, "allowed": self.allowed}


def can_transition(current: str, to: ReferralState) -> bool:
    return (ReferralState(current), to) in TRANSITIONS


def check_transition(referral: Referral, to: ReferralState) -> str:
    """The audit action for moving `referral` to `to`; IllegalTransition (409) if not allowed."""
    action = TRANSITIONS.get((ReferralState(referral.state), to))
    if action is None:
        raise IllegalTransition(referral.id, referral.state, to.value)
    return action


def transition(session: Session, referral: Referral, to: ReferralState, actor: Actor, *,
               reason: str | None = None, details: dict[str, Any] | None = None) -> AuditEntry:
    action = check_transition(referral, to)
    before = referral.state
    referral.state = to.value
    session.flush()
    return record(session, actor, action, "referral", referral.id, patient_id=referral.patient_id,
                  reason=reason, details={"from": before, "to": to.value, **(details or {})})
