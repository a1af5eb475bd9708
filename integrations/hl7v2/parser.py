"""parse_message: raw bytes of one HL7 v2 ADT message -> ParsedHL7, or MessageRejected with a reason.

Cost is a few str.splits plus pydantic construction (well under 1 ms for a 1.5 KB ADT); hl7apy
is consulted only for its cached structure tables and its timestamp grammar.
"""

from __future__ import annotations

from dataclasses import dataclass

from ed_alerts.domain import InboundEvent
from ed_alerts.errors import MessageRejected
from integrations.hl7v2.config import DEFAULT_FEED, FeedConfig
from integrations.hl7v2.decoding import decode_message
from integrations.hl7v2.er7 import Delimiters, DelimiterError, Segment, is_segment_id, split_lines
from integrations.hl7v2.event import build_event
from integrations.hl7v2.header import HeaderInfo, header_from_msh
from integrations.hl7v2.structure import EVENT_KINDS, SUPPORTED_EVENTS, SUPPORTED_VERSIONS, structure_for

_BATCH_SEGMENTS = ("FHS", "BHS", "BTS", "FTS")


@dataclass(frozen=True, slots=True)
class ParsedHL7:
    event: InboundEvent
    header: HeaderInfo  # what build_ack needs
    text: str  # the decoded message, segments joined by CR
    structure: str  # the HL7 abstract message structure, e.g. "ADT_A01"
    warnings: tuple[str, ...] = ()  # leniencies applied; no patient data in them


def parse_message(raw: bytes, *, feed: FeedConfig | None = None) -> ParsedHL7:
    feed = feed or DEFAULT_FEED
    decoded = decode_message(raw)
    warnings = list(decoded.warnings)
    lines = split_lines(decoded.text)
    try:
        delims = Delimiters.from_msh(lines[0])
    except DelimiterError as exc:
        raise MessageRejected(str(exc), ack_code="AR", hl7_error_code="102", location="MSH-2") from None
    if len(lines[0].split(delims.field, 2)[1]) == 3:
        warnings.append("MSH-2 has three encoding characters; the missing one was taken as the standard one")
    texts = _segment_texts(lines, delims, warnings)
    segments = [Segment(text, delims, decoded.codec) for text in texts]
    msh = segments[0]
    header = header_from_msh(msh, decoded.codec, decoded.declared_charset)
    version, event = _check_header(msh, header, segments, feed, warnings)

    structure = structure_for(event, version)
    present = {segment.id for segment in segments}
    missing = [seg_id for seg_id in structure.required if seg_id not in present and seg_id != "PID"]
    if missing:
        warnings.append(f"required by {structure.name} v{version} but missing: {', '.join(missing)}")
    # NTE is mapped wherever it appears, even where the standard structure has no place for it.
    outside = sorted(present - structure.allowed - {"NTE"})
    if outside:
        warnings.append(f"not part of {structure.name} v{version}: {', '.join(outside)}")

    inbound = build_event(segments, header, kind=EVENT_KINDS[event], event=event, version=version,
                          feed=feed, warnings=warnings)
    return ParsedHL7(event=inbound, header=header, text="\r".join(texts),
                     structure=structure.name, warnings=tuple(warnings))


def _segment_texts(lines: list[str], delims: Delimiters, warnings: list[str]) -> list[str]:
    texts: list[str] = []
    joined = 0
    for line in lines:
        seg_id = line.split(delims.field, 1)[0]
        if not is_segment_id(seg_id) and is_segment_id(seg_id.lstrip()):
            line, seg_id = line.lstrip(), seg_id.lstrip()  # indentation some senders add after CRLF
        if texts and not is_segment_id(seg_id):
            # A line break inside a field (common in free text from LF feeds): keep the words
            # in the field they belong to rather than inventing a segment or dropping them.
            texts[-1] += "\n" + line
            joined += 1
            continue
        if texts and seg_id == "MSH":
            raise MessageRejected("more than one MSH segment: send one message per frame",
                                  ack_code="AR", hl7_error_code="100", location="MSH")
        if seg_id in _BATCH_SEGMENTS:
            raise MessageRejected(f"batch segment {seg_id} inside a message: batches are not supported",
                                  ack_code="AR", hl7_error_code="100", location=seg_id)
        texts.append(line)
    if joined:
        warnings.append(f"{joined} line(s) without a segment id were joined to the segment before them")
    return texts


def _check_header(msh: Segment, header: HeaderInfo, segments: list[Segment], feed: FeedConfig,
                  warnings: list[str]) -> tuple[str, str]:
    """Version and trigger event we support, or MessageRejected(AR) saying which MSH field is wrong."""
    required = ((9, "message type", header.message_code), (10, "message control id", header.control_id),
                (12, "version id", header.version or feed.default_version))
    for n, label, value in required:
        if not value:
            truncated = f"MSH is truncated after MSH-{len(msh.fields) - 1}: " if len(msh.fields) <= n else ""
            raise MessageRejected(f"{truncated}MSH-{n} ({label}) is missing", ack_code="AR",
                                  hl7_error_code="101", location=f"MSH-{n}")

    version = header.version
    if version is None:
        version = str(feed.default_version)
        warnings.append(f"MSH-12 is empty; the feed's default version {version} was assumed")
    if version not in SUPPORTED_VERSIONS:
        raise MessageRejected(f"HL7 version {version[:12]!r} is not supported (supported: "
                              f"{', '.join(SUPPORTED_VERSIONS)})", ack_code="AR", hl7_error_code="203",
                              location="MSH-12")

    supported = f"ADT {', '.join(SUPPORTED_EVENTS)}"
    if header.message_code != "ADT":
        raise MessageRejected(f"message type {(header.message_type or '')[:20]!r} is not supported "
                              f"(supported: {supported})", ack_code="AR", hl7_error_code="200",
                              location="MSH-9")
    event = header.trigger_event
    if event is None:
        evn = next((s for s in segments if s.id == "EVN"), None)
        event = (evn.get(1) or None) if evn is not None else None
        if event is None:
            raise MessageRejected("MSH-9 has no trigger event and there is no EVN-1", ack_code="AR",
                                  hl7_error_code="101", location="MSH-9")
        warnings.append("MSH-9 has no trigger event; EVN-1 was used")
    if event not in EVENT_KINDS:
        raise MessageRejected(f"event {('ADT^' + event)[:20]!r} is not supported (supported: {supported})",
                              ack_code="AR", hl7_error_code="201", location="MSH-9")
    if header.sender is None:
        raise MessageRejected("MSH-4 (sending facility) and MSH-3 (sending application) are both empty",
                              ack_code="AR", hl7_error_code="101", location="MSH-4")
    return version, event
