"""HL7 v2 adapter: build_ack for accepted, rejected and unreadable messages, valid for each version."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from hl7apy.parser import parse_segment

from ed_alerts.errors import MessageRejected
from integrations.hl7v2 import HeaderInfo, build_ack, parse_message, peek_header

DATA = Path(__file__).resolve().parent.parent / "data" / "hl7v2"
A04 = (DATA / "synthetic_ADT_A04_v24_ED_assault.hl7").read_bytes()


def fields(ack: bytes, segment_id: str, encoding: str = "utf-8") -> list[str]:
    """Fields of one ACK segment, numbered like HL7 (for MSH, [1] is the field separator)."""
    for line in ack.decode(encoding).split("\r"):
        parts = line.split("|")
        if parts[0] == segment_id:
            return ["MSH", "|", *parts[1:]] if segment_id == "MSH" else parts
    raise AssertionError(f"no {segment_id} in {ack!r}")


def field(ack: bytes, segment_id: str, n: int) -> str:
    values = fields(ack, segment_id)
    return values[n] if n < len(values) else ""


def strictly_valid(ack: bytes, version: str) -> None:
    """Load the ACK into hl7apy's ACK structure for `version` with strict validation.

    Built segment by segment because hl7apy cannot infer the ACK structure from "ACK^A04" in v2.3.
    """
    message = Message("ACK", version=version, validation_level=VALIDATION_LEVEL.STRICT)
    for text in ack.decode().rstrip("\r").split("\r"):
        segment = parse_segment(text, version=version, validation_level=VALIDATION_LEVEL.STRICT)
        if text.startswith("MSH"):
            message.msh = segment
        else:
            message.add(segment)
    assert message.validate()


@pytest.fixture
def header() -> HeaderInfo:
    return parse_message(A04).header


def test_aa_swaps_sender_and_receiver_and_echoes_the_control_id(header: HeaderInfo) -> None:
    ack = build_ack(header, "AA")
    assert ack.endswith(b"\r") and b"\n" not in ack
    msh = fields(ack, "MSH")
    assert msh[3:7] == ["EDALERTS", "ICB", "SYMPHONY", "RXX01^Example Acute Hospital ED^L"]
    assert re.fullmatch(r"\d{14}\+0000", msh[7])
    assert msh[9] == "ACK^A04^ACK"
    assert msh[10] and msh[10] != "SYN000101" and len(msh[10]) <= 20
    assert (msh[11], msh[12]) == ("P", "2.4")
    assert fields(ack, "MSA")[1:3] == ["AA", "SYN000101"]
    assert b"\rERR" not in ack


def test_control_ids_are_new_each_time(header: HeaderInfo) -> None:
    assert field(build_ack(header, "AA"), "MSH", 10) != field(build_ack(header, "AA"), "MSH", 10)


def test_ae_for_v2_4_puts_the_location_and_code_in_err1(header: HeaderInfo) -> None:
    ack = build_ack(header, "AE", text="PID-7 (birth date) is not a valid HL7 date/time",
                    error_code="102", error_location="PID-7")
    assert fields(ack, "MSA")[1:4] == ["AE", "SYN000101", "PID-7 (birth date) is not a valid HL7 date/time"]
    assert fields(ack, "ERR") == ["ERR", "PID^1^7^102&Data type error&HL70357"]


@pytest.mark.parametrize("version", ["2.5", "2.5.1"])
def test_ar_from_v2_5_uses_err2_err3_and_severity(header: HeaderInfo, version: str) -> None:
    ack = build_ack(dataclasses.replace(header, version=version), "AR", text="version not supported",
                    error_code="203", error_location="MSH-12")
    err = fields(ack, "ERR")
    assert err[1:5] == ["", "MSH^1^12^1", "203^Unsupported version id^HL70357", "E"]
    assert err[7] == "version not supported"


def test_v2_3_message_type_has_no_structure_component(header: HeaderInfo) -> None:
    ack = build_ack(dataclasses.replace(header, version="2.3"), "AA")
    assert field(ack, "MSH", 9) == "ACK^A04"


def test_error_without_location_or_code_defaults_to_207(header: HeaderInfo) -> None:
    ack = build_ack(header, "AE")
    assert field(ack, "ERR", 1) == "^^^207&Application internal error&HL70357"


@pytest.mark.parametrize("version", ["2.3", "2.3.1", "2.4", "2.5", "2.5.1"])
@pytest.mark.parametrize("ack_code", ["AA", "AE", "AR"])
def test_ack_is_valid_for_its_version(header: HeaderInfo, version: str, ack_code: str) -> None:
    ack = build_ack(dataclasses.replace(header, version=version), ack_code,
                    text="PID-3 holds no identifier", error_code="101", error_location="PID-3")
    strictly_valid(ack, version)


def test_ack_when_nothing_was_readable() -> None:
    ack = build_ack(None, "AR", text="not an HL7 v2 message", error_code="100")
    msh = fields(ack, "MSH")
    assert (msh[3], msh[9], msh[11], msh[12]) == ("EDALERTS", "ACK", "P", "2.5.1")
    assert fields(ack, "MSA")[1:3] == ["AR", '""']  # MSA-2 is required: the HL7 null
    assert field(ack, "ERR", 3) == "100^Segment sequence error^HL70357"
    strictly_valid(ack, "2.5.1")


def test_ack_when_nothing_was_readable_in_a_feeds_version() -> None:
    ack = build_ack(None, "AR", text="binary", error_code="100", version="2.3")
    assert field(ack, "MSH", 12) == "2.3"
    assert field(ack, "ERR", 1) == "^^^100&Segment sequence error&HL70357"
    strictly_valid(ack, "2.3")


def test_ack_from_peek_header_of_a_message_that_failed_to_parse() -> None:
    raw = A04.replace(b"20100304", b"20101304")  # bad birth date
    with pytest.raises(MessageRejected) as caught:
        parse_message(raw)
    error = caught.value
    header = peek_header(raw)
    ack = build_ack(header, error.ack_code, text=error.reason, error_code=error.hl7_error_code,
                    error_location=error.location)
    assert fields(ack, "MSA")[1:3] == ["AE", "SYN000101"]
    assert field(ack, "ERR", 1) == "PID^1^7^102&Data type error&HL70357"
    strictly_valid(ack, "2.4")


@pytest.mark.parametrize("name", ["gcphdh_ADT_A04_v21_ED.hl7", "efferent_ADT_O01_v23_crlf_blank_line.hl7",
                                  "hl7parser_ORU_R01_v23_zsegs_escapes.hl7"])
def test_rejected_samples_get_an_ack_in_their_own_version(name: str) -> None:
    raw = (DATA / name).read_bytes()
    with pytest.raises(MessageRejected) as caught:
        parse_message(raw)
    header = peek_header(raw)
    assert header is not None
    ack = build_ack(header, caught.value.ack_code, text=caught.value.reason,
                    error_code=caught.value.hl7_error_code, error_location=caught.value.location)
    assert field(ack, "MSH", 12) == header.version
    assert fields(ack, "MSA")[1:3] == ["AR", header.control_id]
    assert field(ack, "MSH", 9).startswith(f"ACK^{header.trigger_event}")


def test_values_are_escaped(header: HeaderInfo) -> None:
    odd = dataclasses.replace(header, control_id="A|B^C", receiving_application=("ED~ALERTS&1",))
    ack = build_ack(odd, "AE", text="bad | thing ^ with & and ~ and \\ and\nnew line")
    assert field(ack, "MSH", 3) == r"ED\R\ALERTS\T\1"
    assert fields(ack, "MSA")[1:4] == [
        "AE", r"A\F\B\S\C", r"bad \F\ thing \S\ with \T\ and \R\ and \E\ and new line"]


def test_msa3_is_cut_to_80_characters(header: HeaderInfo) -> None:
    ack = build_ack(header, "AE", text="x" * 200)
    assert len(field(ack, "MSA", 3)) == 80


def test_escaped_values_in_the_original_round_trip() -> None:
    header = peek_header((DATA / "hl7parser_ADT_A08_v23_header_only_escape.hl7").read_bytes())
    assert header is not None
    ack = build_ack(header, "AE", error_code="100", error_location="PID")
    assert field(ack, "MSH", 5) == "AccMgr" and field(ack, "MSH", 3) == r"Isaac\S\2"


def test_ack_is_encoded_like_the_message() -> None:
    header = peek_header((DATA / "ipf_ADT_A40_v231_iso8859-1_bytes.hl7").read_bytes())
    assert header is not None and header.codec == "latin-1"
    ack = build_ack(header, "AA")
    assert "Ä" in ack.decode("latin-1").split("|")[2]  # MSH-3 is the original MSH-5, still latin-1
    declared = peek_header((DATA / "v2tofhir_ADT_A01_v231_class_E.hl7").read_bytes())
    assert declared is not None
    assert field(build_ack(declared, "AA"), "MSH", 18) == "8859/1"


def test_unknown_codes_are_refused(header: HeaderInfo) -> None:
    with pytest.raises(ValueError):
        build_ack(header, "OK")
    with pytest.raises(ValueError):
        build_ack(header, "AE", error_code="999")
