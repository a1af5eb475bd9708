"""The ingest pipeline through a real database: store, dedupe, link, amend, quarantine, replay."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from ed_alerts.attendances.models import Attendance, AttendanceStatus
from ed_alerts.ingest.models import ContentType, InboundMessage, MessageStatus, Transport
from ed_alerts.ingest.pipeline import IngestContext, ingest, process, process_pending, replay, store
from ed_alerts.patients.models import Patient, PatientIdentifier
from ed_alerts.synthetic import Generator, adt


def _send(ctx: IngestContext, raw: bytes):
    return ingest(ctx, raw, ContentType.HL7V2, Transport.MLLP)


def _count(ctx: IngestContext, model) -> int:
    with ctx.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_register_stores_raw_links_child_and_creates_attendance(ctx: IngestContext) -> None:
    gen = Generator(seed=2)
    child = gen.child(age=14)
    visit = gen.visit(child, "RGT01", kind="assault")
    raw = adt(visit, "A04", control_id="C1")

    outcome = _send(ctx, raw)

    assert outcome.accepted and outcome.ack_code == "AA" and not outcome.duplicate
    with ctx.db.session() as s:
        msg = s.get_one(InboundMessage, outcome.message_id)
        assert msg.raw == raw and msg.sender == "RGT01" and msg.control_id == "C1"
        assert msg.status == MessageStatus.PROCESSED and msg.registered_sender
        att = s.get_one(Attendance, outcome.attendance_ids[0])
        assert att.visit_number == visit.visit_number and att.trust == "RGT"
        assert att.source_type == "hospital_ed" and att.status == AttendanceStatus.ACTIVE
        assert att.reason == visit.reason
        assert {d["code"] for d in att.clinical["diagnoses"]} >= {"Y04"}
        assert any("punched" in n["text"] for n in att.clinical["notes"])
        ids = {(i.system, i.value) for i in s.scalars(select(PatientIdentifier))}
        assert ("https://fhir.nhs.uk/Id/nhs-number", child.nhs) in ids


def test_duplicate_is_answered_like_the_original_and_not_processed_twice(ctx: IngestContext) -> None:
    gen = Generator(seed=3)
    raw = adt(gen.visit(gen.child(), "RGT01"), control_id="DUP1")
    first = _send(ctx, raw)
    second = _send(ctx, raw)
    assert second.duplicate and second.ack_code == first.ack_code == "AA"
    assert second.message_id == first.message_id
    assert _count(ctx, InboundMessage) == 1 and _count(ctx, Attendance) == 1
    with ctx.db.session() as s:
        assert s.get_one(InboundMessage, first.message_id).duplicate_count == 1


def test_same_control_id_from_another_sender_is_not_a_duplicate(ctx: IngestContext) -> None:
    gen = Generator(seed=4)
    a = _send(ctx, adt(gen.visit(gen.child(), "RGT01"), control_id="SAME"))
    b = _send(ctx, adt(gen.visit(gen.child(), "RGT02"), control_id="SAME"))
    assert not b.duplicate and a.message_id != b.message_id


def test_child_seen_at_two_sites_is_one_patient_by_nhs_number(ctx: IngestContext) -> None:
    gen = Generator(seed=5)
    child = gen.child()
    _send(ctx, adt(gen.visit(child, "RGT01"), control_id="A"))
    child.mrn = "OTHERSITE123"  # a different local number at the other hospital
    _send(ctx, adt(gen.visit(child, "RGT02"), control_id="B"))
    assert _count(ctx, Patient) == 1 and _count(ctx, Attendance) == 2


def test_without_nhs_number_the_child_is_matched_on_the_local_identifier(ctx: IngestContext) -> None:
    gen = Generator(seed=6)
    child = gen.child(with_nhs=False)
    _send(ctx, adt(gen.visit(child, "RGT01"), control_id="A"))
    _send(ctx, adt(gen.visit(child, "RGT01"), control_id="B"))
    assert _count(ctx, Patient) == 1 and _count(ctx, Attendance) == 2


def test_invalid_nhs_number_is_never_used_to_match(ctx: IngestContext) -> None:
    gen = Generator(seed=7)
    a, b = gen.child(), gen.child()
    a.nhs = b.nhs = "1234567890"  # fails Modulus 11
    _send(ctx, adt(gen.visit(a, "RGT01"), control_id="A"))
    _send(ctx, adt(gen.visit(b, "RGT01"), control_id="B"))
    assert _count(ctx, Patient) == 2
    with ctx.db.session() as s:
        systems = set(s.scalars(select(PatientIdentifier.system)))
    assert "https://fhir.nhs.uk/Id/nhs-number" not in systems


def test_update_and_discharge_amend_the_same_attendance(ctx: IngestContext) -> None:
    gen = Generator(seed=8)
    visit = gen.visit(gen.child(), "RGT01")
    t0 = visit.arrival
    _send(ctx, adt(visit, "A04", control_id="1", sent=t0))
    visit.reason = "Ankle injury - revised"
    _send(ctx, adt(visit, "A08", control_id="2", sent=t0 + timedelta(minutes=10)))
    out = _send(ctx, adt(visit, "A03", control_id="3", sent=t0 + timedelta(hours=2)))
    assert _count(ctx, Attendance) == 1
    with ctx.db.session() as s:
        att = s.get_one(Attendance, out.attendance_ids[0])
        assert att.reason == "Ankle injury - revised"
        assert att.status == AttendanceStatus.DISCHARGED and att.discharge_time is not None


def test_out_of_order_update_does_not_overwrite_newer_facts(ctx: IngestContext) -> None:
    gen = Generator(seed=9)
    visit = gen.visit(gen.child(), "RGT01")
    t0 = visit.arrival
    visit.reason = "newest reason"
    _send(ctx, adt(visit, "A08", control_id="new", sent=t0 + timedelta(minutes=30)))
    _send(ctx, adt(visit, "A03", control_id="dis", sent=t0 + timedelta(hours=1)))
    visit.reason = "stale reason"
    out = _send(ctx, adt(visit, "A04", control_id="old", sent=t0))  # the registration, delivered last
    with ctx.db.session() as s:
        att = s.get_one(Attendance, out.attendance_ids[0])
        assert att.reason == "newest reason"
        assert att.status == AttendanceStatus.DISCHARGED


def test_cancel_keeps_the_attendance_marked_cancelled(ctx: IngestContext) -> None:
    gen = Generator(seed=10)
    visit = gen.visit(gen.child(), "RGT01")
    _send(ctx, adt(visit, "A04", control_id="1", sent=visit.arrival))
    out = _send(ctx, adt(visit, "A11", control_id="2", sent=visit.arrival + timedelta(minutes=5)))
    with ctx.db.session() as s:
        assert s.get_one(Attendance, out.attendance_ids[0]).status == AttendanceStatus.CANCELLED


def test_unregistered_sender_is_processed_under_the_default_trust(ctx: IngestContext) -> None:
    gen = Generator(seed=11)
    out = _send(ctx, adt(gen.visit(gen.child(), "NEWSITE"), control_id="X"))
    assert out.accepted and not out.registered_sender
    with ctx.db.session() as s:
        att = s.get_one(Attendance, out.attendance_ids[0])
        assert att.trust == "UNREGISTERED" and not att.registered_site


def test_bad_message_is_quarantined_with_reason_and_replayable(ctx: IngestContext) -> None:
    gen = Generator(seed=12)
    good = adt(gen.visit(gen.child(), "RGT01"), control_id="Q1")
    broken = good.replace(b"|2.4|", b"|9.9|")  # an unsupported version
    out = _send(ctx, broken)
    assert out.status is MessageStatus.QUARANTINED and out.ack_code in {"AE", "AR"}
    assert out.reason and "version" in out.reason.lower()
    with ctx.db.session() as s:
        msg = s.get_one(InboundMessage, out.message_id)
        assert msg.raw == broken and msg.status == MessageStatus.QUARANTINED
    # A resend of the same bad message is answered the same way, still not processed.
    again = _send(ctx, broken)
    assert again.duplicate and again.ack_code == out.ack_code
    # "Fix" the stored message as an operator would after correcting a mapping, then replay.
    with ctx.db.session() as s:
        s.get_one(InboundMessage, out.message_id).raw = good
    (replayed,) = replay(ctx, [out.message_id])
    assert replayed.accepted and _count(ctx, Attendance) == 1


def test_stored_but_unprocessed_message_is_recovered(ctx: IngestContext) -> None:
    """A crash between storing and processing leaves a `received` row; recovery finishes it."""
    gen = Generator(seed=13)
    raw = adt(gen.visit(gen.child(), "RGT01"), control_id="R1")
    message_id, duplicate = store(ctx, raw, ContentType.HL7V2, Transport.MLLP)
    assert not duplicate and _count(ctx, Attendance) == 0
    assert process_pending(ctx) == 1
    assert _count(ctx, Attendance) == 1
    # The resend the sender makes (it never got an ACK) is a duplicate of the processed original.
    assert _send(ctx, raw).duplicate
    assert process(ctx, message_id).accepted  # idempotent


def test_resend_of_a_stored_but_unprocessed_message_processes_it(ctx: IngestContext) -> None:
    gen = Generator(seed=14)
    raw = adt(gen.visit(gen.child(), "RGT01"), control_id="R2")
    store(ctx, raw, ContentType.HL7V2, Transport.MLLP)
    out = _send(ctx, raw)
    assert out.duplicate and out.accepted and _count(ctx, Attendance) == 1
