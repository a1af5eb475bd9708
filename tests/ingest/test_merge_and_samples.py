"""A40 merges, FHIR bundles of each type and the public sample files through the real pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from ed_alerts.attendances.models import Attendance
from ed_alerts.ingest.bulk import ingest_paths
from ed_alerts.ingest.models import ContentType, InboundMessage, MessageStatus, Transport
from ed_alerts.ingest.pipeline import IngestContext, ingest
from ed_alerts.patients.models import Patient, PatientIdentifier
from ed_alerts.synthetic import Generator, adt
from tests.conftest import DATA


def _hl7(ctx: IngestContext, raw: bytes):
    return ingest(ctx, raw, ContentType.HL7V2, Transport.FILE)


def test_a40_merge_relinks_history_to_the_surviving_child(ctx: IngestContext) -> None:
    gen = Generator(seed=31)
    survivor, duplicate = gen.child(with_nhs=False), gen.child(with_nhs=False)
    _hl7(ctx, adt(gen.visit(survivor, "RGT01"), control_id="1"))
    _hl7(ctx, adt(gen.visit(duplicate, "RGT01"), control_id="2"))
    _hl7(ctx, adt(gen.visit(duplicate, "RGT01"), control_id="3"))
    merge = (
        f"MSH|^~\\&|PAS|RGT01|EDALERTS|ICB|20260101120000||ADT^A40^ADT_A39|M1|P|2.4\r"
        f"EVN|A40|20260101120000\r"
        f"PID|1||{survivor.mrn}^^^RGT01^MR||{survivor.family}^{survivor.given}\r"
        f"MRG|{duplicate.mrn}^^^RGT01^MR\r"
    ).encode()
    assert _hl7(ctx, merge).accepted
    with ctx.db.session() as s:
        live = s.scalars(select(Patient).where(Patient.merged_into_id.is_(None))).all()
        assert len(live) == 1
        (merged,) = s.scalars(select(Patient).where(Patient.merged_into_id.is_not(None))).all()
        assert merged.merged_into_id == live[0].id
        owners = set(s.scalars(select(Attendance.patient_id)))
        assert owners == {live[0].id}
        # The merged child's identifier now finds the survivor.
        ident = s.scalar(select(PatientIdentifier).where(PatientIdentifier.value == duplicate.mrn))
        assert ident is not None and ident.patient_id == live[0].id
    # A later message under the old number lands on the survivor.
    out = _hl7(ctx, adt(gen.visit(duplicate, "RGT01"), control_id="4"))
    with ctx.db.session() as s:
        assert s.get_one(Attendance, out.attendance_ids[0]).patient_id == live[0].id


@pytest.mark.parametrize("name", [
    "synthetic_Bundle-message_ambulance_not_conveyed_assault.json",
    "synthetic_Bundle-transaction_ED_EMER_icd10_X99.json",
    "synthetic_Bundle-collection_ED_discharge.json",
])
def test_fhir_bundles_of_each_type_become_attendances(ctx: IngestContext, name: str) -> None:
    out = ingest(ctx, (DATA / "fhir" / name).read_bytes(), ContentType.FHIR_BUNDLE, Transport.HTTP)
    assert out.accepted, out.reason
    assert out.attendance_ids
    again = ingest(ctx, (DATA / "fhir" / name).read_bytes(), ContentType.FHIR_BUNDLE, Transport.HTTP)
    assert again.duplicate and again.message_id == out.message_id


def test_ambulance_incident_not_conveyed_is_still_an_attendance(ctx: IngestContext) -> None:
    raw = (DATA / "fhir" / "synthetic_Bundle-message_ambulance_not_conveyed_assault.json").read_bytes()
    out = ingest(ctx, raw, ContentType.FHIR_BUNDLE, Transport.HTTP)
    with ctx.db.session() as s:
        att = s.get_one(Attendance, out.attendance_ids[0])
        assert att.conveyed_to_hospital is False
        assert att.source_type == "ambulance"


def test_single_encounter_with_contained_patient(ctx: IngestContext) -> None:
    raw = (DATA / "fhir" / "synthetic_Encounter_contained_patient.json").read_bytes()
    out = ingest(ctx, raw, ContentType.FHIR_ENCOUNTER, Transport.HTTP)
    assert out.accepted, out.reason and len(out.attendance_ids) == 1


def test_bulk_ingest_of_every_sample_file_keeps_every_message(ctx: IngestContext) -> None:
    """Every public and synthetic sample: processed or quarantined with a reason, none lost."""
    files = sorted((DATA / "hl7v2").glob("*.hl7")) + sorted((DATA / "fhir").glob("*.json"))
    summary = ingest_paths(ctx, files)
    assert summary.files == len(files)
    with ctx.db.session() as s:
        stored = s.scalar(select(func.count()).select_from(InboundMessage))
        quarantined = s.scalars(select(InboundMessage)
                                .where(InboundMessage.status == MessageStatus.QUARANTINED)).all()
        pending = s.scalar(select(func.count()).select_from(InboundMessage)
                           .where(InboundMessage.status == MessageStatus.RECEIVED))
    assert stored == summary.processed + summary.quarantined
    assert pending == 0
    assert all(m.error_reason for m in quarantined)
    assert summary.processed >= 15 and summary.quarantined >= 5
    # Running the same files again changes nothing: everything is a duplicate.
    again = ingest_paths(ctx, files)
    assert again.duplicate == summary.processed + summary.quarantined + summary.duplicate
    assert again.processed == again.quarantined == 0


BAD_INPUTS = {
    "empty": b"",
    "binary": bytes(range(256)),
    "truncated": b"MSH|^~\\&|EDIS|RGT01|X|Y|2026010112",
    "no_msh": b"PID|1||123^^^RGT01^MR||Doe^John\rPV1|1|E",
    "wrong_version": b"MSH|^~\\&|EDIS|RGT01|X|Y|20260101120000||ADT^A04|V9|P|9.9\rPID|1||1^^^A^MR\r",
    "unknown_event": b"MSH|^~\\&|EDIS|RGT01|X|Y|20260101120000||ADT^A99|E1|P|2.4\rPID|1||1^^^A^MR\r",
    "not_adt": b"MSH|^~\\&|EDIS|RGT01|X|Y|20260101120000||ORU^R01|O1|P|2.4\rPID|1||1^^^A^MR\r",
    "bad_birth_date": b"MSH|^~\\&|EDIS|RGT01|X|Y|20260101120000||ADT^A04|D1|P|2.4\rEVN|A04\r"
                      b"PID|1||1^^^A^MR||Doe^Jo||2026133199\rPV1|1|E||||||||||||||||V1\r",
}


@pytest.mark.parametrize("kind", sorted(BAD_INPUTS))
def test_bad_input_is_quarantined_with_a_reason_and_service_keeps_serving(ctx: IngestContext,
                                                                          kind: str) -> None:
    out = _hl7(ctx, BAD_INPUTS[kind])
    assert out.status is MessageStatus.QUARANTINED and out.ack_code in {"AE", "AR"}
    assert out.reason and len(out.reason) > 10
    with ctx.db.session() as s:
        assert s.get_one(InboundMessage, out.message_id).raw == BAD_INPUTS[kind]
    gen = Generator(seed=40)
    assert _hl7(ctx, adt(gen.visit(gen.child(), "RGT01"), control_id="after")).accepted


def test_invalid_nhs_number_message_is_processed_but_number_not_linked(ctx: IngestContext) -> None:
    raw = (DATA / "hl7v2" / "synthetic_ADT_A08_v251_invalid_nhs_nulls.hl7").read_bytes()
    out = _hl7(ctx, raw)
    assert out.accepted, out.reason
    with ctx.db.session() as s:
        systems = set(s.scalars(select(PatientIdentifier.system)))
    assert "https://fhir.nhs.uk/Id/nhs-number" not in systems


def test_bulk_file_split_mllp_framed_and_blank_line_separated(ctx: IngestContext, tmp_path: Path) -> None:
    gen = Generator(seed=41)
    msgs = [adt(gen.visit(gen.child(), "RGT01"), control_id=f"F{i}") for i in range(4)]
    (tmp_path / "framed.hl7").write_bytes(b"".join(b"\x0b" + m + b"\x1c\r" for m in msgs[:2]))
    (tmp_path / "blank.hl7").write_bytes(b"\n\n".join(m.replace(b"\r", b"\n") for m in msgs[2:]))
    summary = ingest_paths(ctx, [tmp_path])
    assert (summary.files, summary.processed, summary.quarantined) == (2, 4, 0)
