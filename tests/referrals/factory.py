"""Small builders for referral tests: flagged attendances from synthetic HL7, decisions, referrals."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from ed_alerts.audit.service import Actor
from ed_alerts.db.base import utcnow
from ed_alerts.flags.models import Decision
from ed_alerts.ingest.models import ContentType, Transport
from ed_alerts.ingest.pipeline import ingest
from ed_alerts.referrals import decisions, service
from ed_alerts.referrals.schemas import DecisionInput, ReferralUpdate
from ed_alerts.services import Services
from ed_alerts.synthetic import Child, Generator, adt

NURSE = Actor("Sam Nurse", "ed_nurse")
SAFEGUARDING = Actor("Lee Safeguarding", "safeguarding_nurse")

COMPLETE = ReferralUpdate(
    what_happened="Punched and kicked by three older boys outside school; brought in by a teacher.",
    child_words="\"They said they'd get me again tomorrow.\"",
    injuries="Bruising to left cheek; nasal bone fracture on X-ray.",
    others_involved="Three older boys, not known to the child by name; a younger sibling walks that way.",
    parents_aware=True,
    referrer_contact="ed-safeguarding@example.nhs.invalid",
    decision_rationale="Group assault with threats of further harm.",
)


def flagged_attendance(services: Services, gen: Generator, *, child: Child | None = None,
                       kind: str = "group_assault", site: str = "RGT01",
                       arrival: datetime | None = None) -> int:
    child = child or gen.child(age=14)
    visit = gen.visit(child, site, kind=kind, arrival=arrival)
    raw = adt(visit, control_id=gen.next_id("REF"))
    out = ingest(services.ingest, raw, ContentType.HL7V2, Transport.MLLP)
    assert out.accepted, out.reason
    return out.attendance_ids[0]


def pending_decisions(services: Services, attendance_id: int) -> list[int]:
    with services.db.session() as s:
        return list(s.scalars(select(Decision.id).where(Decision.attendance_id == attendance_id)
                              .order_by(Decision.id)))


def refer_all(services: Services, attendance_id: int, actor: Actor = NURSE) -> int:
    """Record "refer" on every decision of the attendance; returns the referral id."""
    ids = pending_decisions(services, attendance_id)
    assert ids, "the attendance raised no flag that needs a decision"
    with services.db.session() as s:
        for decision_id in ids:
            d = decisions.record_decision(s, services.referrals, decision_id, actor,
                                          DecisionInput(outcome="refer", child_words="I don't feel safe"))
        assert d.referral_id is not None
        return d.referral_id


def complete(services: Services, referral_id: int, actor: Actor = NURSE) -> None:
    with services.db.session() as s:
        service.update_draft(s, services.referrals, referral_id, actor, COMPLETE)


def send(services: Services, referral_id: int, actor: Actor = NURSE) -> None:
    with services.db.session() as s:
        service.send(s, services.referrals, referral_id, actor)


def sent_referral(services: Services, gen: Generator, *, child: Child | None = None,
                  kind: str = "group_assault") -> int:
    referral_id = refer_all(services, flagged_attendance(services, gen, child=child, kind=kind))
    complete(services, referral_id)
    send(services, referral_id)
    return referral_id


def later(hours: float) -> datetime:
    return utcnow() + timedelta(hours=hours)
