"""Flags raised by real messages through the pipeline and a real database, with evidence, once each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from ed_alerts.attendances.models import Attendance
from ed_alerts.audit.models import AuditEntry
from ed_alerts.audit.service import verify_chain
from ed_alerts.flags.models import Decision, DecisionStatus, Flag, FlagStatus
from ed_alerts.ingest.models import ContentType, Transport
from ed_alerts.ingest.pipeline import IngestContext, ingest
from ed_alerts.synthetic import Generator, Visit, adt


def _send(ctx: IngestContext, raw: bytes):
    out = ingest(ctx, raw, ContentType.HL7V2, Transport.MLLP)
    assert out.accepted, out.reason
    return out


def _flags(ctx: IngestContext, attendance_id: int) -> dict[str, Flag]:
    with ctx.db.session() as s:
        return {f.rule_id: f for f in s.scalars(select(Flag).where(Flag.attendance_id == attendance_id))}


def test_group_assault_disclosure_then_repeat_attendance_at_another_site(ctx: IngestContext) -> None:
    now = datetime.now(UTC)
    gen = Generator(seed=61, now=now)
    child = gen.child(age=15)
    first = Visit(child=child, site="RGT01", visit_number="VA1", arrival=now - timedelta(days=21),
                  reason="Assaulted by a group of boys",
                  diagnoses=[("Y04", "Assault by bodily force", "I10")],
                  observations=[("NM", "ASSAILANTS", "Number of assailants", "3")],
                  notes=["Pt says \"I don't feel safe going home\". Mum present."])
    a = _send(ctx, adt(first, "A04", control_id="A1", sent=first.arrival))
    flags_a = _flags(ctx, a.attendance_ids[0])
    assert {"assault", "group_violence", "does_not_feel_safe"} <= set(flags_a)
    assert "repeat_attendance" not in flags_a

    unsafe = flags_a["does_not_feel_safe"]
    text_ev = [e for e in unsafe.evidence if e["kind"] == "text"]
    assert text_ev, unsafe.evidence
    note = first.notes[0]
    assert note[text_ev[0]["start"]:text_ev[0]["end"]] == text_ev[0]["matched_text"]
    assert "feel safe" in text_ev[0]["matched_text"].lower() or "safe" in unsafe.reason.lower()
    group = flags_a["group_violence"]
    assert any(e["kind"] == "number" and e.get("value") in {"3", "3.0"} for e in group.evidence)
    assert flags_a["assault"].rule_version and flags_a["assault"].reason

    # The same child, three weeks later, at the other hospital, with a local number of its own.
    child.mrn = "SITEB-777"
    second = Visit(child=child, site="RGT02", visit_number="VB1", arrival=now,
                   reason="Laceration to scalp", diagnoses=[("S01.0", "Open wound of scalp", "I10")])
    b = _send(ctx, adt(second, "A04", control_id="B1", sent=now))
    flags_b = _flags(ctx, b.attendance_ids[0])
    assert "repeat_attendance" in flags_b and "assault" not in flags_b
    assert any(e["kind"] == "prior_attendances" for e in flags_b["repeat_attendance"].evidence)

    # An A08 replayed for the first visit: the same flags, once each, and the nurse's note kept.
    with ctx.db.session() as s:
        flag = s.get_one(Flag, unsafe.id)
        flag.nurse_note = "Spoke with pt alone; safeguarding lead informed."
    _send(ctx, adt(first, "A08", control_id="A2", sent=first.arrival + timedelta(minutes=30)))
    _send(ctx, adt(first, "A08", control_id="A3", sent=first.arrival + timedelta(minutes=40)))
    again = _flags(ctx, a.attendance_ids[0])
    assert set(again) == set(flags_a)
    assert {f.id for f in again.values()} == {f.id for f in flags_a.values()}
    assert again["does_not_feel_safe"].nurse_note == "Spoke with pt alone; safeguarding lead informed."
    with ctx.db.session() as s:
        decisions = s.scalars(select(Decision).where(Decision.attendance_id == a.attendance_ids[0])).all()
    assert len(decisions) == len([f for f in again.values() if f.requires_decision])
    assert all(d.status == DecisionStatus.PENDING and d.due_at is not None for d in decisions)
    with ctx.db.session() as s:
        raised = s.scalars(select(AuditEntry.entity_id).where(AuditEntry.action == "flag.raised")).all()
        assert verify_chain(s).ok
    all_flags = {**flags_a, **flags_b}
    assert sorted(raised) == sorted(str(f.id) for f in all_flags.values())  # each raised once, audited


def test_adult_and_accidental_injury_raise_no_flags(ctx: IngestContext) -> None:
    gen = Generator(seed=62)
    adult = _send(ctx, adt(gen.visit(gen.child(age=30), "RGT01", kind="assault"), control_id="AD"))
    sprain = _send(ctx, adt(gen.visit(gen.child(age=12), "RGT01", kind="plain"), control_id="SP"))
    assert _flags(ctx, adult.attendance_ids[0]) == {}
    assert _flags(ctx, sprain.attendance_ids[0]) == {}


def test_negated_disclosure_does_not_flag(ctx: IngestContext) -> None:
    gen = Generator(seed=63)
    v = gen.visit(gen.child(age=13), "RGT01", kind="plain")
    v.notes = ["Seen alone, denies feeling unsafe at home or school."]
    out = _send(ctx, adt(v, control_id="NEG"))
    assert "does_not_feel_safe" not in _flags(ctx, out.attendance_ids[0])


def test_cancel_withdraws_flags_without_deleting_them(ctx: IngestContext) -> None:
    gen = Generator(seed=64)
    v = gen.visit(gen.child(age=14), "RGT01", kind="weapon")
    out = _send(ctx, adt(v, "A04", control_id="W1", sent=v.arrival))
    before = _flags(ctx, out.attendance_ids[0])
    assert "weapon" in before
    _send(ctx, adt(v, "A11", control_id="W2", sent=v.arrival + timedelta(minutes=5)))
    after = _flags(ctx, out.attendance_ids[0])
    assert set(after) == set(before)
    assert {f.status for f in after.values()} == {FlagStatus.WITHDRAWN}


def test_far_from_home_for_a_child_living_outside_the_area(ctx: IngestContext) -> None:
    gen = Generator(seed=65)
    out = _send(ctx, adt(gen.visit(gen.child(age=15, away=True), "RGT01", kind="plain"), control_id="FF"))
    flags = _flags(ctx, out.attendance_ids[0])
    assert "far_from_home" in flags
    with ctx.db.session() as s:
        assert s.get_one(Attendance, out.attendance_ids[0]).site_code == "RGT01"
