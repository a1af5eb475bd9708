"""Recording and reviewing the referral decision a flag requires.

A named user decides: refer (the decision joins its attendance's referral), or do not refer with a
mandatory rationale (the decision goes to the safeguarding nurse's review queue). The reviewer may
agree, or overturn it, which makes it a "refer" and joins the referral. Decisions are records: once
made they are not re-made, only reviewed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ed_alerts.actors import Role, require_named, require_role
from ed_alerts.audit.service import Actor, record
from ed_alerts.db.base import utcnow
from ed_alerts.errors import Conflict, NotFound
from ed_alerts.flags.models import Decision, DecisionStatus, Flag
from ed_alerts.referrals.completeness import MissingInput
from ed_alerts.referrals.context import ReferralContext
from ed_alerts.referrals.schemas import DecisionInput, DecisionReviewInput
from ed_alerts.referrals.service import join_referral


def get_decision(session: Session, decision_id: int, *, for_update: bool = False) -> Decision:
    decision = session.get(Decision, decision_id, with_for_update=for_update)
    if decision is None:
        raise NotFound(f"decision {decision_id} does not exist")
    return decision


def _clean(text: str | None) -> str | None:
    return (text or "").strip() or None


def record_decision(session: Session, ctx: ReferralContext, decision_id: int, actor: Actor,
                    body: DecisionInput, *, now: datetime | None = None) -> Decision:
    require_named(actor, "A referral decision")
    now = now or utcnow()
    decision = get_decision(session, decision_id, for_update=True)
    if decision.status != DecisionStatus.PENDING:
        raise Conflict(f"decision {decision.id} was already recorded ({decision.status} by "
                       f"{decision.decided_by}); a decision is reviewed, not made again")
    rationale = _clean(body.rationale)
    if body.outcome == DecisionStatus.NOT_REFER and rationale is None:
        raise MissingInput("rationale", "Why the child is not being referred",
                           "a decision not to refer needs a rationale")
    flag = session.get_one(Flag, decision.flag_id)
    decision.status = body.outcome
    decision.decided_by = actor.name
    decision.decided_role = actor.role
    decision.decided_at = now
    decision.rationale = rationale
    decision.child_words = _clean(body.child_words)
    session.flush()
    record(session, actor, "decision.recorded", "decision", decision.id, patient_id=flag.patient_id,
           reason=rationale, details={"outcome": body.outcome, "flag_id": flag.id, "rule_id": flag.rule_id,
                                      "attendance_id": decision.attendance_id,
                                      "child_words_recorded": decision.child_words is not None})
    if body.outcome == DecisionStatus.REFER:
        join_referral(session, ctx, decision, flag, actor, now, rationale=rationale)
    return decision


def review_decision(session: Session, ctx: ReferralContext, decision_id: int, actor: Actor,
                    body: DecisionReviewInput, *, now: datetime | None = None) -> Decision:
    require_role(actor, Role.SAFEGUARDING_NURSE, "Reviewing a decision not to refer")
    now = now or utcnow()
    decision = get_decision(session, decision_id, for_update=True)
    if decision.status != DecisionStatus.NOT_REFER:
        raise Conflict(f"decision {decision.id} is {decision.status}; "
                       "only decisions not to refer are reviewed")
    if decision.reviewed_at is not None:
        raise Conflict(f"decision {decision.id} was already reviewed by {decision.reviewed_by}")
    comment = _clean(body.comment)
    if body.refer and comment is None:
        raise MissingInput("comment", "Why a referral is needed after all",
                           "overturning a decision not to refer needs a comment")
    flag = session.get_one(Flag, decision.flag_id)
    decision.reviewed_by = actor.name
    decision.reviewed_at = now
    decision.review_comment = comment
    session.flush()
    record(session, actor, "decision.reviewed", "decision", decision.id, patient_id=flag.patient_id,
           reason=comment, details={"agreed": not body.refer, "flag_id": flag.id})
    if body.refer:
        decision.status = DecisionStatus.REFER
        session.flush()
        record(session, actor, "decision.overturned", "decision", decision.id, patient_id=flag.patient_id,
               reason=comment, details={"outcome": DecisionStatus.REFER.value, "flag_id": flag.id})
        join_referral(session, ctx, decision, flag, actor, now, rationale=comment)
    return decision
