"""The MSH facts a caller needs to deduplicate and acknowledge, read even when the body is broken."""

from __future__ import annotations

from dataclasses import dataclass

from integrations.hl7v2.decoding import declared_charset, decode_bytes, first_line, strip_edges
from integrations.hl7v2.er7 import STANDARD_DELIMITERS, Delimiters, DelimiterError, Segment


@dataclass(frozen=True, slots=True)
class HeaderInfo:
    """MSH as received. HD fields keep all their components so an ACK can echo them exactly."""

    sender: str | None  # MSH-4 first component, else MSH-3: the site, for per-sender deduplication
    control_id: str | None  # MSH-10
    message_code: str | None  # MSH-9.1, e.g. "ADT"
    trigger_event: str | None  # MSH-9.2, e.g. "A04"
    message_structure: str | None  # MSH-9.3 as sent, e.g. "ADT_A01"
    version: str | None  # MSH-12.1
    processing_id: str | None  # MSH-11.1: P, T or D
    sending_application: tuple[str, ...] = ()
    sending_facility: tuple[str, ...] = ()
    receiving_application: tuple[str, ...] = ()
    receiving_facility: tuple[str, ...] = ()
    sent_at: str | None = None  # MSH-7 as sent; parsed only by parse_message
    declared_charset: str | None = None  # MSH-18 as sent
    codec: str = "utf-8"  # how the bytes were decoded; an ACK is encoded the same way

    @property
    def message_type(self) -> str | None:
        """ "ADT^A04", or just the code when no event was sent."""
        if not self.message_code:
            return None
        return f"{self.message_code}^{self.trigger_event}" if self.trigger_event else self.message_code


def _hd(segment: Segment, n: int) -> tuple[str, ...]:
    reps = segment.repetitions(n)
    if not reps:
        return ()
    parts = tuple(segment.decode(c) for c in segment.components(reps[0]))
    while parts and not parts[-1]:
        parts = parts[:-1]
    return parts


def _first(parts: tuple[str, ...]) -> str | None:
    """The HD's namespace, else its universal id: whichever names the system."""
    return next((p for p in parts if p), None)


def header_from_msh(msh: Segment, codec: str, declared: str | None) -> HeaderInfo:
    sending_facility = _hd(msh, 4)
    sending_application = _hd(msh, 3)
    return HeaderInfo(
        sender=_first(sending_facility[:2]) or _first(sending_application[:2]),
        control_id=msh.get(10, 1, None) or None,
        message_code=(msh.get(9, 1) or None),
        trigger_event=(msh.get(9, 2) or None),
        message_structure=(msh.get(9, 3) or None),
        version=(msh.get(12, 1) or None),
        processing_id=(msh.get(11, 1) or None),
        sending_application=sending_application,
        sending_facility=sending_facility,
        receiving_application=_hd(msh, 5),
        receiving_facility=_hd(msh, 6),
        sent_at=msh.get(7, 1) or None,
        declared_charset=declared,
        codec=codec,
    )


def peek_header(raw: bytes) -> HeaderInfo | None:
    """Read MSH from raw bytes without touching the rest; None when there is no MSH to read.

    Never raises: it is what a caller uses to answer a message that parse_message rejected.
    """
    try:
        body = strip_edges(bytes(raw))
    except TypeError:
        return None
    if not body.startswith(b"MSH") or len(body) < 4:
        return None
    declared = declared_charset(first_line(body))
    # Decode the whole body, not just MSH, so the codec is the one parse_message would choose.
    text, codec, _ = decode_bytes(body, declared)
    line = text.split("\r", 1)[0].split("\n", 1)[0]
    try:
        delims = Delimiters.from_msh(line)
    except DelimiterError:
        # Broken MSH-2: still try the standard delimiters, a caller is better off with a guess.
        if len(line) < 4:
            return None  # "MSH" and a line break: there is no separator to guess from
        separator = line[3]
        if separator.isalnum() or separator.isspace():
            return None
        delims = Delimiters(separator, STANDARD_DELIMITERS.component, None, None, None)
    return header_from_msh(Segment(line, delims, codec), codec, declared)
