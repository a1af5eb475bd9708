"""Segments of one accepted ADT message -> the canonical InboundEvent, with nothing dropped silently."""

from __future__ import annotations

from ed_alerts.domain import EventKind, FreeText, InboundEvent, Observation
from ed_alerts.errors import MessageRejected
from integrations.hl7v2.config import FeedConfig
from integrations.hl7v2.er7 import Segment
from integrations.hl7v2.fields import ts_field
from integrations.hl7v2.header import HeaderInfo
from integrations.hl7v2.identifiers import identifiers_from_field
from integrations.hl7v2.observations import map_obx
from integrations.hl7v2.patient import map_patient
from integrations.hl7v2.visit import map_attendance, map_diagnosis, map_note

_SINGLE = ("EVN", "PID", "PV1", "PV2", "MRG")  # segments we read once per message
_REPEATING = ("DG1", "OBX", "NTE")


def build_event(segments: list[Segment], header: HeaderInfo, *, kind: EventKind, event: str, version: str,
                feed: FeedConfig, warnings: list[str]) -> InboundEvent:
    assert header.sender and header.control_id  # checked by the caller before mapping
    single, unmapped = _index(segments, kind, warnings)

    pid = single.get("PID")
    if pid is None:
        raise MessageRejected("required segment PID is missing", ack_code="AE", hl7_error_code="100",
                              location="PID")
    evn = single.get("EVN")
    if evn is not None:
        evn_event = evn.get(1).strip("-")
        if evn_event and evn_event != event:
            warnings.append(f"EVN-1 event differs from MSH-9 ({event}); MSH-9 was used")
    event_time = (ts_field(evn, 2, "recorded date/time") if evn is not None else None) \
        or ts_field(segments[0], 7, "message date/time")
    if event_time is None:
        warnings.append("neither EVN-2 nor MSH-7 holds a time; event_time is empty")

    patient = map_patient(pid, sender=header.sender, feed=feed, warnings=warnings)
    attendance = map_attendance(single.get("PV1"), single.get("PV2"), feed)
    notes: list[FreeText] = []
    observations: list[Observation] = []
    for segment in segments:
        if segment.id == "DG1":
            coding = map_diagnosis(segment, feed, notes)
            if coding is not None:
                attendance.diagnoses.append(coding)
        elif segment.id == "OBX":
            mapped = map_obx(segment, feed, notes, warnings)
            if mapped is None:
                _add(unmapped, "OBX")
            else:
                observations.extend(mapped)
        elif segment.id == "NTE":
            note = map_note(segment)
            if note is not None:
                notes.append(note)
    attendance.observations = observations
    attendance.notes = notes

    merged = []
    if kind is EventKind.MERGE:
        mrg = single.get("MRG")
        if mrg is None:
            raise MessageRejected("required segment MRG is missing from a merge (A40)", ack_code="AE",
                                  hl7_error_code="100", location="MRG")
        merged = identifiers_from_field(mrg, 1, sender=header.sender, feed=feed)
        if not merged:
            raise MessageRejected("MRG-1 (prior patient identifier list) holds no identifier", ack_code="AE",
                                  hl7_error_code="101", location="MRG-1")

    return InboundEvent(
        kind=kind,
        message_type=f"ADT^{event}",
        sender=header.sender,
        control_id=header.control_id,
        event_time=event_time,
        version=version,
        patient=patient,
        attendance=attendance,
        merged_identifiers=merged,
        unmapped_segments=unmapped,
        source_type_hint=feed.source_type,
    )


def _index(segments: list[Segment], kind: EventKind,
           warnings: list[str]) -> tuple[dict[str, Segment], list[str]]:
    """First occurrence of each single segment, and the ids of every segment we will not map."""
    single: dict[str, Segment] = {}
    unmapped: list[str] = []
    for segment in segments[1:]:
        seg_id = segment.id
        if seg_id in _REPEATING:
            continue
        if seg_id in _SINGLE and not (seg_id == "MRG" and kind is not EventKind.MERGE):
            if seg_id not in single:
                single[seg_id] = segment
                continue
            if seg_id in ("PID", "MRG"):
                # A second patient cannot be folded into one event without mixing two people up.
                if kind is EventKind.MERGE:
                    raise MessageRejected("A40 with more than one patient (PID/MRG pair) is not supported; "
                                          "send one merge per message", ack_code="AR",
                                          hl7_error_code="207", location=seg_id)
                raise MessageRejected(f"segment {seg_id} appears more than once", ack_code="AE",
                                      hl7_error_code="100", location=seg_id)
            warnings.append(f"segment {seg_id} appears more than once; only the first was mapped")
        _add(unmapped, seg_id)
    return single, unmapped


def _add(ids: list[str], seg_id: str) -> None:
    if seg_id not in ids:
        ids.append(seg_id)
