"""HL7 v2 adapter: parse_message and peek_header on real public samples, synthetic UK ED messages
and broken input."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from ed_alerts.domain import NHS_NUMBER_SYSTEM, CodeSystem, EventKind, Identifier, SourceType
from ed_alerts.errors import MessageRejected
from integrations.hl7v2 import FeedConfig, ParsedHL7, parse_message, peek_header, split_batch
from integrations.hl7v2.er7 import Delimiters
from integrations.hl7v2.escapes import unescape
from integrations.hl7v2.timestamps import parse_ts

DATA = Path(__file__).resolve().parent.parent / "data" / "hl7v2"
A04 = "synthetic_ADT_A04_v24_ED_assault.hl7"
MAPPED = {"MSH", "EVN", "PID", "PV1", "PV2", "DG1", "OBX", "NTE", "MRG"}


def load(name: str) -> bytes:
    return (DATA / name).read_bytes()


def parse(name: str, **kwargs: object) -> ParsedHL7:
    return parse_message(load(name), **kwargs)  # type: ignore[arg-type]


def reject(raw: bytes, **kwargs: object) -> MessageRejected:
    with pytest.raises(MessageRejected) as caught:
        parse_message(raw, **kwargs)  # type: ignore[arg-type]
    return caught.value


BASE = load(A04)


def minimal(pid3: str = "K1^^^RXX09^MR", *, version: str = "2.4", event: str = "A04", extra: str = "",
            pid8: str = "F", end: str = "\r", msh18: str = "") -> bytes:
    """A small valid ADT message, for tests that vary one thing."""
    segments = [
        f"MSH|^~\\&|APP|RXX09|EDALERTS|ICB|20240110120000||ADT^{event}|CTRL1|P|{version}||||||{msh18}",
        f"EVN|{event}|20240110115900",
        f"PID|1||{pid3}||Testchild^Alex^^^^^L||20110506|{pid8}",
        "PV1|1|E|ED||||||||||||||||VIS1|||||||||||||||||||||||||20240110114500",
    ]
    if extra:
        segments.append(extra)
    return end.join(segments).encode("utf-8") + end.encode()


def segment_ids(parsed: ParsedHL7) -> set[str]:
    return {line.split("|", 1)[0] for line in parsed.text.split("\r")}


# --- each event type -------------------------------------------------------------------------


def test_a04_ed_registration_maps_every_part_of_the_attendance() -> None:
    parsed = parse(A04)
    event = parsed.event
    assert (event.kind, event.message_type, event.sender, event.control_id, event.version) == (
        EventKind.REGISTER, "ADT^A04", "RXX01", "SYN000101", "2.4")
    assert parsed.structure == "ADT_A01"
    assert event.event_time == datetime(2024, 6, 12, 18, 35, tzinfo=UTC)  # EVN-2, BST -> UTC

    patient = event.patient
    assert patient.identifiers == [
        Identifier(system="RXX01", value="M4401267"),
        Identifier(system=NHS_NUMBER_SYSTEM, value="9990010005", is_nhs_number=True, valid=True),
    ]
    assert patient.nhs_number == "9990010005"
    assert (patient.family_name, patient.given_names) == ("Testchild", ["Jayden", "Lee"])
    assert patient.birth_date == date(2010, 3, 4)
    assert patient.sex == "male"
    assert patient.address is not None
    assert patient.address.lines == ["14 Example Road", "Flat 2"]
    assert (patient.address.city, patient.address.postcode, patient.address.country) == (
        "Anytown", "AB1 2CD", "GBR")  # postcode "ab1  2cd" normalised

    visit = event.attendance
    assert (visit.patient_class, visit.visit_number) == ("E", "V20240612-0042")
    assert visit.arrival_time == datetime(2024, 6, 12, 18, 28, tzinfo=UTC)
    assert visit.reason == "Assault - punched and kicked"
    assert visit.reason_code is not None and visit.reason_code.code == "ASSLT"
    assert [(d.system, d.code) for d in visit.diagnoses] == [
        (CodeSystem.ICD10, "Y04.0"), (CodeSystem.ICD10, "T14.1")]

    by_code = {o.code.code: o for o in visit.observations if o.code}
    feels_safe = by_code["FEELS_SAFE"]
    assert feels_safe.value_type == "coded"
    assert feels_safe.value_code is not None and feels_safe.value_code.code == "N"
    assert feels_safe.value_text == "No"
    assailants = by_code["ASSAILANTS"]
    assert (assailants.value_type, assailants.value_number, assailants.units) == ("numeric", 3.0, "{people}")
    assert by_code["TRIAGE"].value_type == "text"
    assert by_code["WEAPON"].value_code is not None and by_code["WEAPON"].value_code.code == "KNIFE"

    notes = {(n.source, n.text) for n in visit.notes}
    assert ("NTE", "Pt says he was jumped by 3 lads near the bus station") in notes
    assert ("OBX-5 TRIAGE", "Laceration to left forearm, states attackers had a blade.\n"
                            "Mother informed by phone.") in notes
    assert ("OBX-5 POLICE", "Yes - officer attended ED, ref 0612-77") in notes
    assert event.unmapped_segments == ["PD1", "NK1", "AL1", "ZED"]
    assert any("ZED" in w for w in parsed.warnings)


def test_a01_with_lf_endings_and_no_nhs_number_is_matched_on_the_local_mrn() -> None:
    event = parse("synthetic_ADT_A01_v23_LF_escapes_no_nhs.hl7").event
    assert event.kind is EventKind.REGISTER
    assert event.patient.identifiers == [Identifier(system="RXX02", value="K778812")]
    assert event.patient.nhs_number is None
    assert event.patient.family_name == "O'Neill-Test"
    assert [(d.system, d.code) for d in event.attendance.diagnoses] == [(CodeSystem.ICD10, "X99.9")]


def test_a08_update_keeps_an_invalid_nhs_number_but_marks_it_invalid() -> None:
    parsed = parse("synthetic_ADT_A08_v251_invalid_nhs_nulls.hl7")
    event = parsed.event
    assert event.kind is EventKind.UPDATE
    assert event.patient.identifiers == [  # the leading "" repetition is skipped
        Identifier(system="RXX01", value="M4401300"),
        Identifier(system=NHS_NUMBER_SYSTEM, value="9990010006", is_nhs_number=True, valid=False),
    ]
    assert event.patient.nhs_number is None  # an invalid NHS number is never used to match
    assert event.patient.sex == "female"  # PID-8 "2"
    assert event.patient.address is not None
    assert event.patient.address.lines == []  # street sent as "" (delete)
    assert event.patient.address.postcode == "AB1 3CD"
    assert [(d.system, d.code) for d in event.attendance.diagnoses] == [(CodeSystem.SNOMED, "283545005")]


def test_a08_withdrawn_obx_is_not_mapped_but_is_traced() -> None:
    parsed = parse("synthetic_ADT_A08_v251_invalid_nhs_nulls.hl7")
    answers = [o.value_code.code for o in parsed.event.attendance.observations if o.value_code]
    assert answers == ["N"]  # the W (wrong) "Y" answer is dropped, its correction kept
    assert "OBX" in parsed.event.unmapped_segments
    assert "ZPV" in parsed.event.unmapped_segments
    assert any("withdrawn" in w for w in parsed.warnings)


def test_a03_discharge_reads_arrival_discharge_and_offsets() -> None:
    event = parse("synthetic_ADT_A03_v25_discharge.hl7").event
    assert event.kind is EventKind.DISCHARGE
    assert event.attendance.arrival_time == datetime(2024, 6, 12, 18, 28, tzinfo=UTC)
    assert event.attendance.discharge_time == datetime(2024, 6, 13, 0, 40, tzinfo=UTC)
    assert event.event_time == datetime(2024, 6, 13, 0, 44, 0, 123400, tzinfo=UTC)  # +0100 with fraction


def test_a11_cancel_finds_the_nhs_number_by_type_nhsnmbr() -> None:
    event = parse("synthetic_ADT_A11_v24_cancel.hl7").event
    assert event.kind is EventKind.CANCEL
    assert event.message_type == "ADT^A11"
    assert event.patient.nhs_number == "9990089191"
    assert event.attendance.visit_number == "W-99120"
    assert event.patient.sex == "unknown"


def test_a40_merge_maps_mrg1_with_the_same_identifier_rules() -> None:
    parsed = parse("synthetic_ADT_A40_v231_merge.hl7")
    assert parsed.event.kind is EventKind.MERGE
    assert parsed.structure == "ADT_A39"
    assert parsed.event.patient.nhs_number == "9990010005"
    assert parsed.event.merged_identifiers == [
        Identifier(system="RXX01", value="M4409999"),
        Identifier(system=NHS_NUMBER_SYSTEM, value="9990168385", is_nhs_number=True, valid=True),
    ]


def test_a40_without_mrg_is_rejected() -> None:
    raw = load("synthetic_ADT_A40_v231_merge.hl7").split(b"\rMRG")[0] + b"\r"
    error = reject(raw)
    assert (error.ack_code, error.hl7_error_code, error.location) == ("AE", "100", "MRG")


def test_a40_with_two_patients_is_rejected_rather_than_half_merged() -> None:
    raw = load("synthetic_ADT_A40_v231_merge.hl7")
    pid, mrg = raw.split(b"\r")[2], raw.split(b"\r")[3]
    error = reject(raw + pid + b"\r" + mrg + b"\r")
    assert (error.ack_code, error.hl7_error_code) == ("AR", "207")


# --- lenient where safe ----------------------------------------------------------------------


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_segment_endings_do_not_change_the_result(ending: bytes) -> None:
    baseline = parse(A04).event
    raw = load(A04).replace(b"\r", ending)
    assert parse_message(raw).event == baseline


def test_mixed_endings_blank_lines_bom_and_framing_debris_are_tolerated() -> None:
    baseline = parse(A04).event
    lines = load(A04).rstrip(b"\r").split(b"\r")
    body = b"".join(line + (b"\r", b"\n", b"\r\n")[i % 3] + (b"\r\n  \n" if i == 3 else b"")
                    for i, line in enumerate(lines))
    mixed = b"\xef\xbb\xbf" + body + b"\x0b\r\n \x1c\r"
    assert parse_message(mixed).event == baseline


def test_a_line_break_inside_a_field_keeps_the_words_in_that_field() -> None:
    raw = minimal(end="\n", extra="NTE|1||Pt says he was\njumped by 3 lads\nand they had a knife")
    parsed = parse_message(raw)
    assert [n.text for n in parsed.event.attendance.notes] == [
        "Pt says he was\njumped by 3 lads\nand they had a knife"]
    assert any("joined" in w for w in parsed.warnings)


def test_escape_sequences_are_decoded() -> None:
    event = parse("synthetic_ADT_A01_v23_LF_escapes_no_nhs.hl7").event
    assert event.attendance.reason == "Stab wound & bruising"  # \T\
    assert [n.text for n in event.attendance.notes] == [
        "She said ~they told me not to tell~ \nWeapon: knife | blade 10cm \\ ^ hidden \nHex: OK end"]


@pytest.mark.parametrize(("escaped", "expected"), [
    (r"a\F\b\S\c\T\d\R\e\E\f", "a|b^c&d~e\\f"),
    (r"line1\.br\line2", "line1\nline2"),
    (r"a\.sp2\b", "a\n\nb"),
    (r"\H\bold\N\ text", "bold text"),
    (r"\X0D0A\x", "\r\nx"),
    ("\\XC3A9\\", "é"),  # hex bytes decoded in the message's charset
    (r"\Zsite\x", "x"),
    (r"C:\temp\file", r"C:\temp\file"),  # not an escape we know: kept literally
    (r"50\ off", r"50\ off"),  # a lone escape character
])
def test_unescape(escaped: str, expected: str) -> None:
    assert unescape(escaped, Delimiters(), "utf-8") == expected


def test_undeclared_latin1_bytes_are_decoded_as_latin1() -> None:
    parsed = parse("synthetic_ADT_A04_v23_latin1_msh2_three_chars.hl7")
    assert parsed.header.codec == "latin-1"
    assert parsed.event.patient.family_name == "Dubé-Test"
    assert parsed.event.patient.given_names == ["Zoë"]
    assert parsed.event.patient.address is not None and parsed.event.patient.address.lines == ["1 Café Row"]


def test_declared_utf8_is_decoded_as_utf8() -> None:
    raw = load(A04).replace(b"Jayden", "Zoë".encode("utf-8"))
    parsed = parse_message(raw)
    assert parsed.header.declared_charset == "UNICODE UTF-8"
    assert parsed.event.patient.given_names[0] == "Zoë"


def test_declared_8859_1_is_honoured() -> None:
    raw = minimal(msh18="8859/1").replace(b"Alex", "Zoë".encode("latin-1"))
    parsed = parse_message(raw)
    assert parsed.header.codec == "iso8859-1"
    assert parsed.event.patient.given_names == ["Zoë"]


def test_declared_utf8_with_latin1_bytes_falls_back_and_says_so() -> None:
    raw = minimal(msh18="UNICODE UTF-8").replace(b"Alex", "Zoë".encode("latin-1"))
    parsed = parse_message(raw)
    assert parsed.event.patient.given_names == ["Zoë"]
    assert any("not valid UTF-8" in w for w in parsed.warnings)


def test_msh2_with_three_encoding_characters() -> None:
    parsed = parse("synthetic_ADT_A04_v23_latin1_msh2_three_chars.hl7")
    # The missing repetition separator is taken as ~, so PID-3's NHS number is not glued to the MRN.
    assert parsed.event.patient.nhs_number == "9990247579"
    assert any("three encoding characters" in w for w in parsed.warnings)
    assert [n.text for n in parsed.event.attendance.notes] == ["Says she can't go home\nscared of older boys"]


def test_hl7_null_is_empty_everywhere() -> None:
    raw = minimal(pid3='""~K1^^^RXX09^MR', extra='PV2|||""')
    event = parse_message(raw.replace(b"Testchild^Alex", b'""^Alex')).event
    assert event.patient.identifiers == [Identifier(system="RXX09", value="K1")]
    assert event.patient.family_name is None
    assert event.attendance.reason is None


def test_z_segments_and_unexpected_segments_are_listed_never_lost() -> None:
    raw = minimal(extra="ZED|1|MASH^Y\rNK1|1|Parent^Sam\rZDR|x\rAL1|1||^Peanut")
    parsed = parse_message(raw)
    assert parsed.event.unmapped_segments == ["ZED", "NK1", "ZDR", "AL1"]
    assert any("ZDR" in w and "ZED" in w for w in parsed.warnings)


def test_a_repeated_single_segment_is_listed_as_unmapped() -> None:
    raw = minimal(extra="PV1|1|E|ED||||||||||||||||OTHERVISIT")
    parsed = parse_message(raw)
    assert parsed.event.attendance.visit_number == "VIS1"
    assert "PV1" in parsed.event.unmapped_segments
    assert any("more than once" in w for w in parsed.warnings)


@pytest.mark.parametrize("pid3", [
    "9990010005^^^^NH", "9990010005^^^^NHSNMBR", "9990010005^^^NHS", "9990010005^^^NHSNBR^NHSNMBR",
    "9990010005^^^&2.16.840.1.113883.2.1.4.1&ISO", "999 001 0005^^^NHS^NH", "9990010005^^^nhs",
])
def test_nhs_number_recognised(pid3: str) -> None:
    event = parse_message(minimal(pid3=pid3)).event
    assert event.patient.identifiers == [
        Identifier(system=NHS_NUMBER_SYSTEM, value="9990010005", is_nhs_number=True, valid=True)]


def test_nhs_number_by_feed_configured_authority() -> None:
    raw = minimal(pid3="9990010005^^^RXX09PAS^PI")
    assert parse_message(raw).event.patient.nhs_number is None
    feed = FeedConfig(nhs_number_authorities=frozenset({"rxx09pas"}))
    assert parse_message(raw, feed=feed).event.patient.nhs_number == "9990010005"


def test_a_ten_digit_id_from_another_authority_is_not_taken_for_an_nhs_number() -> None:
    event = parse_message(minimal(pid3="9990010005^^^RXX09^MR")).event
    assert event.patient.identifiers == [Identifier(system="RXX09", value="9990010005")]


def test_identifier_without_authority_is_local_to_the_sender() -> None:
    event = parse_message(minimal(pid3="K1")).event
    assert event.patient.identifiers == [Identifier(system="local:RXX09", value="K1")]


@pytest.mark.parametrize(("code", "sex"), [
    ("M", "male"), ("F", "female"), ("1", "male"), ("2", "female"), ("O", "other"), ("U", "unknown"),
    ("M-", "male"), ("female", "female"), ("A", "other"), ("X", "unknown"), ("", None),
])
def test_sex_codes(code: str, sex: str | None) -> None:
    assert parse_message(minimal(pid8=code)).event.patient.sex == sex


@pytest.mark.parametrize(("value", "expected"), [
    ("20240115123000", datetime(2024, 1, 15, 12, 30, tzinfo=UTC)),  # GMT
    ("20240615123000", datetime(2024, 6, 15, 11, 30, tzinfo=UTC)),  # BST
    ("202406151230", datetime(2024, 6, 15, 11, 30, tzinfo=UTC)),  # no seconds
    ("20240615123000.5", datetime(2024, 6, 15, 11, 30, 0, 500000, tzinfo=UTC)),
    ("20240615123000-0500", datetime(2024, 6, 15, 17, 30, tzinfo=UTC)),
    ("20240615123000+0000", datetime(2024, 6, 15, 12, 30, tzinfo=UTC)),
    ("20240615", datetime(2024, 6, 14, 23, 0, tzinfo=UTC)),  # local midnight
])
def test_timestamps_are_aware_utc(value: str, expected: datetime) -> None:
    assert parse_ts(value) == expected


def test_local_code_map_applies_to_diagnoses_and_observations() -> None:
    extra = "DG1|1||ASLT^Assault^LOCAL\rOBX|1|CWE|SAFEQ^Safe?^L||N^No^L"
    feed = FeedConfig(local_codes={"ASLT": ("I10", "Y04"), "SAFEQ": ("local", "FEELS_SAFE")})
    event = parse_message(minimal(extra=extra), feed=feed).event
    assert [(d.system, d.code, d.display) for d in event.attendance.diagnoses] == [
        (CodeSystem.ICD10, "Y04", "Assault")]
    obx_code = event.attendance.observations[0].code
    assert obx_code is not None and (obx_code.system, obx_code.code) == (CodeSystem.LOCAL, "FEELS_SAFE")
    # Without the map the local code is kept as a local code.
    assert parse_message(minimal(extra=extra)).event.attendance.diagnoses[0].system is CodeSystem.LOCAL


def test_cwe_alternate_standard_code_is_preferred_to_a_local_one() -> None:
    extra = "DG1|1||L17^Assault^99LOC^Y04.0^Assault by bodily force^I10"
    diagnosis = parse_message(minimal(extra=extra)).event.attendance.diagnoses[0]
    assert (diagnosis.system, diagnosis.code) == (CodeSystem.ICD10, "Y04.0")


def test_dg1_coding_method_in_dg1_2_is_used_when_dg1_3_names_none() -> None:
    diagnosis = parse_message(minimal(extra="DG1|1|I10|X99.1|Assault by knife")).event.attendance.diagnoses[0]
    assert (diagnosis.system, diagnosis.code, diagnosis.display) == (
        CodeSystem.ICD10, "X99.1", "Assault by knife")


def test_obx_value_types() -> None:
    extra = "\r".join([
        "OBX|1|SN|ASSAILANTS^Number of assailants^L||>^2",
        "OBX|2|NM|ASSAILANTS^Number of assailants^L||three",
        "OBX|3|CE|INJ^Injuries^L||HEAD^Head~ARM^Arm",
        "OBX|4|FT|NOTE^Note^L||Line one\\.br\\Line two",
    ])
    parsed = parse_message(minimal(extra=extra))
    obs = parsed.event.attendance.observations
    assert (obs[0].value_number, obs[0].value_text) == (2.0, ">2")
    assert (obs[1].value_number, obs[1].value_text) == (None, "three")  # kept as text, not dropped
    assert any("not a number" in w for w in parsed.warnings)
    assert [o.value_code.code for o in obs[2:4] if o.value_code] == ["HEAD", "ARM"]
    assert obs[4].value_text == "Line one\nLine two"
    assert parsed.event.attendance.notes[-1].source == "OBX-5 NOTE"


def test_msh9_without_an_event_falls_back_to_evn1() -> None:
    parsed = parse_message(BASE.replace(b"ADT^A04^ADT_A01", b"ADT"))
    assert parsed.event.kind is EventKind.REGISTER and parsed.event.message_type == "ADT^A04"
    assert any("EVN-1 was used" in w for w in parsed.warnings)


def test_feed_default_version_and_source_type() -> None:
    raw = minimal(version="")
    error = reject(raw)
    assert (error.ack_code, error.hl7_error_code, error.location) == ("AR", "101", "MSH-12")
    feed = FeedConfig(default_version="2.4", source_type=SourceType.MINOR_INJURY_UNIT)
    parsed = parse_message(raw, feed=feed)
    assert parsed.event.version == "2.4"
    assert parsed.event.source_type_hint is SourceType.MINOR_INJURY_UNIT
    assert any("default version" in w for w in parsed.warnings)


def test_feed_config_rejects_an_unsupported_default_version() -> None:
    with pytest.raises(ValueError):
        FeedConfig(default_version="2.7")


# --- the real public samples -----------------------------------------------------------------

ACCEPTED = {
    # file: (kind, sender, control id, structure)
    "cdcti_ADT_A01_v23_newborn.hl7": (EventKind.REGISTER, "SCH", "407750281", "ADT_A01"),
    "gcphdh_ADT_A01_v23_simhosp_nhsnbr.hl7": (EventKind.REGISTER, "SFAC", "5", "ADT_A01"),
    "gcphdh_ADT_A01_v23_uk_all_fields.hl7": (EventKind.REGISTER, "RAL", "7", "ADT_A01"),
    "hl7parser_ADT_A03_v23_discharge.hl7": (EventKind.DISCHARGE, "1", "59912415", "ADT_A03"),
    "hl7parser_ADT_A04_v24_odd_values.hl7": (EventKind.REGISTER, "MCM", "MSG00001", "ADT_A01"),
    "ipf_ADT_A01_v231_null_pid3_oids.hl7": (EventKind.REGISTER, "ICW", "371601", "ADT_A01"),
    "ipf_ADT_A08_v25_null_deletes.hl7": (EventKind.UPDATE, "HZL", "123456", "ADT_A01"),
    "ipf_ADT_A40_v231_iso8859-1_bytes.hl7": (EventKind.MERGE, "ENTERPRISE",
                                             "_mpi_1dd16f73-c85c-4540-857d-8b922f1732de", "ADT_A39"),
    "ipf_ADT_A40_v231_mrg_pd1.hl7": (EventKind.MERGE, "ICW", "00000000000396814", "ADT_A39"),
    "nodehl7_ADT_A04_v24_ED_no_msh7.hl7": (EventKind.REGISTER, "XYZ_ADMITTING", "103102", "ADT_A01"),
    "rubyhl7_ADT_A01_v23_msh2_no_repetition_sep.hl7": (EventKind.REGISTER, "DPS", "00003", "ADT_A01"),
    "v2tofhir_ADT_A01_v231_class_E.hl7": (EventKind.REGISTER, "VHIS", "MSG015410771930-19", "ADT_A01"),
    "v2tofhir_ADT_A04_v231_nl_allergies.hl7": (EventKind.REGISTER, "VHIS", "0SHT2MNK9WWH8IB", "ADT_A01"),
    "v2tofhir_ADT_A08_v23_cr_only.hl7": (EventKind.UPDATE, "Ntierprise Clinic", "8899-39", "ADT_A01"),
    "v2tofhir_ADT_A40_v251_named_A39.hl7": (EventKind.MERGE, "VHIS", "AR97X4K8RDEARVW", "ADT_A39"),
}
REJECTED = {
    # file: (ack code, HL7 error code, location, words in the reason)
    "efferent_ADT_O01_v23_crlf_blank_line.hl7": ("AR", "201", "MSH-9", "ADT^O01"),
    "gcphdh_ADT_A04_v21_ED.hl7": ("AR", "203", "MSH-12", "2.1"),
    "ipf_ADT_A01_v22_utf8_umlauts.hl7": ("AR", "203", "MSH-12", "2.2"),
    "hl7parser_ORU_R01_v23_zsegs_escapes.hl7": ("AR", "200", "MSH-9", "ORU^R01"),
    "simhosp_ORU_R01_v23_ED_NTE.hl7": ("AR", "200", "MSH-9", "ORU^R01"),
    "ipf_ADT_A31_v25_blank_name.hl7": ("AR", "201", "MSH-9", "ADT^A31"),
    "simhosp_ADT_A34_v23_merge_nhsnbr.hl7": ("AR", "201", "MSH-9", "ADT^A34"),
    "v2tofhir_ADT_A34_v23_baby_merge.hl7": ("AR", "201", "MSH-9", "ADT^A34"),
    "hl7parser_ADT_A08_v23_header_only_escape.hl7": ("AE", "100", "PID", "PID is missing"),
    "ipf_ADT_A01_v231_no_PID.hl7": ("AE", "100", "PID", "PID is missing"),
    "nodehl7_batch_FHS_ADT_A01_v24_plus_RSP.hl7": ("AR", "200", "MSH", "batch"),
}


def test_every_public_sample_is_covered() -> None:
    samples = {p.name for p in DATA.glob("*.hl7") if not p.name.startswith("synthetic_")}
    assert samples == set(ACCEPTED) | set(REJECTED)


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_accepted_sample(name: str) -> None:
    parsed = parse(name)
    kind, sender, control_id, structure = ACCEPTED[name]
    event = parsed.event
    assert (event.kind, event.sender, event.control_id) == (kind, sender, control_id)
    assert parsed.structure == structure
    assert event.patient.identifiers, "every accepted message links to a patient"
    assert event.event_time is not None and event.event_time.tzinfo is not None
    # Nothing lost without trace: every segment present is mapped or listed.
    assert segment_ids(parsed) - MAPPED <= set(event.unmapped_segments)


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_rejected_sample(name: str) -> None:
    ack_code, error_code, location, words = REJECTED[name]
    error = reject(load(name))
    assert (error.ack_code, error.hl7_error_code, error.location) == (ack_code, error_code, location)
    assert words in error.reason


def test_uk_sample_nhs_number_type_nhsnmbr_and_odd_values() -> None:
    event = parse("gcphdh_ADT_A01_v23_uk_all_fields.hl7").event
    assert event.patient.nhs_number == "3870146052"
    assert event.patient.identifiers[0] == Identifier(system="SIMULATOR MRN", value="1419055458")
    assert event.patient.sex == "female"  # PID-8 "2"
    assert event.attendance.patient_class == "INPATIENT"
    assert event.unmapped_segments == ["PD1", "AL1"]


def test_simhosp_nhs_number_in_the_chi_range_is_flagged_but_invalid() -> None:
    # 2478684691 passes the bare Modulus 11 sum, but it lies in Scotland's CHI range and its first
    # six digits are not a date, so the nhs_number package (rightly) calls it invalid.
    event = parse("gcphdh_ADT_A01_v23_simhosp_nhsnbr.hl7").event
    nhs = [i for i in event.patient.identifiers if i.is_nhs_number]
    assert nhs == [Identifier(system=NHS_NUMBER_SYSTEM, value="2478684691", is_nhs_number=True, valid=False)]


def test_ed_sample_without_msh7_uses_evn2_and_reads_pv2_and_odd_obx_type() -> None:
    event = parse("nodehl7_ADT_A04_v24_ED_no_msh7.hl7").event
    assert event.event_time == datetime(2000, 7, 1, 7, 0, tzinfo=UTC)
    assert (event.attendance.patient_class, event.attendance.reason) == ("E", "ABDOMINAL PAIN")
    assert event.patient.sex == "male"  # "M-"
    assert [(o.value_type, o.value_text) for o in event.attendance.observations] == [
        ("HD", "1.123456.2.2000.31.2.1")]


def test_sample_with_null_first_pid3_repetition_and_oids() -> None:
    event = parse("ipf_ADT_A01_v231_null_pid3_oids.hl7").event
    assert event.patient.identifiers == [Identifier(system="MPI", value="306563"),
                                         Identifier(system="KHKN", value="30753")]
    assert event.patient.address is None  # only the address type was sent


def test_latin1_sample_and_repeating_mrg1() -> None:
    parsed = parse("ipf_ADT_A40_v231_iso8859-1_bytes.hl7")
    assert parsed.header.codec == "latin-1"
    assert "Ä" in parsed.header.receiving_application[0]
    assert [i.value for i in parsed.event.merged_identifiers] == ["305010", "7200117359"]
    assert parsed.event.merged_identifiers[0].system == "local:ENTERPRISE"


def test_ruby_sample_with_stray_vt_and_three_char_msh2() -> None:
    parsed = parse("rubyhl7_ADT_A01_v23_msh2_no_repetition_sep.hl7")
    assert parsed.event.sender == "DPS"  # MSH-4 empty: MSH-3
    assert parsed.event.unmapped_segments == ["AL1", "IN1", "STF"]
    assert parsed.header.processing_id == "D"


def test_odd_values_sample_prefers_msh9_over_a_disagreeing_evn1() -> None:
    parsed = parse("hl7parser_ADT_A04_v24_odd_values.hl7")
    assert parsed.event.message_type == "ADT^A04"
    assert any("EVN-1" in w for w in parsed.warnings)
    assert [(d.system, d.code, d.display) for d in parsed.event.attendance.diagnoses] == [
        (CodeSystem.LOCAL, "1550", "MAL NEO LIVER, PRIMARY")]  # ICD-9 is not a system we map


def test_batch_sample_split_on_segment_starts_only() -> None:
    messages = split_batch(load("nodehl7_batch_FHS_ADT_A01_v24_plus_RSP.hl7"))
    assert len(messages) == 2  # OBX values containing "MSH" do not start messages
    first = parse_message(messages[0])
    assert (first.event.kind, first.event.sender, first.event.version) == (
        EventKind.REGISTER, "General Hospital", "2.4")
    assert b"OBX||||MSH||||MSH" in messages[1]
    assert reject(messages[1]).hl7_error_code == "200"  # RSP^K11


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "ack_code", "error_code", "location", "words"), [
    (b"", "AR", "100", "MSH", "empty"),
    (b" \r\n\x0b\x1c", "AR", "100", "MSH", "empty"),
    (bytes(range(256)), "AR", "100", "MSH", "control byte"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "AR", "100", "MSH", "control byte"),
    ("MSH|^~\\&|A".encode("utf-16"), "AR", "100", "MSH", "control byte"),
    (b'{"resourceType": "Bundle"}', "AR", "100", "MSH", "does not start with an MSH"),
    (b"PID|1||123^^^X\rPV1|1|E", "AR", "100", "MSH", "does not start with an MSH"),
    (b"MSH|^~\\&|A", "AR", "101", "MSH-9", "truncated"),
    (b"MSH|^~\\&|APP|FAC|R|RF|20240101||ADT^A04", "AR", "101", "MSH-10", "truncated"),
    (b"MSH|^~\\&|APP|FAC|R|RF|20240101||ADT^A04|123|P", "AR", "101", "MSH-12", "truncated"),
    (b"MSH|^^\\&|APP|FAC|R|RF|20240101||ADT^A04|1|P|2.4", "AR", "102", "MSH-2", "encoding characters"),
    (BASE.replace(b"|2.4|", b"|2.6|"), "AR", "203", "MSH-12", "2.6"),
    (BASE.replace(b"|2.4|", b"|banana|"), "AR", "203", "MSH-12", "not supported"),
    (BASE.replace(b"ADT^A04^ADT_A01", b"ADT^A02"), "AR", "201", "MSH-9", "ADT^A02"),
    (BASE.replace(b"ADT^A04^ADT_A01", b"ADT").replace(b"EVN|A04|", b"EVN||"), "AR", "101", "MSH-9",
     "trigger event"),
    (BASE.replace(b"ADT^A04^ADT_A01", b"ORU^R01"), "AR", "200", "MSH-9", "ORU^R01"),
    (BASE.replace(b"SYN000101", b""), "AR", "101", "MSH-10", "control id"),
    (BASE.replace(b"SYMPHONY|RXX01^Example Acute Hospital ED^L", b"|"), "AR", "101", "MSH-4", "sending"),
    (BASE + BASE, "AR", "100", "MSH", "more than one MSH"),
    (BASE.replace(b"20100304", b"20101304"), "AE", "102", "PID-7", "birth date"),
    (BASE.replace(b"|20240612192800\r", b"|2024061219280\r"), "AE", "102", "PV1-44", "admit"),
    (BASE.replace(b"EVN|A04|20240612193500", b"EVN|A04|yesterday"), "AE", "102", "EVN-2", "recorded"),
    (BASE.replace(b"M4401267^^^RXX01^MR~9990010005^^^NHS^NH", b'""'), "AE", "101", "PID-3", "identifier"),
], ids=["empty", "whitespace", "binary", "png", "utf16", "json", "no-msh", "truncated-msh", "msh-no-10",
        "msh-no-12", "bad-msh2", "version-2.6", "version-junk", "event-a02", "no-event", "oru",
        "no-control-id", "no-sender", "two-messages", "bad-dob", "bad-arrival", "bad-evn2", "no-pid3"])
def test_bad_input_is_rejected_with_a_clear_reason(raw: bytes, ack_code: str, error_code: str,
                                                  location: str, words: str) -> None:
    error = reject(raw)
    assert (error.ack_code, error.hl7_error_code, error.location) == (ack_code, error_code, location)
    assert words in error.reason


def test_rejection_reasons_never_echo_patient_data() -> None:
    error = reject(BASE.replace(b"20100304", b"20101304"))
    assert "20101304" not in error.reason and "Testchild" not in error.reason


def test_parse_message_needs_bytes() -> None:
    with pytest.raises(TypeError):
        parse_message("MSH|^~\\&|...")  # type: ignore[arg-type]


# --- peek_header -----------------------------------------------------------------------------


def test_peek_header_reads_msh_of_a_message_whose_body_is_broken() -> None:
    msh = BASE.split(b"\r")[0]
    broken = msh + b"\r\x00\x01\x02garbage\xff\xfe" + b"PID|||||"
    header = peek_header(broken)
    assert header is not None
    assert (header.sender, header.control_id, header.message_type, header.version) == (
        "RXX01", "SYN000101", "ADT^A04", "2.4")
    assert header.sending_facility == ("RXX01", "Example Acute Hospital ED", "L")
    assert header.receiving_application == ("EDALERTS",)
    assert header.processing_id == "P"
    with pytest.raises(MessageRejected):
        parse_message(broken)


def test_peek_header_falls_back_to_msh3_and_survives_a_bad_msh2() -> None:
    header = peek_header(b"MSH|^^\\&|APP^X|||R|20240101||ADT^A04|77|P|2.4\rPID|broken")
    assert header is not None
    assert (header.sender, header.control_id, header.message_type) == ("APP", "77", "ADT^A04")


def test_peek_header_on_truncated_and_latin1_headers() -> None:
    header = peek_header(b"MSH|^~\\&|A|B")
    assert header is not None and (header.sender, header.control_id, header.version) == ("B", None, None)
    header = peek_header(load("ipf_ADT_A40_v231_iso8859-1_bytes.hl7"))
    assert header is not None and header.codec == "latin-1" and "Ä" in header.receiving_application[0]
    header = peek_header(load("hl7parser_ADT_A08_v23_header_only_escape.hl7"))
    assert header is not None and header.receiving_application == ("Isaac^2",)  # \S\ decoded


@pytest.mark.parametrize("raw", [b"", b"hello", b"\x00\x01", b"MSH", b"MSH1abc", b"FHS|^~\\&|x\rMSH|^~\\&|y"])
def test_peek_header_returns_none_when_there_is_no_msh_to_read(raw: bytes) -> None:
    assert peek_header(raw) is None


def test_peek_header_matches_parse_message() -> None:
    for path in sorted(DATA.glob("*.hl7")):
        raw = path.read_bytes()
        try:
            parsed = parse_message(raw)
        except MessageRejected:
            continue
        assert peek_header(raw) == parsed.header, path.name


def test_warnings_carry_no_patient_data() -> None:
    for path in sorted(DATA.glob("*.hl7")):
        try:
            parsed = parse_message(path.read_bytes())
        except MessageRejected:
            continue
        names = [parsed.event.patient.family_name or "", *parsed.event.patient.given_names]
        ids = [i.value for i in parsed.event.patient.identifiers]
        for warning in parsed.warnings:
            for value in names + ids:
                if len(value) > 3:
                    assert not re.search(re.escape(value), warning), (path.name, warning)


def test_an_indented_segment_is_still_a_segment() -> None:
    raw = minimal(end="\r\n", extra="  NTE|1||Indented note")
    assert [n.text for n in parse_message(raw).event.attendance.notes] == ["Indented note"]


def test_peek_header_of_a_bare_msh_line_is_none_not_a_crash() -> None:
    # Found by the property-based tests: every "|" replaced by a line break leaves "MSH" alone.
    from integrations.hl7v2 import peek_header

    assert peek_header(b"MSH\nEDIS\nRGT01\n") is None
