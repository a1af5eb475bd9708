"""Synthetic history and today's cases for `make run`, written through the service layer.

Every page needs something to show: the ED board children with flags, the attendance page
decisions and a referral to complete, the queue referrals in several states (one overdue, one
acknowledged by the local authority and waiting to be audited, one audited, a "not referred"
decision waiting for review), the ICB dashboard six months of referrals across the sites and the
ambulance service. Names, numbers and notes are invented (ed_alerts/synthetic.py).

History is simulated: messages carry past arrival times and the services are given past `now`s, but
a few things are stamped with the real clock (when a flag was raised, when an audit was confirmed),
so those are moved back to when they would have happened had the feed been live. The audit log keeps
the real times. Seeding is idempotent: history once per database, today's cases once per day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from ed_alerts.attendances.models import Attendance
from ed_alerts.audit.service import Actor
from ed_alerts.flags.models import Decision, DecisionStatus, Flag
from ed_alerts.ingest.models import ContentType, Transport
from ed_alerts.ingest.pipeline import ingest
from ed_alerts.referrals import decisions, service
from ed_alerts.referrals.outbox import drain_outbox
from ed_alerts.referrals.schemas import DecisionInput, DecisionReviewInput, ReferralUpdate
from ed_alerts.services import Services
from ed_alerts.synthetic import Child, Generator, Visit, adt

HISTORY_SEED = 1999
NURSES = {"RGT01": Actor("jo.example", "ed_nurse"), "RGT02": Actor("sam.example", "ed_nurse"),
          "RYC": Actor("alex.example", "safeguarding_nurse")}
SAFEGUARDING = Actor("lee.example", "safeguarding_nurse")
KINDS = ["assault", "group_assault", "disclosure", "weapon"]
WORDS = ["\"They said they'd be waiting for me after school.\"", "\"I don't want to go home tonight.\"",
         "\"It was the older lot from the estate.\"", "\"I owe them, so I had to carry it.\""]


@dataclass
class SeedReport:
    history_referrals: int = 0
    today: dict[str, int] = field(default_factory=dict)  # case -> attendance id


def seed_demo(services: Services, now: datetime, *, months: int = 6, per_month: int = 24) -> SeedReport:
    report = SeedReport()
    if not _seeded(services, f"V{HISTORY_SEED}-"):
        report.history_referrals = seed_history(services, now, months=months, per_month=per_month)
    day_seed = int(now.strftime("%Y%m%d"))
    if not _seeded(services, f"V{day_seed}-"):
        report.today = seed_today(services, now, Generator(seed=day_seed, now=now))
    return report


def _seeded(services: Services, visit_prefix: str) -> bool:
    with services.db.session() as session:
        return session.scalar(select(Attendance.id).where(Attendance.visit_number.like(visit_prefix + "%"))
                              .limit(1)) is not None


# --- building blocks: each one the service layer's own operation --------------------------------

def arrive(services: Services, gen: Generator, child: Child, site: str, kind: str, arrival: datetime) -> int:
    visit: Visit = gen.visit(child, site, kind=kind, arrival=arrival)
    outcome = ingest(services.ingest, adt(visit, control_id=gen.next_id(f"SEED{gen.seed}-")),
                     ContentType.HL7V2, Transport.MLLP)
    if not outcome.accepted or not outcome.attendance_ids:
        raise RuntimeError(f"demo message not accepted: {outcome.reason}")
    attendance_id = outcome.attendance_ids[0]
    _as_if_live(services, attendance_id, arrival + timedelta(minutes=2))
    return attendance_id


def _as_if_live(services: Services, attendance_id: int, raised_at: datetime) -> None:
    """A live feed raises flags minutes after arrival; due times follow from that."""
    with services.db.session() as session:
        for flag in session.scalars(select(Flag).where(Flag.attendance_id == attendance_id)):
            shift = flag.raised_at - raised_at
            flag.raised_at = raised_at
            decision = session.scalar(select(Decision).where(Decision.flag_id == flag.id))
            if decision is not None:
                decision.created_at = raised_at
                if decision.due_at is not None:
                    decision.due_at -= shift


def decide(services: Services, attendance_id: int, actor: Actor, at: datetime, *, refer: bool,
           words: str | None = None, rationale: str | None = None) -> int | None:
    """Record the decision on every pending flag; returns the referral id when referred."""
    body = DecisionInput(outcome="refer" if refer else "not_refer", child_words=words,
                         rationale=rationale or ("Group or weapon violence with threats of more harm."
                                                 if refer else None))
    referral_id = None
    with services.db.session() as session:
        for decision_id in session.scalars(select(Decision.id).where(
                Decision.attendance_id == attendance_id, Decision.status == DecisionStatus.PENDING)
                .order_by(Decision.id)).all():
            decision = decisions.record_decision(session, services.referrals, decision_id, actor, body, now=at)
            referral_id = decision.referral_id or referral_id
    return referral_id


COMPLETE = ReferralUpdate(
    what_happened="Attacked on the way home from school; brought in by a passer-by. (Synthetic demo case.)",
    injuries="Bruising to the face and forearms; small laceration, closed with glue.",
    others_involved="Older young people, not named; a younger sibling walks the same route.",
    parents_aware=True, referrer_contact="ed-safeguarding@example.nhs.invalid",
)


def complete(services: Services, referral_id: int, actor: Actor, changes: ReferralUpdate = COMPLETE) -> None:
    with services.db.session() as session:
        service.update_draft(session, services.referrals, referral_id, actor, changes)


def send(services: Services, referral_id: int, actor: Actor, at: datetime, *, deliver: bool) -> None:
    with services.db.session() as session:
        service.send(session, services.referrals, referral_id, actor, now=at)
    if deliver:
        drain_outbox(services, at + timedelta(minutes=3))  # the scheduler's job, at that time


def audit(services: Services, referral_id: int, at: datetime) -> None:
    with services.db.session() as session:
        referral = service.confirm_audited(session, referral_id, SAFEGUARDING, "Checked: complete and acknowledged.")
        referral.audited_at = at  # as if confirmed then (the audit log keeps the real time)


def review(services: Services, attendance_id: int, *, agree: bool = True) -> None:
    with services.db.session() as session:
        for decision_id in session.scalars(select(Decision.id).where(
                Decision.attendance_id == attendance_id, Decision.status == DecisionStatus.NOT_REFER,
                Decision.reviewed_at.is_(None))).all():
            decisions.review_decision(session, services.referrals, decision_id, SAFEGUARDING,
                                      DecisionReviewInput(comment="Agree: no safeguarding concern on review.",
                                                          refer=not agree))


# --- six months of history, for the dashboard -----------------------------------------------------

def seed_history(services: Services, now: datetime, *, months: int = 6, per_month: int = 24) -> int:
    gen = Generator(seed=HISTORY_SEED, now=now)
    rng = random.Random(HISTORY_SEED)
    sites = ["RGT01", "RGT01", "RGT02", "RYC"]
    referrals = 0
    returning: list[Child] = []
    for month_back in range(months - 1, -1, -1):
        for _ in range(per_month):
            arrival = now - timedelta(days=30 * month_back + rng.uniform(2, 28) if month_back else rng.uniform(3, 20))
            site = rng.choice(sites)
            child = rng.choice(returning) if returning and rng.random() < 0.15 else gen.child()
            returning.append(child)
            attendance_id = arrive(services, gen, child, site, rng.choice(KINDS), arrival)
            actor = NURSES[site]
            decided = arrival + timedelta(hours=rng.uniform(0.3, 6.0))
            refer = rng.random() < 0.8
            words = rng.choice(WORDS) if rng.random() < 0.7 else None
            referral_id = decide(services, attendance_id, actor, decided, refer=refer, words=words,
                                 rationale=None if refer else "Accidental injury on review; no concerns from the child.")
            if referral_id is None:
                if rng.random() < 0.6:
                    review(services, attendance_id)
                continue
            complete(services, referral_id, actor,
                     COMPLETE if words else COMPLETE.model_copy(update={"child_words": "Did not want to say."}))
            late = rng.random() < 0.3
            sent = decided + timedelta(hours=rng.uniform(26, 60) if late else rng.uniform(1, 20))
            if sent > now:
                continue  # still a draft
            send(services, referral_id, actor, sent, deliver=True)
            referrals += 1
            if rng.random() < 0.92:
                audit(services, referral_id, min(now, sent + timedelta(hours=rng.uniform(2, 40))))
        # a little plain traffic: not every child in an ED is flagged
        for _ in range(4):
            plain = now - timedelta(days=30 * month_back + rng.uniform(1, 28))
            arrive(services, gen, gen.child(), rng.choice(sites), "plain", plain)
    return referrals


# --- today's cases, for the board and the queue ---------------------------------------------------

def seed_today(services: Services, now: datetime, gen: Generator) -> dict[str, int]:
    nurse = NURSES["RGT01"]
    cases: dict[str, int] = {}

    overdue = arrive(services, gen, gen.child(age=15), "RGT01", "group_assault", now - timedelta(hours=30))
    decide(services, overdue, nurse, now - timedelta(hours=29), refer=True, words=WORDS[0])
    cases["referral overdue (required, past due)"] = overdue

    drafted = arrive(services, gen, gen.child(age=13), "RGT01", "weapon", now - timedelta(hours=3))
    referral_id = decide(services, drafted, nurse, now - timedelta(hours=2), refer=True, words=WORDS[3])
    assert referral_id is not None
    complete(services, referral_id, nurse, ReferralUpdate(
        what_happened="Stab wound to the thigh; says he was made to carry for someone. (Synthetic demo case.)"))
    cases["referral drafted, incomplete"] = drafted

    acknowledged = arrive(services, gen, gen.child(age=16), "RGT02", "group_assault", now - timedelta(hours=5))
    referral_id = decide(services, acknowledged, NURSES["RGT02"], now - timedelta(hours=4), refer=True,
                         words=WORDS[2])
    assert referral_id is not None
    complete(services, referral_id, NURSES["RGT02"])
    send(services, referral_id, NURSES["RGT02"], now - timedelta(minutes=30), deliver=False)  # the scheduler delivers it
    cases["referral sent, delivered by the scheduler, waiting to be audited"] = acknowledged

    audited = arrive(services, gen, gen.child(age=14), "RGT01", "assault", now - timedelta(hours=20))
    referral_id = decide(services, audited, nurse, now - timedelta(hours=19), refer=True, words=WORDS[1])
    assert referral_id is not None
    complete(services, referral_id, nurse)
    send(services, referral_id, nurse, now - timedelta(hours=18), deliver=True)
    audit(services, referral_id, now - timedelta(hours=2))
    cases["referral audited as sent"] = audited

    not_referred = arrive(services, gen, gen.child(age=12), "RGT01", "assault", now - timedelta(hours=6))
    decide(services, not_referred, nurse, now - timedelta(hours=5), refer=False,
           rationale="Play-fighting with a sibling, both parents present; child says he feels safe at home.")
    cases["not referred, waiting for review"] = not_referred

    ambulance = arrive(services, gen, gen.child(age=15), "RYC", "disclosure", now - timedelta(hours=2))
    cases["ambulance attendance, decision pending"] = ambulance
    return cases
