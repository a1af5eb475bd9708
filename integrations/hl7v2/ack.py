"""build_ack: an original-mode HL7 ACK (MSH, MSA, ERR) for a message, even one we could not read.

Built as text rather than with hl7apy: hl7apy's Message("ACK") costs ~3 ms per ACK, and an ACK is
three short segments. The tests check the result against hl7apy's strict validation instead.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from integrations.hl7v2.header import HeaderInfo

ACK_CODES = frozenset({"AA", "AE", "AR", "CA", "CE", "CR"})
ERROR_CODES = {  # HL7 table 0357
    "0": "Message accepted",
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "200": "Unsupported message type",
    "201": "Unsupported event code",
    "202": "Unsupported processing id",
    "203": "Unsupported version id",
    "204": "Unknown key identifier",
    "205": "Duplicate key identifier",
    "206": "Application record locked",
    "207": "Application internal error",
}
APPLICATION = "EDALERTS"  # MSH-3 of our ACK when the message named no receiving application
FALLBACK_VERSION = "2.5.1"  # when the message's version could not be read
_VERSION = re.compile(r"2\.\d(\.\d)?")
_LOCATION = re.compile(r"([A-Z][A-Z0-9]{2})(?:-(\d+)(?:\.(\d+))?)?")
_MSA_TEXT_MAX = 80  # MSA-3 is ST(80) in v2.3-2.5.1


def build_ack(header: HeaderInfo | None, ack_code: str, *, text: str | None = None,
              error_code: str | None = None, error_location: str | None = None,
              version: str | None = None) -> bytes:
    """ACK bytes (segments ended by CR, no MLLP framing) answering the message `header` describes.

    `header` may be None when not even MSH could be read; `version` is then the version to answer
    in (default 2.5.1). An ERR segment is added for AE/AR/CE/CR: ERR-1 (ELD) up to v2.4, and
    ERR-2/3/4 (location, HL7 error code, severity E) from v2.5 on.
    """
    if ack_code not in ACK_CODES:
        raise ValueError(f"unknown acknowledgement code {ack_code!r}")
    if error_code is not None and error_code not in ERROR_CODES:
        raise ValueError(f"{error_code!r} is not an HL7 table 0357 error code")
    ack_version = _answer_version(header, version)
    event = header.trigger_event if header else None

    if _as_tuple(ack_version) >= (2, 3, 1):
        message_type = f"ACK^{_esc(event)}^ACK" if event else "ACK"
    else:  # MSG-3 (message structure) only exists from v2.3.1
        message_type = f"ACK^{_esc(event)}" if event else "ACK"
    msh = [
        "MSH", "^~\\&",
        _hd(header.receiving_application if header else ()) or APPLICATION,
        _hd(header.receiving_facility if header else ()),
        _hd(header.sending_application if header else ()),
        _hd(header.sending_facility if header else ()),
        datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000"),
        "",
        message_type,
        uuid.uuid4().hex[:20],  # MSH-10 is ST(20) before v2.5.1
        _esc((header.processing_id if header else None) or "P"),
        ack_version,
    ]
    if header and header.declared_charset:
        msh += [""] * 5 + [_esc(header.declared_charset)]  # MSH-18: we answer in the sender's charset
    segments = ["|".join(msh).rstrip("|")]

    clean_text = " ".join((text or "").split())
    # MSA-2 is required: when the original control id could not be read, answer with the HL7 null.
    original_id = _esc(header.control_id if header else None) or '""'
    segments.append("|".join(["MSA", ack_code, original_id,
                               _esc(clean_text[:_MSA_TEXT_MAX])]).rstrip("|"))
    if ack_code not in ("AA", "CA"):
        segments.append(_err(ack_version, error_code or "207", error_location, clean_text))
    codec = header.codec if header else "utf-8"
    return ("\r".join(segments) + "\r").encode(codec, errors="replace")


def _err(version: str, code: str, location: str | None, text: str) -> str:
    where = _LOCATION.fullmatch(location or "")
    seg_id, field_no, component = where.groups() if where else (None, None, None)
    if _as_tuple(version) < (2, 5):
        # ELD: segment id ^ sequence ^ field position ^ code (CE, as subcomponents)
        eld = [seg_id or "", "1" if seg_id else "", field_no or "", f"{code}&{ERROR_CODES[code]}&HL70357"]
        return "ERR|" + "^".join(eld)
    erl = ""
    if seg_id:  # ERL: segment id ^ sequence ^ field ^ repetition ^ component
        parts = (seg_id, "1", field_no or "", "1" if field_no else "", component or "")
        erl = "^".join(parts).rstrip("^")
    fields = ["ERR", "", erl, f"{code}^{ERROR_CODES[code]}^HL70357", "E", "", "", _esc(text)]
    return "|".join(fields).rstrip("|")


def _answer_version(header: HeaderInfo | None, version: str | None) -> str:
    if header and header.version and _VERSION.fullmatch(header.version):
        return header.version
    return version or FALLBACK_VERSION


def _as_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def _hd(parts: tuple[str, ...]) -> str:
    return "^".join(_esc(p) for p in parts)


def _esc(value: str | None) -> str:
    """Escape for our standard delimiters |^~\\&; line breaks become spaces."""
    if not value:
        return ""
    value = value.replace("\\", "\\E\\")
    for char, code in (("|", "F"), ("^", "S"), ("~", "R"), ("&", "T")):
        value = value.replace(char, f"\\{code}\\")
    return " ".join(value.splitlines()) if ("\r" in value or "\n" in value) else value
