"""Turn raw message bytes into text: strip framing debris, refuse binary, pick the character set.

The character set comes from MSH-18 when declared. Undeclared text is tried as UTF-8 and falls
back to latin-1, which cannot fail, so a name with an accent never costs us the message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ed_alerts.errors import MessageRejected
from integrations.hl7v2.er7 import Delimiters, DelimiterError

_BOM = b"\xef\xbb\xbf"
# MLLP start/end block bytes and whitespace that senders leave around a message.
_EDGE_JUNK = b" \t\r\n\x0b\x1c\x00"
# C0 controls other than TAB, LF, CR and ESC (ISO 2022 charsets use ESC) mean this is not text.
_BINARY = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]")
_FIRST_LINE = re.compile(rb"[^\r\n]*")

# HL7 table 0211 names -> Python codecs. None means "not a fixed codec: detect".
_CHARSETS: dict[str, str | None] = {
    "ASCII": None,
    "UNICODE": None,  # ambiguous in v2.3 (UCS-2 or UTF-8); a byte stream that reached us is 8-bit
    "UNICODE UTF-8": "utf-8",
    "UTF-8": "utf-8",
    "UTF8": "utf-8",
    **{f"8859/{n}": f"iso8859-{n}" for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 15)},
}
BATCH_HEADERS = (b"FHS", b"BHS")


@dataclass(slots=True)
class DecodedText:
    text: str
    codec: str  # the Python codec actually used
    declared_charset: str | None  # MSH-18 as sent, if any
    warnings: list[str] = field(default_factory=list)


def strip_edges(raw: bytes) -> bytes:
    body = raw.strip(_EDGE_JUNK)
    if body.startswith(_BOM):
        body = body[len(_BOM):].lstrip(_EDGE_JUNK)
    return body


def first_line(body: bytes) -> bytes:
    match = _FIRST_LINE.match(body)
    return match.group(0) if match else b""


def declared_charset(msh_line: bytes) -> str | None:
    """MSH-18 (its first repetition) read from the undecoded MSH line, or None."""
    line = msh_line.decode("latin-1")
    try:
        delims = Delimiters.from_msh(line)
    except DelimiterError:
        return None
    fields = line.split(delims.field)
    if len(fields) < 18:
        return None
    value = fields[17]
    if delims.repetition:
        value = value.split(delims.repetition)[0]
    value = value.split(delims.component)[0].strip()
    return value or None


def codec_for(declared: str | None) -> str | None:
    if declared is None:
        return None
    return _CHARSETS.get(declared.upper(), None)


def decode_bytes(body: bytes, declared: str | None) -> tuple[str, str, list[str]]:
    """Decode with the declared charset, else UTF-8 then latin-1. Returns text, codec, warnings."""
    warnings: list[str] = []
    codec = codec_for(declared)
    if declared is not None and codec is None and declared.upper() not in _CHARSETS:
        warnings.append(f"MSH-18 character set {declared[:20]!r} is not supported; detected instead")
    if codec is not None and codec != "utf-8":
        return body.decode(codec), codec, warnings  # single-byte codecs decode every byte
    try:
        return body.decode("utf-8"), "utf-8", warnings
    except UnicodeDecodeError:
        if codec == "utf-8":
            warnings.append("MSH-18 declares UTF-8 but the bytes are not valid UTF-8; decoded as latin-1")
        return body.decode("latin-1"), "latin-1", warnings


def decode_message(raw: bytes) -> DecodedText:
    """Bytes -> text of one HL7 v2 message, or MessageRejected(AR) when it is not one."""
    if not isinstance(raw, (bytes, bytearray)):
        raise TypeError("parse_message expects bytes")
    body = strip_edges(bytes(raw))
    if not body:
        raise MessageRejected("empty message: no bytes other than whitespace or framing",
                              ack_code="AR", hl7_error_code="100", location="MSH")
    binary = _BINARY.search(body)
    if binary is not None:
        raise MessageRejected(
            f"not an HL7 v2 text message: control byte 0x{binary.group(0)[0]:02X} at offset {binary.start()}",
            ack_code="AR", hl7_error_code="100", location="MSH")
    if body[:3] in BATCH_HEADERS:
        raise MessageRejected(
            "HL7 batch (FHS/BHS) received: send one message per frame, or split it with split_batch()",
            ack_code="AR", hl7_error_code="200", location="MSH")
    if not body.startswith(b"MSH"):
        raise MessageRejected("not an HL7 v2 message: it does not start with an MSH segment",
                              ack_code="AR", hl7_error_code="100", location="MSH")
    charset = declared_charset(first_line(body))
    text, codec, warnings = decode_bytes(body, charset)
    return DecodedText(text=text, codec=codec, declared_charset=charset, warnings=warnings)
